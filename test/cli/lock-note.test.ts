// `plan` and `status` while a writer holds the lock (issue #21, item 6): they never take or wait for
// it, but say who holds it and what it is changing — a note on stderr, `lock` in --json — so that
// half-done partitions are not mistaken for drift. Exit codes do not change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CLI, cleanup, tempConfig, vman, vmanJson, writePartition } from '../helpers/cli.js';
import { checkGolden } from '../helpers/golden.js';
import { cliGolden, normalise } from '../helpers/transcript.js';

interface LockJson {
  pid: number;
  host: string;
  operation: string;
  since: string;
  running: boolean;
  partitions: string[];
  steps_done: number;
  steps_planned: number;
}

function writeLock(dir: string, pid: number, pidStart: string): void {
  mkdirSync(join(dir, '.vman'), { recursive: true, mode: 0o700 });
  const owner = { pid, pidStart, host: hostname(), operation: 'apply', since: '2026-01-01T00:00:00.000Z' };
  writeFileSync(join(dir, '.vman', 'lock'), JSON.stringify(owner));
}

const myStart = () => readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? 'unknown';

test('during a running apply: plan and status name it and the partitions it is changing', async () => {
  const dir = tempConfig();
  writePartition(dir, 'a');
  writePartition(dir, 'b', { dependsOn: ['a'] });
  // Each boot takes 20 s on the sim backend: the apply sits in a/wait-ready, holding the lock, with `b`
  // loaded and waiting for `a` to be ready before its cores are released (so it looks stopped).
  const child = spawn(process.execPath, [CLI, 'apply', '--auto-approve'], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', VMAN_SIM_BOOT_MS: '20000', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '' },
  });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('a: wait-ready…') && out.includes('b: load done')) resolve();
      });
      child.on('exit', () => reject(new Error(`apply ended early: ${out}`)));
    });
    const plan = vman(dir, ['plan', '--detailed-exitcode']);
    assert.is(plan.code, 2, plan.stderr);
    assert.ok(plan.stderr.startsWith(`Note: locked by PID ${child.pid} (apply, since `), plan.stderr);
    checkGolden(cliGolden('plan-during-apply.stderr'), normalise(plan.stderr, dir), 'plan-during-apply.stderr');
    // What it explains: `b`, loaded but not yet released, looks like a partition to start.
    assert.match(plan.stdout, /# b will be started \(drift\)/);
    const status = vman(dir, ['status']);
    assert.is(status.code, 0);
    assert.is(status.stderr, plan.stderr);
    for (const cmd of ['plan', 'status']) {
      const j = vmanJson<{ lock: LockJson | null }>(dir, [cmd]);
      assert.is(j.code, 0, j.stderr);
      assert.is(j.stderr, '', `${cmd} --json prints no note`);
      const { since, ...lock } = j.json.lock ?? ({} as LockJson);
      assert.match(since, /^\d{4}-\d\d-\d\dT/);
      assert.equal(lock, {
        pid: child.pid ?? 0,
        host: hostname(),
        operation: 'apply',
        running: true,
        partitions: ['a', 'b'],
        steps_done: 7,
        steps_planned: 10,
      });
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    cleanup(dir);
  }
});

test('a holder that has not started its steps, and one that died holding the lock', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    // Held by this (live) test process, which has no journal: planning, or waiting at the `yes` prompt.
    writeLock(dir, process.pid, myStart());
    const waiting = vman(dir, ['plan']);
    assert.is(waiting.code, 0);
    checkGolden(cliGolden('plan-while-locked.stderr'), normalise(waiting.stderr, dir), 'plan-while-locked.stderr');
    assert.equal(vmanJson<{ lock: LockJson }>(dir, ['status']).json.lock.partitions, []);
    // A lock left by a process that no longer runs.
    writeLock(dir, 999999, '1');
    const dead = vman(dir, ['status']);
    assert.is(dead.code, 0);
    checkGolden(cliGolden('status-stale-lock.stderr'), normalise(dead.stderr, dir), 'status-stale-lock.stderr');
    assert.is(vmanJson<{ lock: LockJson }>(dir, ['plan']).json.lock.running, false);
    // Nobody holds it: no note, and `lock` is null.
    assert.is(vman(dir, ['apply', '--auto-approve']).code, 0);
    const free = vman(dir, ['status']);
    assert.is(free.stderr, '');
    assert.is(vmanJson<{ lock: null }>(dir, ['plan']).json.lock, null);
    assert.is(vmanJson<{ lock: null }>(dir, ['status']).json.lock, null);
  } finally {
    cleanup(dir);
  }
});

test.run();
