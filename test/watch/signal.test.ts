// SIGTERM while the agent applies: the running step finishes, the lock is released, exit 0, and
// `vman apply` converges after. A second signal exits at once, leaving a journal the next run recovers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempConfig, cleanup, vman, writePartition } from '../helpers/cli.js';
import { Watch } from './support.js';

const MiB = 1024 * 1024;

// A large sparse raw image: the sim re-hashes every image as it loads it, so each load takes a while.
function bigImage(dir: string, size: number): void {
  const file = join(dir, 'big.bin');
  const head = new Uint8Array(64 * 1024);
  for (let i = 0; i < head.length; i++) head[i] = (i * 13 + 5) & 0xff;
  writeFileSync(file, head);
  truncateSync(file, size);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(file, old, old);
}

test('SIGTERM mid-apply: the running step finishes, the lock is released, exit 0; apply converges after', async () => {
  const dir = tempConfig();
  bigImage(dir, 200 * MiB);
  for (const n of ['a', 'b', 'c', 'd']) writePartition(dir, n, { image: '../big.bin', memory: '256Mi' });
  const w = new Watch(dir, ['--settle', '200ms', '--resync', '30s']);
  try {
    const load = await w.waitFor((e) => e.event === 'step-started' && e.kind === 'load', 'the first load', 20_000);
    w.signal('SIGTERM');
    const end = await w.exited;
    assert.equal(end, { code: 0, signal: null }, w.dump());
    const finished = w.of('reconcile-finished');
    assert.is(finished.length, 1, w.dump());
    assert.is(finished[0]?.result, 'interrupted');
    // The load that was running when the signal came finished; nothing after it started.
    assert.ok(
      w.of('step-done').some((e) => e.step === load.step),
      w.dump(),
    );
    assert.ok(w.of('step-skipped').length >= 1, w.dump());
    assert.equal(
      w.of('signal').map((e) => [e.signal, e.action]),
      [['SIGTERM', 'stopping']],
    );
    assert.is(w.events.at(-1)?.event, 'stopped');
    assert.not.ok(existsSync(join(dir, '.vman', 'lock')), 'the lock was not released');
    assert.not.ok(existsSync(join(dir, '.vman', 'journal.jsonl')), 'the journal was not retired');
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 2, 'the apply was not interrupted midway');
    const apply = vman(dir, ['apply', '--auto-approve']);
    assert.is(apply.code, 0, apply.stdout + apply.stderr);
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
  } finally {
    w.kill();
    await w.exited;
    cleanup(dir);
  }
});

test('a second signal exits at once; the next apply recovers from the journal and converges', async () => {
  const dir = tempConfig();
  bigImage(dir, 300 * MiB);
  writePartition(dir, 'a', { image: '../big.bin', memory: '512Mi' });
  const w = new Watch(dir, ['--settle', '200ms', '--resync', '30s']);
  try {
    await w.waitFor((e) => e.event === 'step-started' && e.kind === 'load', 'the load', 20_000);
    w.signal('SIGTERM');
    await w.waitFor((e) => e.event === 'signal', 'the first signal to be seen');
    w.signal('SIGTERM');
    const end = await w.exited;
    assert.equal(end, { code: 128 + 15, signal: null }, w.dump());
    assert.equal(
      w.of('signal').map((e) => e.action),
      ['stopping', 'exiting'],
    );
    assert.equal(
      w.of('step-done').map((e) => e.kind),
      ['allocate', 'build-fdt'],
      'the load finished before the second signal',
    );
    assert.ok(existsSync(join(dir, '.vman', 'journal.jsonl')), 'no journal was left');
    const apply = vman(dir, ['apply', '--auto-approve']);
    assert.is(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(
      apply.stderr,
      /Recovering: the previous watch \(PID \d+, started [^)]+\) was interrupted during a\/load/,
    );
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
  } finally {
    w.kill();
    await w.exited;
    cleanup(dir);
  }
});

test.run();
