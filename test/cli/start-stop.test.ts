// `vman start NAME` / `vman stop NAME`: the imperative habit, with the manifest directory kept the
// truth. Each sets `spec.state` in the document that declares the partition — that value alone, the
// rest of the file byte for byte — then reconciles that partition as `create` does: approval on a
// terminal (refused without one unless --auto-approve, the edit taken back), and the lock. What
// `vman stop` prints is golden: test/cli/plan-golden.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, cleanup, partitionYaml, tempConfig, vman, vmanJson } from '../helpers/cli.js';

interface StatusJson {
  partitions: { name: string; state: string; drift: string[] | null }[];
}

// A hand-written manifest: comments, a flow list, quoted strings, no spec.state.
const RTOS = `# The control loop. Keep it on core 1.
apiVersion: vman.dev/v1alpha1
kind: Partition
metadata:
  name: rtos
spec:
  # one core, pinned
  cpus: [1]
  memory: 16Mi   # enough
  boot:
    image: "../img.bin"
`;

const states = (dir: string) =>
  vmanJson<StatusJson>(dir, ['status']).json.partitions.map((p) => [p.name, p.state, p.drift]);

function setup(): string {
  const dir = tempConfig();
  writeFileSync(join(dir, 'partitions.d', 'rtos.yaml'), RTOS);
  // Two documents in one file: only the named one is edited.
  writeFileSync(
    join(dir, 'partitions.d', 'pair.yaml'),
    `${partitionYaml('one', { cpus: [2] })}---\n${partitionYaml('two', { cpus: [3], state: 'running' })}`,
  );
  const r = vman(dir, ['apply', '--auto-approve']);
  assert.is(r.code, 0, r.stderr);
  return dir;
}

test('stop then start: spec.state is written in place, the partition follows, the plan is clean', () => {
  const dir = setup();
  try {
    const stop = vman(dir, ['stop', 'rtos', '--auto-approve']);
    assert.is(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, 'Apply complete! 0 created, 0 replaced, 0 restarted, 0 destroyed, 0 started, 1 stopped.');
    // The only change to the file: `state: stopped` as spec's first key, indented as its siblings.
    assert.is(
      readFileSync(join(dir, 'partitions.d', 'rtos.yaml'), 'utf8'),
      RTOS.replace('spec:\n', 'spec:\n  state: stopped\n'),
    );
    assert.equal(states(dir), [
      ['one', 'running', []],
      ['rtos', 'stopped', []],
      ['two', 'running', []],
    ]);
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);

    const start = vman(dir, ['start', 'rtos', '--auto-approve']);
    assert.is(start.code, 0, start.stderr);
    assert.match(
      start.stdout,
      'Apply complete! 0 created, 0 replaced, 0 restarted, 0 destroyed, 1 started, 0 stopped.',
    );
    // The value replaced where it is written.
    assert.is(
      readFileSync(join(dir, 'partitions.d', 'rtos.yaml'), 'utf8'),
      RTOS.replace('spec:\n', 'spec:\n  state: running\n'),
    );
    assert.equal(states(dir)[1], ['rtos', 'running', []]);

    // Starting what runs changes nothing, not even the file.
    const again = vman(dir, ['start', 'rtos', '--auto-approve']);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stdout, 'No changes.');
  } finally {
    cleanup(dir);
  }
});

test('a document among several: only its spec.state changes; --json says what was done', () => {
  const dir = setup();
  try {
    const file = join(dir, 'partitions.d', 'pair.yaml');
    const before = readFileSync(file, 'utf8');
    const r = vmanJson<{ file: string; state: string; applied: boolean; steps_run: string[] }>(dir, [
      'stop',
      'two',
      '--auto-approve',
    ]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.json.file, 'partitions.d/pair.yaml');
    assert.is(r.json.state, 'stopped');
    assert.equal(r.json.steps_run, ['two/stop-cores']);
    assert.is(readFileSync(file, 'utf8'), before.replace('  state: running\n', '  state: stopped\n'));
    assert.equal(states(dir), [
      ['one', 'running', []],
      ['rtos', 'running', []],
      ['two', 'stopped', []],
    ]);
  } finally {
    cleanup(dir);
  }
});

test('without a terminal and --auto-approve, nothing changes: the edit is taken back', () => {
  const dir = setup();
  try {
    const r = vman(dir, ['stop', 'rtos']);
    assert.is(r.code, 1);
    assert.match(r.stderr, 'no terminal to ask for approval on; run again with --auto-approve');
    assert.is(readFileSync(join(dir, 'partitions.d', 'rtos.yaml'), 'utf8'), RTOS);
    assert.equal(states(dir)[1], ['rtos', 'running', []]);
  } finally {
    cleanup(dir);
  }
});

test('a name no manifest declares is refused, naming what is live; NAME is required', () => {
  const dir = setup();
  try {
    const r = vman(dir, ['stop', 'rots', '--auto-approve']);
    assert.is(r.code, 1);
    assert.is(
      r.stderr,
      'Error: no partition is called `rots`: no manifest declares it and nothing live has that name; ' +
        'did you mean `rtos`?\n',
    );
    const u = vman(dir, ['start']);
    assert.is(u.code, 1);
    assert.match(u.stderr, 'usage: vman start NAME [--auto-approve] [--lock-timeout DURATION] [--parallelism N]');
  } finally {
    cleanup(dir);
  }
});

test('a writer: waits for the lock, and with --lock-timeout 0s fails at once naming the holder', async () => {
  const dir = setup();
  try {
    // An apply that holds the lock for a while: a partition that takes 3 s to boot.
    writeFileSync(join(dir, 'partitions.d', 'slow.yaml'), partitionYaml('slow', { cpus: [4] }));
    const holder = spawn(process.execPath, [CLI, 'apply', '--auto-approve'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', VMAN_SIM_BOOT_MS: '3000', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = '';
    holder.stdout.on('data', (d: Buffer) => void (seen += d.toString()));
    const done = new Promise<number>((res) => holder.on('close', (code) => res(code ?? -1)));
    for (let i = 0; i < 200 && !seen.includes('slow: wait-ready'); i++) await new Promise((r) => setTimeout(r, 25));
    const r = vman(dir, ['stop', 'rtos', '--auto-approve', '--lock-timeout', '0s']);
    assert.is(r.code, 1);
    assert.match(r.stderr, /locked by PID \d+ \(apply, since /);
    assert.is(readFileSync(join(dir, 'partitions.d', 'rtos.yaml'), 'utf8'), RTOS);
    assert.is(await done, 0);
  } finally {
    cleanup(dir);
  }
});

test.run();
