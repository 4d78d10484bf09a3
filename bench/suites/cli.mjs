// How vman is run, as the README says to (and test/cli/readme.test.ts checks that it still does):
// `vman` is `node dist/cli/main.cjs` (`alias vman="node $PWD/dist/cli/main.cjs"`), the demo is
// `npm run demo`. Not `npx vman`, which installs the package into npx's cache and builds it again.
// cli.plan_vs_node: a whole `vman plan` process on the demo (the repository's partitions.d/,
// a state directory that does not exist yet) against `node -e 0`, the floor of any Node CLI.
// cli.plan_real_vs_node: the same on a partition that boots Debian's arm64 kernel (27 MB) and
// initramfs, with the state directory in place and its digest cache filled by a first plan, as
// on a device after an apply.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, ROOT } from '../lib/env.mjs';
import { interleave, median, runTimed } from '../lib/measure.mjs';
import { result, skipped } from '../lib/report.mjs';

const TARGET = '<= 1.5';
const BUNDLE = join(ROOT, 'dist', 'cli', 'bundle.js');
const CODE_CACHE = join(ROOT, 'dist', 'cli', 'bundle.cache');
const PAYLOADS = join(ROOT, '.cache', 'payloads', 'arm64');

// How `vman` starts: from the bundle with V8's code cache (what users of a fresh build run), or
// compiling the bundle because the cache is missing or rejected by this node.
function startMode(log) {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing; run \`npm run build\``);
  if (!existsSync(CODE_CACHE)) {
    log(`warning: ${CODE_CACHE} is missing: vman compiles its bundle at each start`);
    return 'bundle without code cache';
  }
  const probe =
    "const { readFileSync: r } = require('fs'); const [, b, c] = process.argv;" +
    " const s = new (require('vm').Script)(r(b, 'latin1'), { filename: b, cachedData: r(c) });" +
    ' process.exitCode = s.cachedDataRejected ? 3 : 0;';
  if (spawnSync(process.execPath, ['-e', probe, BUNDLE, CODE_CACHE], { stdio: 'ignore' }).status === 0)
    return 'bundle with code cache';
  log(`warning: node rejects ${CODE_CACHE}: vman compiles its bundle at each start`);
  return 'bundle, code cache rejected';
}

// `vman plan` (config dir, state dir) against `node -e 0`, interleaved; medians in ms.
async function planAgainstNode(cfg, state, quick) {
  const node = process.execPath;
  const rounds = quick ? 21 : 31;
  const s = await interleave(
    {
      peer: async () => (await runTimed(node, ['-e', '0'])).ms,
      vman: async () =>
        (
          await runTimed(node, [CLI, 'plan', '-C', cfg, '--state-dir', state], {
            env: { ...process.env, NO_COLOR: '1' },
          })
        ).ms,
    },
    rounds,
    { warmup: 2 },
  );
  return { peer: median(s.peer), mine: median(s.vman), rounds };
}

async function planVsNode({ quick, dir, log }) {
  const start = startMode(log);
  const { peer, mine, rounds } = await planAgainstNode(ROOT, join(dir, 'cli-state-never-created'), quick);
  return [
    result(
      'cli.plan_vs_node',
      mine / peer,
      'ratio',
      `node -e 0 (${peer.toFixed(1)} ms; vman plan ${mine.toFixed(1)} ms, ${start})`,
      TARGET,
      { detail: { vman_ms: mine, node_ms: peer, rounds, start } },
    ),
  ];
}

// A config with one Linux partition booting Debian's arm64 kernel and initramfs, fetched by
// scripts/fetch-payloads.sh (the names of examples/aarch64-mixed, without its RTOS).
function realConfig(cfg) {
  mkdirSync(join(cfg, 'partitions.d'), { recursive: true });
  writeFileSync(
    join(cfg, 'partitions.d', 'linux.yaml'),
    [
      'apiVersion: vman.dev/v1alpha1',
      'kind: Partition',
      'metadata: {name: linux}',
      'spec:',
      '  cpus: 2',
      '  memory: 256Mi',
      '  boot:',
      `    kernel: ${join(PAYLOADS, 'Image')}`,
      `    initrd: ${join(PAYLOADS, 'initramfs.cpio.gz')}`,
      '    bootargs: "console=ttyAMA0 earlycon panic=-1"',
      '',
    ].join('\n'),
  );
}

