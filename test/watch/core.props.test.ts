// Properties of the watch core under random writers, renames, deletions and reconcile outcomes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { coreConfig, type Outcome } from '../../src/watch/core.js';
import { World } from './world.js';

const SETTLE = 300;
const PATHS = ['/c/partitions.d/a.yaml', '/c/partitions.d/b.yaml', '/c/partitions.d/c.yaml', '/c/img.bin'];

type Op =
  | { op: 'create'; path: number; size: number }
  | { op: 'append'; path: number }
  | { op: 'rename'; path: number }
  | { op: 'remove'; path: number }
  | { op: 'wait'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), path: fc.nat(PATHS.length - 1), size: fc.nat(500) }),
  fc.record({ op: fc.constant('append' as const), path: fc.nat(PATHS.length - 1) }),
  fc.record({ op: fc.constant('rename' as const), path: fc.nat(PATHS.length - 1) }),
  fc.record({ op: fc.constant('remove' as const), path: fc.nat(PATHS.length - 1) }),
  fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 700 }) }),
);

const outcomeArb = fc.array(
  fc.record({ kind: fc.constantFrom('converged', 'failed', 'invalid'), ms: fc.integer({ min: 0, max: 400 }) }),
  { minLength: 1, maxLength: 8 },
);

function play(ops: readonly Op[], outcomes: readonly { kind: string; ms: number }[], resyncMs = 2000): World {
  const w = new World(coreConfig({ settleMs: SETTLE, resyncMs }), (_t, _f, n) => {
    const o = outcomes[(n - 1) % outcomes.length] ?? { kind: 'converged', ms: 0 };
    const outcome: Outcome =
      o.kind === 'failed'
        ? { result: 'failed', error: 'x' }
        : o.kind === 'invalid'
          ? { result: 'invalid', problems: [{ code: 'VMAN-E205', message: 'bad' }] }
          : { result: 'converged', summary: {}, stepsRun: 1 };
    return { outcome, ms: o.ms };
  });
  w.start();
  for (const o of ops) {
    const path = 'path' in o ? (PATHS[o.path] ?? '') : '';
    if (o.op === 'wait') w.advance(o.ms);
    else if (o.op === 'create') w.create(path, o.size);
    else if (o.op === 'append') {
      if (w.files.has(path)) w.append(path, 10);
    } else if (o.op === 'rename') w.renameIn(path, 100);
    else if (w.files.has(path)) w.remove(path);
  }
  return w;
}

test('never two reconciles at once, never one while a file is unsettled, never a stuck tick', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), outcomeArb, (ops, outcomes) => {
      const w = play(ops, outcomes);
      w.advance(200_000);
      assert.is(w.maxRunning <= 1, true);
      for (const l of w.effects('reconcile')) assert.equal(l.pendingAtStart, []);
      assert.equal(w.stuckTicks, []);
    }),
    { numRuns: 300 },
  );
});

test('a written file settles only after settleMs without writes; a rename is never taken for a written file', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), outcomeArb, (ops, outcomes) => {
      const w = play(ops, outcomes);
      w.advance(10_000);
      for (const path of PATHS) {
        const writes = w.writes.get(path) ?? [];
        const appeared = w.appearances.get(path) ?? [];
        for (const e of w.fileEffects(path)) {
          if (e.change === 'settled')
            assert.ok(
              !writes.some((x) => x.at > e.at - SETTLE && x.n < e.n),
              `${path} settled at ${e.at} with a write within ${SETTLE} ms`,
            );
          if (e.change === 'arrived') {
            const since = Math.max(...appeared.filter((x) => x.n < e.n).map((x) => x.n));
            assert.ok(
              !writes.some((x) => x.n > since && x.n < e.n),
              `${path} taken for a rename at ${e.at} though written after it appeared`,
            );
          }
        }
      }
    }),
    { numRuns: 300 },
  );
});

// Resync is off here: a periodic resync may be under way at any moment (dirty, its scan pending),
// which says nothing about the file changes this property is about.
test('liveness: once writers stop, everything settles and a reconcile follows every change', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const w = play(ops, [{ kind: 'converged', ms: 20 }], 0);
      w.advance(5_000);
      const v = w.core.view();
      assert.equal(v.pending, []);
      assert.is(v.dirty, false);
      const starts = w.effects('reconcile').map((l) => l.at);
      for (const e of w.effects('file')) {
        if (e.effect.change === 'writing') continue;
        assert.ok(
          starts.some((t) => t >= e.at),
          `no reconcile after ${e.effect.change} of ${e.effect.path} at ${e.at}`,
        );
      }
    }),
    { numRuns: 300 },
  );
  // The case that found it: the check fell on the very moment a resync began.
  const w = play(
    [
      { op: 'rename', path: 0 },
      { op: 'wait', ms: 616 },
      { op: 'wait', ms: 536 },
      { op: 'wait', ms: 37 },
    ],
    [{ kind: 'converged', ms: 20 }],
    0,
  );
  w.advance(5_000);
  assert.is(w.core.view().dirty, false);
});

test.run();
