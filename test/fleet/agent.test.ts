// The fleet agent against a real API server (scripts/fleet-env: Debian's kube-apiserver and etcd on
// loopback, the CRD and per-device RBAC of deploy/), three devices on the sim backend, each agent with
// a state directory of its own (SPEC "Fleets"; issue "Fleets on Kubernetes"):
//   - each agent applies only its own partitions; `kubectl wait --for=condition=Ready partition --all`
//     succeeds; observedGeneration follows metadata.generation after a spec change;
//   - a Partition the schema accepts but the design rules refuse (two partitions on one core) ends
//     Degraded with vman's diagnostic, and nothing changes on the device;
//   - the restart policy: a crashed partition is CrashLoop, then restarted (status.restarts);
//   - the API server stopped for 30 s with an agent restarted meanwhile: the partitions stay as last
//     desired; once the server is back, a spec change is applied within 30 s;
//   - a deleted Partition is destroyed on its device.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skip } from '../helpers/skip.js';
import { cleanup, tempConfig, vman, vmanJson } from '../helpers/cli.js';
import { fleetAvailable, startFleet, type Fleet } from './env.js';
import {
  AgentProcess,
  condition,
  getPartition,
  kubectlOk,
  liveOn,
  partition,
  sleep,
  until,
  type PartitionView,
} from './agent-support.js';

const DEVICES = ['dev1', 'dev2', 'dev3'];
/** The restart policy's backoff for the test: 1 s first, 4 s at most. */
const BACKOFF = { VMAN_RESTART_BACKOFF: '1s,4s,1m' };

let fleet: Fleet | undefined;
const agents = new Map<string, AgentProcess>();
const states = new Map<string, string>();
const tmp = mkdtempSync(join(tmpdir(), 'vman-fleet-agents-'));

function stateOf(node: string): string {
  return states.get(node) as string;
}

function startAgent(node: string, extra: string[] = ['--resync', '5s']): AgentProcess {
  const a = new AgentProcess(fleet as Fleet, node, stateOf(node), extra, BACKOFF);
  agents.set(node, a);
  return a;
}

const ready = (p: PartitionView, generation = p.metadata.generation) =>
  p.status?.observedGeneration === generation && condition(p, 'Ready')?.status === 'True';

test.before(async () => {
  if (fleetAvailable()) return;
  fleet = await startFleet(DEVICES);
  for (const d of DEVICES) {
    const dir = join(tmp, d);
    states.set(d, mkdtempSync(`${dir}-`));
  }
});

