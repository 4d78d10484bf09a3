// The watch core with a fake clock: settle, rename detection, debounce, resync, backoff, problems.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  backoffDelay,
  coreConfig,
  problemKey,
  WatchCore,
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  DEBOUNCE_MS,
  MAX_DELAY_MS,
  RENAME_GRACE_MS,
  type Outcome,
} from '../../src/watch/core.js';
import type { Diagnostic } from '../../src/rules/diagnostic.js';
import { World } from './world.js';

const P = '/cfg/partitions.d/a.yaml';
const Q = '/cfg/partitions.d/b.yaml';
const SETTLE = 500;

const started = (w: World) =>
  w.effects('reconcile').map((l) => ({ at: l.at, trigger: l.effect.trigger, files: l.effect.files }));

test('startup: one reconcile after a scan; old files count as settled at once', () => {
  const w = new World();
  w.existing(P, 300, 10_000);
  w.start();
  assert.equal(
    w.effects('scan').map((l) => l.at),
    [0],
  );
  assert.equal(started(w), [{ at: 1, trigger: 'startup', files: [] }]);
  assert.equal(w.fileEvents(P), []);
});

test('startup: a file changed less than the settle time ago is waited for', () => {
  const w = new World();
  w.existing(P, 300, 100);
  w.start();
  w.advance(1000);
  const r = started(w);
  assert.is(r.length, 1);
  // ctime was 100 ms before start: it settles 500 ms after that, then the debounce and a fresh scan.
  assert.ok((r[0]?.at ?? 0) >= SETTLE - 100, `reconciled at ${r[0]?.at}`);
  assert.equal(
    w.fileEvents(P).map((e) => e.change),
    ['writing', 'settled'],
  );
});

test('a rename counts at once: grace, debounce, scan, reconcile', () => {
  const w = new World();
  w.start();
  const t0 = w.now;
  w.renameIn(P, 400);
  w.advance(1000);
  assert.equal(w.fileEvents(P), [{ at: t0 + 1 + RENAME_GRACE_MS, change: 'arrived' }]);
  const r = started(w).filter((x) => x.trigger !== 'startup');
  assert.equal(
    r.map((x) => x.files),
    [[P]],
  );
  // stat (1 ms) + grace + debounce + scan (1 ms): well under the settle time.
  assert.is(r[0]?.at, t0 + 1 + RENAME_GRACE_MS + DEBOUNCE_MS + 1);
  assert.ok((r[0]?.at ?? Infinity) - t0 < SETTLE);
});

test('an in-place write settles: created empty, written, then quiet for the settle time', () => {
  const w = new World();
  w.start();
  const t0 = w.now;
  w.create(P, 400);
  w.advance(2000);
  assert.equal(
    w.fileEvents(P).map((e) => e.change),
    ['writing', 'settled'],
  );
  const settled = w.fileEvents(P)[1]?.at ?? 0;
  assert.ok(settled >= t0 + SETTLE, `settled at ${settled - t0} ms`);
  assert.ok(settled <= t0 + SETTLE + 10, `settled late: ${settled - t0} ms`);
  assert.is(started(w).filter((x) => x.trigger === 'files').length, 1);
});

test('a file created non-empty whose write event comes after the stat is not taken for a rename', () => {
  const w = new World();
  w.start();
  // The writer creates and writes before our stat runs; the write's event arrives after the stat saw the bytes.
  w.files.set(P, { size: 400, mtime: w.now, ctime: w.now, ino: 1 });
  w.send({ kind: 'appeared', path: P });
  w.advance(2);
  w.send({ kind: 'wrote', path: P });
  w.advance(2000);
  assert.equal(
    w.fileEvents(P).map((e) => e.change),
    ['writing', 'settled'],
  );
});

test('slow chunks are never applied before the last chunk has settled', () => {
  const w = new World();
  w.start();
  const t0 = w.now;
  w.create(P, 100);
  w.advance(300);
  w.append(P, 100);
  w.advance(300);
  w.append(P, 100);
  const last = w.now;
  w.advance(2000);
  const files = started(w).filter((x) => x.trigger === 'files');
  assert.is(files.length, 1);
  assert.ok(
    (files[0]?.at ?? 0) >= last + SETTLE,
    `reconciled ${(files[0]?.at ?? 0) - t0} ms after the start, last chunk at ${last - t0}`,
  );
  assert.equal(
    w.fileEvents(P).map((e) => e.change),
    ['writing', 'settled'],
  );
});