async function planRealVsNode({ quick, dir, log }) {
  const missing = ['Image', 'initramfs.cpio.gz'].filter((f) => !existsSync(join(PAYLOADS, f)));
  if (missing.length)
    return [
      skipped(
        'cli.plan_real_vs_node',
        'ratio',
        TARGET,
        `${missing.join(' and ')} missing from ${PAYLOADS} (scripts/fetch-payloads.sh fetches them)`,
      ),
    ];
  const start = startMode(log);
  const cfg = join(dir, 'cli-real');
  const state = join(cfg, 'state');
  realConfig(cfg);
  // The state directory exists, as after an apply; plan never creates it, but keeps its digest cache.
  mkdirSync(state, { mode: 0o700 });
  const first = await runTimed(process.execPath, [CLI, 'plan', '-C', cfg, '--state-dir', state], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  const digests = join(state, 'cache', 'digests.json');
  const cached = existsSync(digests) ? Object.keys(JSON.parse(readFileSync(digests, 'utf8'))).length : 0;
  if (cached < 2) throw new Error(`the first plan left ${cached} digests in ${digests}, not 2: the cache is cold`);
  const mtime = statSync(digests).mtimeMs;
  const { peer, mine, rounds } = await planAgainstNode(cfg, state, quick);
  if (statSync(digests).mtimeMs !== mtime) log(`warning: ${digests} was rewritten by a plan on a warm cache`);
  return [
    result(
      'cli.plan_real_vs_node',
      mine / peer,
      'ratio',
      `node -e 0 (${peer.toFixed(1)} ms; vman plan ${mine.toFixed(1)} ms on a warm digest cache, ` +
        `first plan ${first.ms.toFixed(0)} ms; ${start})`,
      TARGET,
      { detail: { vman_ms: mine, node_ms: peer, first_ms: first.ms, rounds, start } },
    ),
  ];
}

// cli.setup_demo_ms: the README's set-up command after `npm ci`, `npm run demo` (the demo applied to a
// fresh state directory), as a whole process, against the same apply run as `vman apply --auto-approve`:
// what npm's own start adds.
async function setupDemo({ quick, dir }) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const probe = await runTimed(npm, ['--version'], { check: false }).catch(() => undefined);
  if (!probe || probe.code !== 0)
    return [skipped('cli.setup_demo_ms', 'ms', 'report', 'npm is not on PATH (it comes with Node.js)')];
  const env = { ...process.env, NO_COLOR: '1' };
  let n = 0;
  const fresh = () => join(dir, `demo-state-${n++}`);
  const rounds = quick ? 5 : 9;
  const s = await interleave(
    {
      vman: async () =>
        (await runTimed(process.execPath, [CLI, 'apply', '--auto-approve', '--state-dir', fresh()], { env })).ms,
      npm: async () =>
        (await runTimed(npm, ['run', '--silent', 'demo', '--', '--state-dir', fresh()], { cwd: ROOT, env })).ms,
    },
    rounds,
    { warmup: 1 },
  );
  const mine = median(s.npm);
  const direct = median(s.vman);
  return [
    result(
      'cli.setup_demo_ms',
      mine,
      'ms',
      `vman apply --auto-approve, ${direct.toFixed(0)} ms (npm run demo adds ${(mine - direct).toFixed(0)} ms)`,
      'report',
      { detail: { npm_run_demo_ms: mine, vman_apply_ms: direct, rounds } },
    ),
  ];
}

export const MEASURES = [
  { names: ['cli.plan_vs_node'], unit: 'ratio', target: TARGET, run: planVsNode },
  { names: ['cli.plan_real_vs_node'], unit: 'ratio', target: TARGET, run: planRealVsNode },
  { names: ['cli.setup_demo_ms'], unit: 'ms', target: 'report', run: setupDemo },
];