test.after(async () => {
  for (const a of agents.values()) await a.stop();
  await fleet?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('three agents: each applies only its own; kubectl wait Ready; observedGeneration follows', async () => {
  const why = fleetAvailable();
  if (why || !fleet) return skip(`fleet agent: ${why ?? 'no fleet'}`);
  const f = fleet;
  const docs = [
    partition(f, { name: 'a1', node: 'dev1', cpus: [1] }),
    partition(f, { name: 'a2', node: 'dev1', cpus: [2], extra: { restartPolicy: 'OnFailure' } }),
    partition(f, { name: 'b1', node: 'dev2', cpus: 2 }),
    partition(f, { name: 'c1', node: 'dev3', cpus: [4] }),
  ];
  await kubectlOk(f, ['apply', '-f', '-'], docs.join('\n'));
  for (const d of DEVICES) startAgent(d);
  const wait = await f.kubectl(['wait', '--for=condition=Ready', 'partition', '--all', '-A', '--timeout=60s']);
  assert.is(wait.code, 0, wait.stderr + wait.stdout);
  assert.equal(Object.keys(liveOn(stateOf('dev1'))).sort(), ['a1', 'a2']);
  assert.equal(Object.keys(liveOn(stateOf('dev2'))), ['b1']);
  assert.equal(Object.keys(liveOn(stateOf('dev3'))), ['c1']);
  const a1 = await getPartition(f, 'dev1', 'a1');
  assert.equal([a1.status?.state, a1.status?.cpus, a1.status?.observedGeneration], ['running', [1], 1]);
  // kubectl's own view of one device: its printer columns.
  const table = await kubectlOk(f, ['-n', f.namespace('dev1'), 'get', 'partitions']);
  assert.match(table, /^NAME\s+NODE\s+STATE\s+READY\s+REASON\s+RESTARTS\s+AGE/m);
  assert.match(table, /^a1\s+dev1\s+running\s+True\s+Running\s+0\s/m);

  // A spec change: a new generation, applied and observed.
  await kubectlOk(f, [
    '-n',
    f.namespace('dev1'),
    'patch',
    'partition',
    'a1',
    '--type=merge',
    '-p',
    '{"spec":{"cpus":[3]}}',
  ]);
  const changed = await until(
    'a1 at generation 2',
    30_000,
    () => getPartition(f, 'dev1', 'a1'),
    (p) => ready(p),
  );
  assert.is(changed.metadata.generation, 2);
  assert.equal(changed.status?.cpus, [3]);
  assert.equal(liveOn(stateOf('dev1')).a1, ['running', [3]]);
  // The device's heartbeat.
  const lease = JSON.parse(await kubectlOk(f, ['-n', f.namespace('dev1'), 'get', 'lease', 'dev1', '-o', 'json']));
  assert.is(lease.spec.holderIdentity, 'dev1');
});

test('two partitions on one core: Degraded with the diagnostic, nothing changes on the device', async () => {
  if (!fleet) return skip(`fleet agent: ${fleetAvailable() ?? 'no fleet'}`);
  const f = fleet;
  const before = liveOn(stateOf('dev1'));
  await kubectlOk(f, ['apply', '-f', '-'], partition(f, { name: 'a3', node: 'dev1', cpus: [2] }));
  const bad = await until(
    'a3 Degraded',
    30_000,
    () => getPartition(f, 'dev1', 'a3'),
    (p) => condition(p, 'Degraded')?.status === 'True',
  );
  const degraded = condition(bad, 'Degraded');
  assert.is(degraded?.reason, 'InvalidSpec');
  assert.match(degraded?.message ?? '', /VMAN-E\d+/);
  assert.match(degraded?.message ?? '', /core 2|cpus/);
  assert.is(condition(bad, 'Ready')?.status, 'False');
  assert.is(bad.status?.observedGeneration, 1);
  assert.equal(liveOn(stateOf('dev1')), before, 'nothing changed on dev1');
  const events = await kubectlOk(f, [
    '-n',
    f.namespace('dev1'),
    'get',
    'events',
    '--field-selector',
    'involvedObject.name=a3',
  ]);
  assert.match(events, /InvalidSpec/);
  // Fixed by its owner: it runs.
  await kubectlOk(f, [
    '-n',
    f.namespace('dev1'),
    'patch',
    'partition',
    'a3',
    '--type=merge',
    '-p',
    '{"spec":{"cpus":[5]}}',
  ]);
  await until(
    'a3 Ready',
    30_000,
    () => getPartition(f, 'dev1', 'a3'),
    (p) => ready(p),
  );
  assert.equal(liveOn(stateOf('dev1')).a3, ['running', [5]]);
});

test('restart policy: a crashed partition is CrashLoop, then restarted and counted', async () => {
  if (!fleet) return skip(`fleet agent: ${fleetAvailable() ?? 'no fleet'}`);
  const f = fleet;
  // The guest's OS crashing, as the simulated monitor sees it.
  const file = join(stateOf('dev1'), 'sim', 'monitor.json');
  const s = JSON.parse(readFileSync(file, 'utf8')) as { partitions: Record<string, { power: string }> };
  (s.partitions.a2 as { power: string }).power = 'crashed';
  writeFileSync(`${file}.edit`, JSON.stringify(s, null, 1));
  renameSync(`${file}.edit`, file);
  const looping = await until(
    'a2 CrashLoop',
    15_000,
    () => getPartition(f, 'dev1', 'a2'),
    (p) => condition(p, 'Ready')?.reason === 'CrashLoop',
  );
  assert.is(condition(looping, 'Degraded')?.status, 'True');
  const back = await until(
    'a2 restarted',
    20_000,
    () => getPartition(f, 'dev1', 'a2'),
    (p) => p.status?.restarts === 1 && condition(p, 'Ready')?.status === 'True',
  );
  assert.is(back.status?.state, 'running');
});

test('API server away 30 s, agent restarted meanwhile: partitions kept; a change is applied in 30 s', async () => {
  if (!fleet) return skip(`fleet agent: ${fleetAvailable() ?? 'no fleet'}`);
  const f = fleet;
  const before = liveOn(stateOf('dev2'));
  assert.equal(Object.keys(before), ['b1']);
  const t0 = Date.now();
  await f.stopApiServer();
  // dev2's agent restarts while the server is away: it goes on from the desired state it saved.
  await agents.get('dev2')?.stop();
  const again = startAgent('dev2', []); // default resync, 30 s
  const offline = await again.waitFor((e) => e.event === 'offline', 'offline', 20_000);
  assert.is(offline.partitions, 1);
  await again.waitFor((e) => e.event === 'reconcile-finished', 'a reconcile from the cache', 20_000);
  assert.equal(liveOn(stateOf('dev2')), before, 'b1 kept as last desired');
  await sleep(Math.max(0, 30_000 - (Date.now() - t0)));
  assert.equal(liveOn(stateOf('dev2')), before);
  await f.startApiServer();
  const back = Date.now();
  await kubectlOk(f, [
    '-n',
    f.namespace('dev2'),
    'patch',
    'partition',
    'b1',
    '--type=merge',
    '-p',
    '{"spec":{"cpus":3}}',
  ]);
  const p = await until(
    'b1 at generation 2',
    30_000,
    () => getPartition(f, 'dev2', 'b1'),
    (x) => ready(x, 2),
  );
  assert.ok(Date.now() - back <= 30_000, `applied ${Date.now() - back} ms after the server returned`);
  assert.is(p.status?.cpus?.length, 3);
  assert.is(liveOn(stateOf('dev2')).b1?.[1].length, 3);
});

test('one source of truth: a hand-run apply on an agent’s state directory is refused, nothing changes', async () => {
  if (!fleet) return skip(`fleet agent: ${fleetAvailable() ?? 'no fleet'}`);
  const before = liveOn(stateOf('dev1'));
  const cfg = tempConfig();
  try {
    const r = vman(cfg, ['apply', '--auto-approve', '--state-dir', stateOf('dev1')]);
    assert.is(r.code, 1, r.stdout);
    assert.match(r.stderr, /belongs to the fleet agent \(vman agent\): its partitions come from Kubernetes/);
    assert.equal(liveOn(stateOf('dev1')), before);
    // Read-only commands compare with the fleet's desired state: in sync, no changes.
    const status = vmanJson<{ partitions: { name: string; drift: string[] }[] }>(cfg, [
      'status',
      '--state-dir',
      stateOf('dev1'),
    ]);
    assert.equal(
      status.json.partitions.map((p) => [p.name, p.drift]),
      Object.keys(before)
        .sort()
        .map((n) => [n, []]),
    );
    const plan = vman(cfg, ['plan', '--detailed-exitcode', '--state-dir', stateOf('dev1')]);
    assert.is(plan.code, 0, plan.stdout + plan.stderr);
  } finally {
    cleanup(cfg);
  }
});

test('a deleted Partition is destroyed on its device', async () => {
  if (!fleet) return skip(`fleet agent: ${fleetAvailable() ?? 'no fleet'}`);
  const f = fleet;
  await kubectlOk(f, ['-n', f.namespace('dev3'), 'delete', 'partition', 'c1']);
  await until(
    'c1 gone from dev3',
    20_000,
    async () => liveOn(stateOf('dev3')),
    (l) => Object.keys(l).length === 0,
  );
});

test.run();