test('a change nobody announced (missed event) is caught by a scan and settled', () => {
  const w = new World();
  w.existing(P, 300, 10_000);
  w.start();
  const f = w.files.get(P);
  if (!f) throw new Error('no file');
  f.size = 350;
  f.mtime = w.now;
  f.ctime = w.now;
  w.advance(61_000);
  assert.equal(
    w.fileEvents(P).map((e) => e.change),
    ['writing', 'settled'],
  );
  const r = started(w);
  assert.equal(
    r.map((x) => x.trigger),
    ['startup', 'files'],
  );
});

test('deletion counts at once', () => {
  const w = new World();
  w.existing(P, 300, 10_000);
  w.start();
  const t0 = w.now;
  w.remove(P);
  w.advance(1000);
  assert.equal(w.fileEvents(P), [{ at: t0 + 1, change: 'removed' }]);
  assert.equal(
    started(w)
      .filter((x) => x.trigger === 'files')
      .map((x) => x.files),
    [[P]],
  );
});

test('a temp file that comes and goes before it is seen is no change', () => {
  const w = new World();
  w.start();
  w.files.set(P, { size: 10, mtime: w.now, ctime: w.now, ino: 9 });
  w.send({ kind: 'appeared', path: P });
  w.files.delete(P);
  w.send({ kind: 'appeared', path: P });
  w.advance(1000);
  assert.equal(w.fileEvents(P), []);
  assert.equal(
    started(w).map((x) => x.trigger),
    ['startup'],
  );
});

test('a burst of 20 renames gives one reconcile', () => {
  const w = new World();
  w.start();
  for (let i = 0; i < 20; i++) {
    w.renameIn(`/cfg/partitions.d/p${i}.yaml`, 300);
    w.advance(3);
  }
  w.advance(2000);
  const r = started(w).filter((x) => x.trigger === 'files');
  assert.is(r.length, 1);
  assert.is(r[0]?.files.length, 20);
});

test('a burst of 20 in-place copies gives one reconcile', () => {
  const w = new World();
  w.start();
  for (let i = 0; i < 20; i++) w.create(`/cfg/partitions.d/p${i}.yaml`, 300);
  w.advance(3000);
  assert.is(started(w).filter((x) => x.trigger === 'files').length, 1);
});

test('a file still being written holds back a reconcile that another file asked for', () => {
  const w = new World();
  w.start();
  w.create(Q, 100);
  w.advance(100);
  w.renameIn(P, 300);
  w.advance(200);
  w.append(Q, 100);
  const last = w.now;
  w.advance(2000);
  const r = w.effects('reconcile').filter((l) => l.effect.trigger === 'files');
  assert.is(r.length, 1);
  assert.ok((r[0]?.at ?? 0) >= last + SETTLE);
  assert.equal(r[0]?.effect.files, [P, Q]);
  for (const l of w.effects('reconcile')) assert.equal(l.pendingAtStart, []);
});

test('a stream of changes cannot postpone a reconcile past the maximum delay', () => {
  const w = new World();
  w.start();
  const t0 = w.now;
  for (let i = 0; i < 100; i++) {
    w.renameIn(`/cfg/partitions.d/s${i}.yaml`, 300);
    w.advance(60);
  }
  const first = started(w).find((x) => x.trigger === 'files');
  assert.ok(first, 'no reconcile during the stream');
  assert.ok((first?.at ?? Infinity) - t0 <= MAX_DELAY_MS + 100, `first reconcile after ${(first?.at ?? 0) - t0} ms`);
});

test('changes during a reconcile bring one more reconcile after it', () => {
  const w = new World(undefined, () => ({ outcome: { result: 'converged', summary: {}, stepsRun: 5 }, ms: 400 }));
  w.start();
  w.advance(500);
  w.renameIn(P, 300);
  w.advance(200);
  w.renameIn(Q, 300);
  w.advance(3000);
  const r = started(w).filter((x) => x.trigger === 'files');
  assert.equal(
    r.map((x) => x.files),
    [[P], [Q]],
  );
  assert.is(w.maxRunning, 1);
  assert.ok((r[1]?.at ?? 0) >= (r[0]?.at ?? 0) + 400);
});

