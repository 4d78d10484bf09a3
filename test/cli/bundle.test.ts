// The prebuilt CLI bundle (scripts/bundle-cli.mjs, src/cli/main.cts) must behave exactly like
// the modules of dist/: the same stdout, stderr and exit code for every kind of command, and it
// must step aside when dist/ was rebuilt after it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempConfig, vman } from '../helpers/cli.js';

const BUNDLE = join(ROOT, 'dist', 'bundle');

function buildBundle(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle-cli.mjs')], { cwd: ROOT, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.not.match(r.stderr, /not built/, r.stderr);
}

// Step timings differ from run to run; everything else must be byte for byte the same.
const normal = (s: string) => s.replace(/\b\d+\.\d\ds\b/g, 'N.NNs');

test.before(() => {
  buildBundle();
});

test('the bundle is built and fresh, and leaves out only the commands that need ES-module-only packages', async () => {
  for (const f of ['cli.js', 'cli.cache', 'cli.json']) assert.ok(existsSync(join(BUNDLE, f)), f);
  const m = JSON.parse(readFileSync(join(BUNDLE, 'cli.json'), 'utf8')) as {
    excludedCommands: string[];
    files: [string, number, number][];
  };
  assert.equal(m.excludedCommands, ['watch']);
  assert.ok(m.files.some(([f]) => f === 'cli/run.js'));
  const { bundledRunner } = (await import(join(ROOT, 'dist', 'cli', 'main.cjs'))) as {
    bundledRunner: (
      argv: readonly string[],
      env?: NodeJS.ProcessEnv,
    ) => ((argv: readonly string[]) => Promise<number>) | undefined;
  };
  assert.type(bundledRunner(['plan'], {}), 'function');
  assert.is(bundledRunner(['watch'], {}), undefined);
  assert.is(bundledRunner(['plan'], { VMAN_NO_BUNDLE: '1' }), undefined);
});

test('a dist module rewritten after the bundle makes the CLI run the modules of dist/', async () => {
  const { bundledRunner } = (await import(join(ROOT, 'dist', 'cli', 'main.cjs'))) as {
    bundledRunner: (
      argv: readonly string[],
      env?: NodeJS.ProcessEnv,
    ) => ((argv: readonly string[]) => Promise<number>) | undefined;
  };
  const file = join(ROOT, 'dist', 'errors.js');
  const st = statSync(file);
  try {
    utimesSync(file, st.atime, new Date(st.mtimeMs + 5000));
    assert.is(bundledRunner(['plan'], {}), undefined);
  } finally {
    // utimes cannot restore a nanosecond mtime exactly: build the bundle again instead.
    utimesSync(file, st.atime, st.mtime);
    buildBundle();
  }
  assert.type(bundledRunner(['plan'], {}), 'function');
});

test('without its code cache, or with a damaged one, the bundle still runs and prints the same', async () => {
  const { bundledRunner } = (await import(join(ROOT, 'dist', 'cli', 'main.cjs'))) as {
    bundledRunner: (
      argv: readonly string[],
      env?: NodeJS.ProcessEnv,
    ) => ((argv: readonly string[]) => Promise<number>) | undefined;
  };
  const dir = tempConfig();
  writeFileSync(
    join(dir, 'partitions.d', 'p.yaml'),
    'apiVersion: vman.dev/v1alpha1\nkind: Partition\nmetadata: {name: p}\nspec:\n  cpus: 1\n  memory: 16Mi\n  boot: {image: ../img.bin}\n',
  );
  const cacheFile = join(BUNDLE, 'cli.cache');
  const cache = readFileSync(cacheFile);
  const plain = vman(dir, ['plan'], { VMAN_NO_BUNDLE: '1' });
  try {
    for (const damage of [
      () => rmSync(cacheFile),
      () => writeFileSync(cacheFile, cache.subarray(0, cache.length >> 1)),
      () => writeFileSync(cacheFile, Buffer.alloc(cache.length + 4096, 0x5a)),
    ]) {
      damage();
      assert.type(bundledRunner(['plan'], {}), 'function');
      const r = vman(dir, ['plan']);
      assert.is(r.code, plain.code);
      assert.is(r.stdout, plain.stdout);
      assert.is(r.stderr, plain.stderr);
    }
  } finally {
    writeFileSync(cacheFile, cache);
  }
});

test('every kind of command prints the same through the bundle as through dist/', () => {
  const dir = tempConfig();
  writeFileSync(
    join(dir, 'partitions.d', 'p.yaml'),
    'apiVersion: vman.dev/v1alpha1\nkind: Partition\nmetadata: {name: p}\nspec:\n  cpus: 1\n  memory: 16Mi\n  boot: {image: ../img.bin}\n',
  );
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
    const viaBundle = vman(dir, args);
    // Undo what the bundled run changed, so the plain run starts from the same state.
    if (args[0] === 'apply') vman(dir, ['destroy', '--auto-approve'], { VMAN_NO_BUNDLE: '1' });
    if (args[0] === 'destroy') vman(dir, ['apply', '--auto-approve'], { VMAN_NO_BUNDLE: '1' });
    const plain = vman(dir, args, { VMAN_NO_BUNDLE: '1' });
    const what = `vman ${args.join(' ')}`;
    assert.is(viaBundle.code, plain.code, what);
    assert.is(normal(viaBundle.stdout), normal(plain.stdout), what);
    assert.is(normal(viaBundle.stderr), normal(plain.stderr), what);
  }
});

test.run();
