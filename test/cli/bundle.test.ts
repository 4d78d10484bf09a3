// The built CLI: package.json's bin (dist/cli/main.cjs, from src/cli/main.cts) runs esbuild's bundle
// (dist/cli/bundle.js) with V8's code cache (dist/cli/bundle.cache); scripts/build-cli.mjs makes both.
// The bundle must behave exactly like the modules tsc emits (dist/cli/entry.js), with its cache
// or without it, and `vman watch` must run from it too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, tempConfig, vman, writePartition, type Result } from '../helpers/cli.js';
import { Watch } from '../watch/support.js';

const DIST_CLI = join(ROOT, 'dist', 'cli');
/** The CLI as tsc emits it: the same entry module, run from dist/'s ES modules. */
const ENTRY = join(DIST_CLI, 'entry.js');

function run(cli: string, dir: string, args: readonly string[]): Result {
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '' },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// Whether a fresh node takes a code cache for the bundle (as main.cts compiles it).
function cacheAccepted(bundle: string, cache: string): boolean {
  const probe =
    "const { readFileSync: r } = require('fs'); const [, b, c] = process.argv;" +
    " const s = new (require('vm').Script)(r(b, 'latin1'), { filename: b, cachedData: r(c) });" +
    ' process.exitCode = s.cachedDataRejected ? 3 : 0;';
  return spawnSync(process.execPath, ['-e', probe, bundle, cache], { stdio: 'ignore' }).status === 0;
}

// A copy of the built CLI (launcher and bundle; the cache only when given) in a directory of its own,
// laid out as in the repository, so its cache can be damaged without touching dist/.
const copies: string[] = [];
function cliCopy(cache?: Uint8Array): string {
  const root = mkdtempSync(join(tmpdir(), 'vman-cli-copy-'));
  copies.push(root);
  const dir = join(root, 'dist', 'cli');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  copyFileSync(CLI, join(dir, 'main.cjs'));
  copyFileSync(join(DIST_CLI, 'bundle.js'), join(dir, 'bundle.js'));
  if (cache) writeFileSync(join(dir, 'bundle.cache'), cache);
  return join(dir, 'main.cjs');
}

test.after(() => {
  for (const root of copies) rmSync(root, { recursive: true, force: true });
});

// Step timings differ from run to run; everything else must be byte for byte the same.
const normal = (s: string) => s.replace(/\b\d+\.\d\ds\b/g, 'N.NNs');

test('the build leaves the bin of package.json, the bundle and a code cache that node accepts', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { vman: string } };
  assert.is(join(ROOT, pkg.bin.vman), CLI);
  for (const f of [CLI, join(DIST_CLI, 'bundle.js'), join(DIST_CLI, 'bundle.cache')]) assert.ok(existsSync(f), f);
  assert.ok(cacheAccepted(join(DIST_CLI, 'bundle.js'), join(DIST_CLI, 'bundle.cache')));
  assert.is(
    vman(ROOT, ['--version']).stdout,
    `vman ${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`,
  );
});

test('without its code cache, or with a truncated or garbage one, the CLI prints the same', () => {
  const dir = tempConfig();
  writePartition(dir, 'p');
  const cache = readFileSync(join(DIST_CLI, 'bundle.cache'));
  const cases: [string, Uint8Array | undefined][] = [
    ['an intact cache', cache],
    ['no cache', undefined],
    ['a truncated cache', cache.subarray(0, cache.length >> 1)],
    ['a garbage cache of the same length', Buffer.alloc(cache.length, 0x5a)],
    ['a longer garbage cache', Buffer.alloc(cache.length + 4096, 0x5a)],
    ['an empty cache', new Uint8Array(0)],
  ];
  const want = run(CLI, dir, ['plan']);
  assert.is(want.code, 0, want.stderr);
  for (const [what, bytes] of cases) {
    const cli = cliCopy(bytes);
    for (const args of [['plan'], ['validate', '--json'], ['--version']]) {
      const got = run(cli, dir, args);
      const ref = run(CLI, dir, args);
      assert.is(got.code, ref.code, `${what}: vman ${args.join(' ')}`);
      assert.is(got.stdout, ref.stdout, `${what}: vman ${args.join(' ')}`);
      assert.is(got.stderr, ref.stderr, `${what}: vman ${args.join(' ')}`);
    }
  }
});

test('without its bundle, the CLI says to build and exits 1', () => {
  const dir = tempConfig();
  const cli = cliCopy();
  const bare = join(dir, 'main.cjs');
  copyFileSync(cli, bare);
  const r = run(bare, dir, ['plan']);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /bundle\.js is missing; run `npm run build`/);
});

test('every kind of command prints the same through the bundle as through the modules tsc emits', () => {
  const dir = tempConfig();
  writePartition(dir, 'p');
  const bad = tempConfig();
  writeFileSync(
    join(bad, 'partitions.d', 'bad.yaml'),
    'apiVersion: vman.dev/v1alpha1\nkind: Partition\nmetadata: {name: Bad_Name}\nspec:\n  cpus: 0\n  memory: 512\n',
  );
  const cases: string[][] = [
    ['plan'],
    ['plan', '--json'],
    ['validate'],
    ['validate', '--json'],
    ['board'],
    ['board', '--json'],
    ['--version'],
    ['help'],
    ['watch', '--help'],
    ['nope'],
    ['plan', '--board', 'no-such-board'],
    ['fdt', 'p', '--planned', '--dts'],
    ['apply', '--auto-approve'],
    ['status'],
    ['status', '--json'],
    ['plan', '--detailed-exitcode'],
    ['destroy', '--auto-approve', '--json'],
    ['-C', bad, 'validate'],
    ['plan', '-C', bad],
    ['plan', '-C', bad, '--json'],
  ];
  for (const args of cases) {
    const viaBundle = run(CLI, dir, args);
    // Undo what the bundled run changed, so the other run starts from the same state.
    if (args[0] === 'apply') run(ENTRY, dir, ['destroy', '--auto-approve']);
    if (args[0] === 'destroy') run(ENTRY, dir, ['apply', '--auto-approve']);
    const viaModules = run(ENTRY, dir, args);
    const what = `vman ${args.join(' ')}`;
    assert.is(viaBundle.code, viaModules.code, what);
    assert.is(normal(viaBundle.stdout), normal(viaModules.stdout), what);
    assert.is(normal(viaBundle.stderr), normal(viaModules.stderr), what);
  }
});

test('vman watch runs from the bundle: a dropped manifest is applied', async () => {
  const dir = tempConfig();
  const w = new Watch(dir, ['--settle', '100ms']);
  try {
    const from = await w.started();
    writePartition(dir, 'p');
    const done = await w.finished(from);
    assert.is(done.result, 'converged', w.dump());
    assert.equal((done.summary as Record<string, number>).create, 1, w.dump());
    const stopped = await w.stop();
    assert.is(stopped.code, 0, w.dump());
  } finally {
    w.kill();
  }
});

test.run();