test('resync: live state is read again resyncMs after the last reconcile', () => {
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs: 1000 }));
  w.start();
  w.advance(3500);
  const r = started(w);
  assert.equal(
    r.map((x) => x.trigger),
    ['startup', 'resync', 'resync', 'resync'],
  );
  // Each resync: 1000 ms after the previous reconcile finished (10 ms), plus a scan (1 ms).
  assert.equal(
    r.map((x) => x.at),
    [1, 1012, 2023, 3034],
  );
  assert.is(w.effects('resync').length, 3);
});

test("restart-at: a reconcile (trigger `restart`) when the restart policy's next restart is due", () => {
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs: 0 }));
  w.start();
  w.advance(100);
  const t0 = w.now;
  w.send({ kind: 'restart-at', at: t0 + 5000 });
  assert.is(w.core.wakeAt(), t0 + 5000);
  w.advance(4999);
  assert.is(started(w).length, 1);
  w.advance(1000);
  // Due at +5000, then a scan (1 ms), as a resync.
  assert.equal(
    started(w)
      .slice(1)
      .map((x) => [x.trigger, x.at - t0]),
    [['restart', 5001]],
  );
  assert.is(w.core.view().restartAt, undefined);
  assert.is(w.core.wakeAt(), undefined);
  // Taken back (the partition was started by hand meanwhile): nothing happens.
  w.send({ kind: 'restart-at', at: w.now + 1000 });
  w.send({ kind: 'restart-at', at: undefined });
  w.advance(5000);
  assert.is(started(w).length, 2);
});

test('restart-at does not cut a failure backoff short', () => {
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs: 0 }), (_t, _f, n) =>
    n === 2
      ? { outcome: { result: 'failed', error: 'monitor busy' }, ms: 0 }
      : { outcome: { result: 'converged', summary: {}, stepsRun: 0 }, ms: 0 },
  );
  w.start();
  const t0 = w.now;
  w.send({ kind: 'restart-at', at: t0 + 100 });
  w.advance(150);
  // Failed at +101: the retry waits 1 s, however due the restart is.
  w.send({ kind: 'restart-at', at: w.now });
  w.advance(2000);
  assert.equal(
    started(w)
      .slice(1)
      .map((x) => [x.trigger, x.at - t0]),
    [
      ['restart', 101],
      ['retry', 1102],
    ],
  );
});

test('resync 0 turns periodic resync off', () => {
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs: 0 }));
  w.start();
  w.advance(600_000);
  assert.is(started(w).length, 1);
  assert.is(w.core.wakeAt(), undefined);
});

test('failures back off exponentially up to the cap; success resets', () => {
  let fail = 12;
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs: 0 }), () =>
    fail-- > 0
      ? { outcome: { result: 'failed', error: 'monitor busy' }, ms: 0 }
      : { outcome: { result: 'converged', summary: {}, stepsRun: 1 }, ms: 0 },
  );
  w.start();
  w.advance(20 * 60_000);
  const at = started(w).map((x) => x.at);
  const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
  // Each gap is the backoff plus the 1 ms scan taken before every attempt.
  assert.equal(
    gaps,
    [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000, 60000, 60000].map((g) => g + 1),
  );
  assert.equal(
    started(w)
      .slice(1)
      .map((x) => x.trigger),
    Array(12).fill('retry'),
  );
  assert.is(w.core.view().failures, 0);
  assert.is(w.core.wakeAt(), undefined);
});

test('backoffDelay is capped and starts at the base', () => {
  const c = { backoffBaseMs: BACKOFF_BASE_MS, backoffCapMs: BACKOFF_CAP_MS };
  assert.is(backoffDelay(1, c), 1000);
  assert.is(backoffDelay(2, c), 2000);
  assert.is(backoffDelay(7, c), 60_000);
  assert.is(backoffDelay(1000, c), 60_000);
});

