// fleet.change_20_s: a fleet of 20 devices (20 `vman agent`s on the sim backend, one partition each,
// against a real kube-apiserver and etcd started by scripts/fleet-env), one fleet-wide change (a
// `kubectl apply` of all 20 Partitions with new bootargs: a restart each), the time until every
// Partition reports Ready at its new generation, as the agents report their status patches.
// fleet.change_vs_local_apply: that time ÷ the same change made without Kubernetes: 20 `vman apply
// --auto-approve` of the restart in 20 local config directories at once (median of 3), the same work
// on the same cores: what list/watch, the agents and the status patches add.
// fleet.first_apply_20_s: the same from the first `kubectl apply` of the 20 Partitions (creates).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI, ROOT, which } from '../lib/env.mjs';
import { median, nowMs, runTimed } from '../lib/measure.mjs';
import { result, skipped } from '../lib/report.mjs';

const N = 20;
const FLEET_ENV = join(ROOT, 'scripts', 'fleet-env');
const APISERVER = join(process.env.VMAN_FLEET_CACHE ?? join(ROOT, '.cache', 'fleet'), 'bin', 'kube-apiserver');
const IMAGE = join(ROOT, '.cache', 'demo', 'rtos-arm64.bin');
const TIMEOUT_MS = 120_000;
const NAMES = ['fleet.change_20_s', 'fleet.change_vs_local_apply', 'fleet.first_apply_20_s'];
const UNITS = { 'fleet.change_20_s': 's', 'fleet.change_vs_local_apply': 'ratio', 'fleet.first_apply_20_s': 's' };

const devices = Array.from({ length: N }, (_, i) => `dev${String(i + 1).padStart(2, '0')}`);

function partition(node, bootargs) {
  return {
    apiVersion: 'vman.dev/v1alpha1',
    kind: 'Partition',
    metadata: { name: `p-${node}`, namespace: `vman-${node}`, labels: { 'vman.dev/node': node } },
    spec: { nodeName: node, cpus: 1, memory: '16Mi', boot: { image: IMAGE, bootargs } },
  };
}

