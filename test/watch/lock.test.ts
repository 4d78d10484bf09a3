// The agent and the lock: it waits for another writer like any writer (--lock-timeout), and when
// it cannot get the lock it retries with exponential backoff, never in a hot loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempConfig, cleanup } from '../helpers/cli.js';
import { processStart } from '../../src/apply/lock.js';
import { Watch, dropByRename, live, yaml } from './support.js';

// Makes this test process the lock's holder, as a running `vman apply` would be.
function holdLock(dir: string, since: string): void {
  mkdirSync(join(dir, '.vman'), { recursive: true, mode: 0o700 });
  writeFileSync(
    join(dir, '.vman', 'lock'),
    JSON.stringify({
      pid: process.pid,
      pidStart: processStart(process.pid) ?? 'unknown',
      host: hostname(),
      operation: 'apply',
      since,
    }),
  );
}

test('lock held by another writer: failures back off 1 s, then 2 s; once it is free the drop is applied', async () => {
  const dir = tempConfig();
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(dir, 'img.bin'), old, old);
  const since = new Date().toISOString();
  holdLock(dir, since);
  const w = new Watch(dir, ['--settle', '200ms', '--resync', '30s', '--lock-timeout', '0s']);
  try {
    const from = await w.started();
    dropByRename(dir, 'a.yaml', yaml('a'));
    const failed = (n: number) =>
      w.waitFor(
        () => w.of('reconcile-finished', from).filter((e) => e.result === 'failed').length >= n,
        `${n} failed attempts`,
        10_000,
        from,
      );
    await failed(2);
    const attempts = w.of('reconcile-finished', from).filter((e) => e.result === 'failed');
    assert.equal(
      attempts.map((e) => e.error),
      Array(2).fill(`locked by PID ${process.pid} (apply, since ${since})`),
    );
    assert.equal(
      attempts.map((e) => e.retryInMs !== undefined && Math.round(Number(e.retryInMs) / 1000)),
      [1, 2],
    );
    const starts = w.of('reconcile-started', from).map((e) => Date.parse(e.time));
    assert.ok((starts[1] ?? 0) - (starts[0] ?? 0) >= 950, `retried after ${(starts[1] ?? 0) - (starts[0] ?? 0)} ms`);
    assert.equal(
      w.of('reconcile-started', from).map((e) => e.trigger),
      ['files', 'retry'],
    );
    assert.equal(live(dir), {});
    rmSync(join(dir, '.vman', 'lock'));
    const done = await w.waitFor(
      (e) => e.event === 'reconcile-finished' && e.result === 'converged',
      'the retry that gets the lock',
      10_000,
      from,
    );
    assert.is(done.trigger, 'retry');
    // The third attempt came the backed-off 2 s after the second.
    const third = w.of('reconcile-started', from)[2];
    assert.ok(Date.parse(third?.time ?? '') - (starts[1] ?? 0) >= 1950, w.dump());
    assert.is(done.stepsRun, 5);
    assert.equal(live(dir), { a: 'running' });
  } finally {
    w.kill();
    await w.exited;
    cleanup(dir);
  }
});

test('lock held for a moment: the agent waits for it (lock-wait), then applies', async () => {
  const dir = tempConfig();
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(dir, 'img.bin'), old, old);
  const since = new Date().toISOString();
  holdLock(dir, since);
  const w = new Watch(dir, ['--settle', '200ms', '--resync', '30s', '--lock-timeout', '10s']);
  try {
    const from = await w.started();
    dropByRename(dir, 'a.yaml', yaml('a'));
    const wait = await w.waitFor((e) => e.event === 'lock-wait', 'lock-wait', 10_000, from);
    assert.equal(wait.holder, { pid: process.pid, operation: 'apply', since });
    rmSync(join(dir, '.vman', 'lock'));
    const done = await w.finished(from);
    assert.is(done.result, 'converged', w.dump());
    assert.equal(live(dir), { a: 'running' });
  } finally {
    w.kill();
    await w.exited;
    cleanup(dir);
  }
});

test.run();