test('a file change during a long backoff brings the retry forward, but not sooner than the base delay', () => {
  let fail = 6;
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs: 0 }), () =>
    fail-- > 0
      ? { outcome: { result: 'failed', error: 'x' }, ms: 0 }
      : { outcome: { result: 'converged', summary: {}, stepsRun: 1 }, ms: 0 },
  );
  w.start();
  w.advance(1000 + 2000 + 4000 + 8000 + 16000 + 10);
  // Six failures: the next attempt would be 32 s after the last.
  const lastFail = started(w).at(-1)?.at ?? 0;
  assert.ok(w.core.view().retryAt === lastFail + 32_000, `retryAt ${w.core.view().retryAt}, last ${lastFail}`);
  w.advance(300);
  w.renameIn(P, 300);
  w.advance(1500);
  const next = started(w).at(-1);
  assert.equal(next?.trigger, 'files');
  assert.ok(
    (next?.at ?? 0) >= lastFail + BACKOFF_BASE_MS && (next?.at ?? 0) < lastFail + 2000,
    `retried at +${(next?.at ?? 0) - lastFail}`,
  );
});

const problem = (line: number, message = 'spec.cpus must be a count'): Diagnostic => ({
  code: 'VMAN-E205',
  message,
  position: { file: 'partitions.d/a.yaml', line, column: 9 },
});

test('invalid manifests: each problem reported once across resyncs; no timer retries; fixed clears them', () => {
  let outcome: Outcome = { result: 'invalid', problems: [problem(7), problem(9, 'memory must be a size')] };
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs: 1000 }), () => ({ outcome, ms: 5 }));
  w.start();
  w.advance(5000);
  assert.equal(
    w.effects('problem').map((l) => l.effect.problem.position?.line),
    [7, 9],
  );
  assert.ok(started(w).length >= 5, 'resyncs kept running');
  assert.equal(w.core.view().failures, 0);
  // One problem fixed, one new: only the new one is reported.
  outcome = { result: 'invalid', problems: [problem(9, 'memory must be a size'), problem(12)] };
  w.renameIn(P, 300);
  w.advance(500);
  assert.equal(
    w.effects('problem').map((l) => l.effect.problem.position?.line),
    [7, 9, 12],
  );
  outcome = { result: 'converged', summary: {}, stepsRun: 5 };
  w.renameIn(P, 310);
  w.advance(500);
  assert.equal(
    w.effects('problems-cleared').map((l) => l.effect.count),
    [2],
  );
  assert.equal(w.core.view().problems, []);
  // Broken again: reported again.
  outcome = { result: 'invalid', problems: [problem(7)] };
  w.renameIn(P, 320);
  w.advance(500);
  assert.equal(
    w.effects('problem').map((l) => l.effect.problem.position?.line),
    [7, 9, 12, 7],
  );
});

test('problemKey: same code, place and message', () => {
  assert.is(problemKey(problem(7)), problemKey(problem(7)));
  assert.is.not(problemKey(problem(7)), problemKey(problem(8)));
  assert.is.not(problemKey(problem(7)), problemKey(problem(7, 'other')));
});

test('stop: no reconcile starts after it, and the core stops asking for ticks', () => {
  const w = new World();
  w.start();
  w.renameIn(P, 300);
  w.send({ kind: 'stop' });
  w.advance(5000);
  assert.equal(
    started(w).map((x) => x.trigger),
    ['startup'],
  );
  assert.is(w.core.wakeAt(), undefined);
});

test('a scan that finds a file removed behind our back reports it and reconciles', () => {
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs: 1000 }));
  w.existing(P, 300, 10_000);
  w.start();
  w.files.delete(P);
  w.advance(1100);
  assert.equal(
    w.fileEvents(P).map((e) => e.change),
    ['removed'],
  );
  assert.equal(w.core.view().pending, []);
});

test('a forgotten path no longer holds back reconciles', () => {
  const core = new WatchCore(coreConfig({ settleMs: SETTLE, resyncMs: 0 }));
  core.handle({ kind: 'tick' }, 0);
  core.handle(
    {
      kind: 'scanned',
      seen: new Map([[P, { stamp: { size: 1, mtimeNs: '0', ctimeNs: '0', ino: 1 }, ageMs: 0 }]]),
      forget: [],
    },
    1,
  );
  assert.equal(core.view().pending, [P]);
  core.handle({ kind: 'tick' }, 2);
  const effects = core.handle({ kind: 'scanned', seen: new Map(), forget: [P] }, 3);
  assert.equal(core.view().pending, []);
  assert.equal(
    effects.map((e) => e.kind),
    ['reconcile'],
  );
});

test.run();
