// Small things a new user trips over (issue #21, item 10), through the built CLI: colour on a dumb
// terminal, the state directory a failed first apply leaves, the build's output under `npm ci`, and
// what `vman status` says of a watch agent that has stopped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, cleanup, tempConfig, vman, writePartition } from '../helpers/cli.js';
import { checkGolden } from '../helpers/golden.js';
import { cliGolden, normalise } from '../helpers/transcript.js';
import { skip } from '../helpers/skip.js';
import { Watch, dropByRename, yaml } from '../watch/support.js';

const ESC = '\x1b[';

// `vman ARGS` on a pseudo-terminal (util-linux `script`), with TERM as given and no colour switches.
function onTerminal(dir: string, args: readonly string[], term: string): string {
  const env: Record<string, string | undefined> = {
    ...process.env,
    TERM: term,
    VMAN_CONFIG_DIR: '',
    VMAN_STATE_DIR: '',
  };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: dir, env, encoding: 'utf8' });
  return r.stdout;
}

test('TERM=dumb: no colour on a terminal, on stdout or stderr (a capable terminal gets it)', () => {
  if (spawnSync('script', ['--version']).status !== 0)
    return skip('TERM=dumb: no `script` (util-linux) to make a terminal');
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    for (const args of [['plan'], ['board'], ['nope']]) {
      const dumb = onTerminal(dir, args, 'dumb');
      assert.ok(dumb.length > 0, `vman ${args.join(' ')} printed nothing`);
      assert.not.ok(dumb.includes(ESC), `TERM=dumb vman ${args.join(' ')}: ${JSON.stringify(dumb.slice(0, 200))}`);
      assert.ok(onTerminal(dir, args, 'xterm-256color').includes(ESC), `no colour for vman ${args.join(' ')}`);
    }
  } finally {
    cleanup(dir);
  }
});

test('a failed apply in a directory without partitions.d/ leaves no state directory behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vman-test-'));
  try {
    const r = vman(dir, ['apply', '--auto-approve']);
    checkGolden(
      cliGolden('apply-without-partitions-d'),
      normalise(`exit ${r.code}\n${r.stdout}${r.stderr}`, dir),
      'apply-without-partitions-d',
    );
    assert.is(r.code, 1);
    assert.equal(readdirSync(dir), []);
    // Nor does a destroy with nothing to destroy, or a delete of an unknown name.
    assert.is(vman(dir, ['destroy', '--auto-approve']).code, 0);
    assert.is(vman(dir, ['delete', 'x', '--auto-approve']).code, 1);
    assert.equal(readdirSync(dir), []);
    // A state directory that was there before stays.
    mkdirSync(join(dir, '.vman'), { mode: 0o700 });
    assert.is(vman(dir, ['apply', '--auto-approve']).code, 1);
    assert.ok(existsSync(join(dir, '.vman')));
  } finally {
    cleanup(dir);
  }
});

test('the build steps `npm ci` runs print nothing when all goes well', () => {
  // A copy of the repository's layout with its own dist/ and .cache/, so the real ones are untouched.
  const root = mkdtempSync(join(tmpdir(), 'vman-build-'));
  try {
    mkdirSync(join(root, 'scripts'));
    mkdirSync(join(root, 'dist'));
    for (const f of ['build-demo.mjs', 'build-cli.mjs'])
      copyFileSync(join(ROOT, 'scripts', f), join(root, 'scripts', f));
    copyFileSync(join(ROOT, 'package.json'), join(root, 'package.json'));
    cpSync(join(ROOT, 'partitions.d'), join(root, 'partitions.d'), { recursive: true });
    symlinkSync(join(ROOT, 'src'), join(root, 'src'));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    symlinkSync(join(ROOT, 'dist', 'demo'), join(root, 'dist', 'demo'));
    for (const f of ['build-demo.mjs', 'build-cli.mjs']) {
      const r = spawnSync(process.execPath, [join(root, 'scripts', f)], { cwd: root, encoding: 'utf8' });
      assert.is(r.status, 0, `${f}: ${r.stderr}`);
      assert.is(r.stdout, '', f);
      assert.is(r.stderr, '', f);
    }
    assert.ok(existsSync(join(root, 'dist', 'cli', 'bundle.js')));
    assert.ok(existsSync(join(root, 'dist', 'cli', 'bundle.cache')));
  } finally {
    cleanup(root);
  }
});

test("status: a stopped agent's problems are not shown once the file is fixed", async () => {
  const dir = tempConfig();
  const w = new Watch(dir, ['--settle', '100ms', '--resync', '0s']);
  try {
    const from = await w.started();
    dropByRename(dir, 'bad.yaml', yaml('bad').replace('memory: 16Mi', 'memory: 16MB'));
    const bad = await w.finished(from);
    assert.is(bad.result, 'invalid', w.dump());
    assert.match(vman(dir, ['status']).stdout, '1 problem in the manifests');
    assert.is((await w.stop()).code, 0, w.dump());
    dropByRename(dir, 'bad.yaml', yaml('bad'));
    const r = vman(dir, ['status']);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, '');
    checkGolden(
      cliGolden('status-after-watch-stopped'),
      normalise(r.stdout, dir).replace(/\d+ms\)/g, 'Nms)'),
      'status-after-watch-stopped',
    );
  } finally {
    w.kill();
    cleanup(dir);
  }
});

test.run();
