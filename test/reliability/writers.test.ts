// One writer: concurrent applies on one state serialize and converge; a writer killed with
// SIGKILL while holding the lock does not wedge the next run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, vman, vmanJson, tempConfig, cleanup, writePartition } from '../helpers/cli.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Starts `vman ARGS`; `until` resolves the returned promise early with the child, when stdout matches. */
function start(
  dir: string,
  args: string[],
): { done: Promise<Run>; child: ReturnType<typeof spawn>; seen: (re: RegExp) => Promise<void> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of waiters) if (w.re.test(stdout)) w.resolve();
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((res) => child.on('close', (c) => res({ code: c ?? -1, stdout, stderr })));
  return {
    done,
    child,
    seen: (re) => new Promise<void>((resolve) => (re.test(stdout) ? resolve() : waiters.push({ re, resolve }))),
  };
}

// A large image makes each load take a while (the sim re-hashes it), so writers overlap.
function bigImage(dir: string, mib: number): void {
  const chunk = new Uint8Array(16 * 1024 * 1024);
  for (let i = 0; i < chunk.length; i += 4096) chunk[i] = (i >> 12) & 0xff;
  for (let i = 0; i < mib / 16; i++) appendFileSync(join(dir, 'big.bin'), chunk);
}

test('three concurrent applies serialize on the lock and converge', async () => {
  const dir = tempConfig();
  try {
    bigImage(dir, 128);
    for (const n of ['a', 'b', 'c']) writePartition(dir, n, { image: '../big.bin', memory: '160Mi' });
    const runs = [0, 1, 2].map(() => start(dir, ['apply', '--auto-approve', '--lock-timeout', '120s']));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) assert.is(r.code, 0, r.stdout + r.stderr);
    // Exactly one of them created the partitions; the others waited for the lock and found nothing to do.
    assert.is(
      results.filter((r) => r.stdout.includes('Apply complete!')).length,
      1,
      results.map((r) => r.stdout).join('\n----\n'),
    );
    assert.is(results.filter((r) => r.stdout.includes('No changes.')).length, 2);
    assert.ok(results.some((r) => /Waiting up to 120s for the lock: locked by PID \d+ \(apply, since /.test(r.stderr)));
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
    const s = vmanJson<{ partitions: { name: string; state: string }[] }>(dir, ['status']).json;
    assert.equal(
      s.partitions.map((p) => [p.name, p.state]),
      [
        ['a', 'running'],
        ['b', 'running'],
        ['c', 'running'],
      ],
    );
  } finally {
    cleanup(dir);
  }
});

test('three concurrent applies and a watcher on one state serialize and converge', async () => {
  const dir = tempConfig();
  try {
    bigImage(dir, 64);
    for (const n of ['a', 'b', 'c']) writePartition(dir, n, { image: '../big.bin', memory: '96Mi' });
    const watcher = start(dir, ['watch', '--json', '--settle', '200ms', '--resync', '1s', '--lock-timeout', '120s']);
    await watcher.seen(/"event":"ready"/);
    // Change the desired state while everyone races: one more partition.
    writePartition(dir, 'd', { image: '../img.bin' });
    const runs = [0, 1, 2].map(() => start(dir, ['apply', '--auto-approve', '--lock-timeout', '120s']));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) assert.is(r.code, 0, r.stdout + r.stderr);
    // The watcher settles too: wait until a reconcile finishes after the applies, with nothing to do.
    const converged = /"event":"reconcile-finished"[^\n]*"result":"converged"/;
    await watcher.seen(converged);
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
    watcher.child.kill('SIGTERM');
    const w = await watcher.done;
    assert.is(w.code, 0, w.stderr);
    const s = vmanJson<{ partitions: { name: string; state: string }[] }>(dir, ['status']).json;
    assert.equal(
      s.partitions.map((p) => [p.name, p.state]),
      [
        ['a', 'running'],
        ['b', 'running'],
        ['c', 'running'],
        ['d', 'running'],
      ],
    );
  } finally {
    cleanup(dir);
  }
});

test('kill -9 of the writer holding the lock does not wedge the next run, which converges', async () => {
  const dir = tempConfig();
  try {
    bigImage(dir, 128);
    for (const n of ['a', 'b']) writePartition(dir, n, { image: '../big.bin', memory: '160Mi' });
    const first = start(dir, ['apply', '--auto-approve']);
    await first.seen(/a: load/);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.is(killed.code, -1);
    const next = vman(dir, ['apply', '--auto-approve', '--lock-timeout', '0s']);
    assert.is(next.code, 0, next.stderr);
    assert.match(next.stderr, /took over the lock of PID \d+ \(apply, since /);
    assert.match(next.stderr, 'Recovering: the previous apply');
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
    const s = vmanJson<{ partitions: { name: string }[]; orphans: unknown[] }>(dir, ['status']).json;
    assert.equal(
      s.partitions.map((p) => p.name),
      ['a', 'b'],
    );
    assert.equal(s.orphans, []);
  } finally {
    cleanup(dir);
  }
});

test('state files are private: the state dir is 0700, its files 0600', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', {});
    writeFileSync(join(dir, 'partitions.d', 'b.yaml'), '');
    assert.is(vman(dir, ['apply', '--auto-approve']).code, 0);
    const r = vman(dir, ['plan']);
    assert.is(r.code, 0);
    const find = spawnSyncText('find', [join(dir, '.vman'), '-printf', '%m %y %P\\n']);
    for (const line of find.trim().split('\n')) {
      const [mode, type, path] = line.split(' ');
      assert.is(mode, type === 'd' ? '700' : '600', `${path ?? '.'} has mode ${mode}`);
    }
  } finally {
    cleanup(dir);
  }
});

function spawnSyncText(cmd: string, args: string[]): string {
  return spawnSync(cmd, args, { encoding: 'utf8' }).stdout;
}

test.run();