function kubectlApply(dir, bootargs) {
  const list = { apiVersion: 'v1', kind: 'List', items: devices.map((d) => partition(d, bootargs)) };
  execFileSync('kubectl', ['--kubeconfig', join(dir, 'admin.kubeconfig'), 'apply', '-f', '-'], {
    input: JSON.stringify(list),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

/** One agent and its JSON events. */
function startAgent(dir, node, state) {
  mkdirSync(state, { recursive: true });
  const args = ['agent', '--json', '--kubeconfig', join(dir, `${node}.kubeconfig`), '--node', node];
  const child = spawn(process.execPath, [CLI, ...args, '--state-dir', state], {
    cwd: state,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const agent = { child, events: [], waiters: [], stderr: '' };
  child.stderr.on('data', (d) => {
    agent.stderr += d;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      agent.events.push({ ...JSON.parse(line), at: nowMs() });
    } catch {
      return;
    }
    for (const w of agent.waiters.splice(0)) w();
  });
  return agent;
}

async function waitFor(agent, node, what, pred) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const hit = agent.events.find(pred);
    if (hit) return hit;
    if (Date.now() > deadline || agent.child.exitCode !== null)
      throw new Error(`${node}: no ${what} within ${TIMEOUT_MS} ms: ${agent.stderr.slice(-500)}`);
    await new Promise((r) => {
      const t = setTimeout(r, 500);
      agent.waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }
}

// The last agent to report its partition Ready at `generation`: when the whole fleet converged.
async function allReady(agents, generation) {
  const ats = await Promise.all(
    devices.map(async (d) => {
      const e = await waitFor(
        agents.get(d),
        d,
        `Ready at generation ${generation}`,
        (x) => x.event === 'status' && x.ready === 'True' && x.observedGeneration === generation,
      );
      return e.at;
    }),
  );
  return Math.max(...ats);
}

// The peer: the same change made without Kubernetes, a `vman apply` of the restart in each of 20 local
// config directories, all at once (the same work on the same cores); wall time until the last ends.
async function localRestarts(dir) {
  const env = { ...process.env, NO_COLOR: '1' };
  const cfgs = devices.map((d) => join(dir, 'local', d));
  const write = (cfg, bootargs) => {
    const { nodeName: _node, ...spec } = partition('dev01', bootargs).spec;
    const doc = { apiVersion: 'vman.dev/v1alpha1', kind: 'Partition', metadata: { name: 'p' }, spec };
    mkdirSync(join(cfg, 'partitions.d'), { recursive: true });
    writeFileSync(join(cfg, 'partitions.d', 'p.yaml'), JSON.stringify(doc));
  };
  const applyAll = async () => {
    const t0 = nowMs();
    const rs = await Promise.all(
      cfgs.map((cfg) => runTimed(process.execPath, [CLI, 'apply', '--auto-approve', '-C', cfg], { env })),
    );
    const bad = rs.find((r) => r.code !== 0);
    if (bad) throw new Error(`vman apply failed: ${bad.stderr}`);
    return nowMs() - t0;
  };
  for (const c of cfgs) write(c, 'v=0');
  await applyAll();
  const times = [];
  for (let i = 1; i <= 3; i++) {
    for (const c of cfgs) write(c, `v=${i}`);
    times.push(await applyAll());
  }
  return median(times);
}

async function fleet({ dir, log }) {
  const why = !existsSync(APISERVER)
    ? `no kube-apiserver at ${APISERVER} (scripts/fleet-env build)`
    : ['etcd', 'kubectl', 'openssl', 'curl'].find((t) => !which(t));
  if (why) return NAMES.map((n) => skipped(n, UNITS[n], 'report', why.includes(' ') ? why : `${why} not found`));
  const fdir = join(dir, 'fleet');
  mkdirSync(fdir, { recursive: true });
  execFileSync('bash', [FLEET_ENV, 'start', fdir, ...devices], { stdio: ['ignore', 'ignore', 'pipe'] });
  const agents = new Map();
  try {
    for (const d of devices) agents.set(d, startAgent(fdir, d, join(fdir, 'state', d)));
    for (const d of devices) await waitFor(agents.get(d), d, 'connected', (e) => e.event === 'connected');
    let t0 = nowMs();
    kubectlApply(fdir, 'v=1');
    const first = (await allReady(agents, 1)) - t0;
    log(`fleet: ${N} partitions created and Ready in ${(first / 1000).toFixed(2)} s`);
    t0 = nowMs();
    kubectlApply(fdir, 'v=2');
    const change = (await allReady(agents, 2)) - t0;
    log(`fleet: the fleet-wide change Ready everywhere in ${(change / 1000).toFixed(2)} s`);
    for (const a of agents.values()) a.child.kill('SIGTERM');
    await Promise.all(
      [...agents.values()].map((a) => new Promise((r) => (a.child.exitCode !== null ? r() : a.child.on('exit', r)))),
    );
    agents.clear();
    const local = await localRestarts(dir);
    const peer = `${N} vman applies of the same restart at once, without Kubernetes: ${Math.round(local)} ms`;
    return [
      result(
        'fleet.change_20_s',
        change / 1000,
        's',
        `${N} agents, one partition each, on ${N} devices' sim`,
        'report',
      ),
      result('fleet.change_vs_local_apply', change / local, 'ratio', peer, 'report'),
      result('fleet.first_apply_20_s', first / 1000, 's', `${N} creates from one kubectl apply to all Ready`, 'report'),
    ];
  } finally {
    for (const a of agents.values()) a.child.kill('SIGKILL');
    execFileSync('bash', [FLEET_ENV, 'stop', fdir], { stdio: 'ignore' });
  }
}

export const MEASURES = [{ names: NAMES, unit: UNITS, target: 'report', run: fleet }];
