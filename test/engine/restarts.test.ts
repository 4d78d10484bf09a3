// The restart policy's pure decisions: which ends restart under which policy, the backoff schedule
// (10 s doubling to 5 min, afresh after 10 min of running), and the tracker over an agent's reconciles
// (count, CrashLoop and Ended, what the book keeps), by example and as properties over random lives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_RESTART_TIMING,
  EMPTY_BOOK,
  judge,
  restartDelay,
  restartsAfter,
  RestartTracker,
  type Ending,
  type RestartNotice,
  type RestartTiming,
} from '../../src/engine/restarts.js';
import { readRestartBook, RESTART_BOOK_FILE, writeRestartBook } from '../../src/engine/restart-book.js';
import type { RestartPolicy } from '../../src/manifest/types.js';
import type { Action, Plan } from '../../src/plan/types.js';
import type { LiveState, PowerState } from '../../src/backends/types.js';

const S = 1000;
const MIN = 60 * S;
const T0 = Date.UTC(2030, 0, 1);

test('which ends each policy restarts: Never none, OnFailure a crash, Always both', () => {
  const table = (['Never', 'OnFailure', 'Always'] as const).map((p) => [
    p,
    restartsAfter(p, 'crashed'),
    restartsAfter(p, 'shutdown'),
  ]);
  assert.equal(table, [
    ['Never', false, false],
    ['OnFailure', true, false],
    ['Always', true, true],
  ]);
});

test("the backoff is Kubernetes': 10 s, 20 s, 40 s … capped at 5 min", () => {
  const t = DEFAULT_RESTART_TIMING;
  assert.equal(t, { firstMs: 10 * S, capMs: 5 * MIN, healthyMs: 10 * MIN });
  assert.equal(
    [0, 1, 2, 3, 4, 5, 6, 50, 1e9].map((n) => restartDelay(n, t) / S),
    [10, 20, 40, 80, 160, 300, 300, 300, 300],
  );
});

test('property: each wait is between the first and the cap, never shorter than the last, at most twice it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60_000 }),
      fc.integer({ min: 0, max: 3_600_000 }),
      fc.nat(200),
      (first, extra, n) => {
        const t: RestartTiming = { firstMs: first, capMs: first + extra, healthyMs: 1 };
        const a = restartDelay(n, t);
        const b = restartDelay(n + 1, t);
        return (
          first <= a && a <= t.capMs && a <= b && b <= Math.max(2 * a, first) && restartDelay(n + 64, t) === t.capMs
        );
      },
    ),
    { seed: 0x20, numRuns: 500 },
  );
});

test('judge: a first end waits 10 s; the next end soon after waits 20 s; 10 min of running start afresh', () => {
  const t = DEFAULT_RESTART_TIMING;
  const a = { name: 'a', ended: 'crashed', policy: 'OnFailure' } as const;
  const v1 = judge(undefined, a, T0, t);
  assert.is(v1.kind, 'wait');
  assert.equal(v1.entry, {
    restarts: 0,
    consecutive: 0,
    ended: { as: 'crashed', at: T0 },
    policy: 'OnFailure',
    restartAt: T0 + 10 * S,
  });
  // Asked again while waiting: the same end, the same time.
  assert.equal(judge(v1.entry, a, T0 + 5 * S, t), v1);
  const due = judge(v1.entry, a, T0 + 10 * S, t);
  assert.is(due.kind, 'restart');
  const v2 = judge({ restarts: 1, consecutive: 1, runningSince: T0 + 10 * S }, a, T0 + 15 * S, t);
  assert.equal(v2.kind === 'wait' && v2.restartAt, T0 + 35 * S);
  const healthy = judge({ restarts: 5, consecutive: 5, runningSince: T0 }, a, T0 + 10 * MIN, t);
  assert.equal(healthy.kind === 'wait' && [healthy.entry.consecutive, healthy.restartAt], [0, T0 + 10 * MIN + 10 * S]);
  assert.equal(judge(undefined, { ...a, policy: 'Never' }, T0, t).kind, 'leave');
  assert.equal(judge(undefined, { ...a, ended: 'shutdown' }, T0, t).kind, 'leave');
  assert.equal(judge(undefined, { ...a, ended: 'shutdown', policy: 'Always' }, T0, t).kind, 'wait');
  // A policy changed while it waits takes effect at once: Never leaves it, Always (back again) waits on.
  const left = judge(v1.entry, { ...a, policy: 'Never' }, T0 + S, t);
  assert.equal([left.kind, left.entry.restartAt], ['leave', undefined]);
  assert.equal(judge(left.entry, a, T0 + 2 * S, t), { ...v1, entry: { ...v1.entry } });
});

// A fake agent over one partition: each reconcile plans it (`hold`), then the plan runs.
class World {
  now = T0;
  state: PowerState = 'running';
  readonly tracker: RestartTracker;
  readonly notices: RestartNotice[] = [];

  constructor(
    public policy: RestartPolicy,
    readonly timing: RestartTiming = DEFAULT_RESTART_TIMING,
  ) {
    this.tracker = new RestartTracker(EMPTY_BOOK, timing, () => this.now);
  }

  live(): LiveState {
    const p = { name: 'a', state: this.state, cpus: [1], memory: { base: 0, size: 4096 }, devices: [], loaded: [] };
    return { partitions: [p], orphans: [] };
  }

  plan(action: Action, reasons: string[] = []): Plan {
    return { changes: [{ partition: 'a', action, reasons, fields: [], drift: false }], steps: [], targets: {} };
  }

  /** One reconcile: the lock-free plan, then (with changes) the one under the lock, which runs. */
  reconcile(): string | undefined {
    let why: string | undefined;
    const planOnce = (runs: boolean) => {
      let action: Action = 'noop';
      if (this.state === 'crashed' || this.state === 'shutdown') {
        why = this.tracker.hold({ name: 'a', ended: this.state, policy: this.policy });
        action = why === undefined ? 'start' : 'noop';
      }
      const plan = this.plan(action, why ? [why] : []);
      this.tracker.planned(plan, this.live(), runs && action !== 'noop');
      return action;
    };
    if (planOnce(false) === 'start' && planOnce(true) === 'start') this.state = 'running';
    this.notices.push(...this.tracker.drain());
    return why;
  }

  end(as: Ending): void {
    this.state = as;
  }
}

test('tracker: a crash under OnFailure backs off (CrashLoop), is restarted, counted, and the book says so', () => {
  const w = new World('OnFailure');
  w.reconcile();
  assert.equal(w.tracker.book(), EMPTY_BOOK, 'a partition that never ended has no entry');
  w.end('crashed');
  w.now += S;
  const why = w.reconcile();
  assert.match(why ?? '', /^`a` crashed; restartPolicy OnFailure restarts it at 2030-01-01T00:00:11\.000Z \(restart 1/);
  assert.equal(w.tracker.nextRestartAt(), T0 + 11 * S);
  assert.equal(
    w.tracker.status().map((s) => [s.partition, s.reason, s.restarts, s.ended, s.nextRestartAt]),
    [['a', 'CrashLoop', 0, 'crashed', '2030-01-01T00:00:11.000Z']],
  );
  assert.equal(
    w.notices.map((n) => [n.kind, n.restarts, n.kind === 'ended' ? n.restartAt : null]),
    [['ended', 0, T0 + 11 * S]],
  );
  w.now += 5 * S;
  assert.ok(w.reconcile(), 'still backing off');
  assert.is(w.notices.length, 1, 'the end is reported once');
  w.now += 5 * S;
  assert.is(w.reconcile(), undefined);
  assert.is(w.state, 'running');
  assert.equal(
    w.notices.map((n) => [n.kind, n.restarts]),
    [
      ['ended', 0],
      ['restart', 1],
    ],
  );
  assert.equal(w.tracker.book().partitions.a, {
    restarts: 1,
    consecutive: 1,
    runningSince: T0 + 11 * S,
    lastRestartAt: T0 + 11 * S,
    lastEnded: 'crashed',
  });
  assert.equal(w.tracker.status()[0]?.reason, null);
  assert.is(w.tracker.nextRestartAt(), undefined);
  // Crashes again at once: 20 s this time.
  w.end('crashed');
  w.now += S;
  w.reconcile();
  assert.equal(w.tracker.nextRestartAt(), w.now + 20 * S);
});

test('tracker: Never and OnFailure-after-a-power-off leave it ended (Ended); a hand-run start ends the wait', () => {
  for (const [policy, as] of [
    ['Never', 'crashed'],
    ['OnFailure', 'shutdown'],
  ] as const) {
    const w = new World(policy);
    w.end(as);
    const why = w.reconcile();
    assert.match(why ?? '', /\(`vman apply` starts it\)$/);
    assert.is(w.state, as);
    assert.equal(
      w.tracker.status().map((s) => [s.reason, s.restarts, s.nextRestartAt, s.restartPolicy]),
      [['Ended', 0, null, policy]],
    );
    assert.is(w.tracker.nextRestartAt(), undefined);
    assert.equal(
      w.notices.map((n) => [n.kind, n.kind === 'ended' ? n.restartAt : null]),
      [['ended', undefined]],
    );
    // `vman apply` by hand: the next reconcile sees it running; not a restart of the policy's.
    w.state = 'running';
    w.now += MIN;
    w.reconcile();
    assert.equal(w.tracker.book().partitions.a, {
      restarts: 0,
      consecutive: 0,
      runningSince: T0 + MIN,
      lastEnded: as,
    });
  }
});

test('tracker: a partition neither declared nor live is forgotten; one taken out of the wait keeps its count', () => {
  const w = new World('Always', { firstMs: 0, capMs: 0, healthyMs: MIN });
  w.end('shutdown');
  w.reconcile();
  assert.equal(w.tracker.book().partitions.a?.restarts, 1);
  w.end('crashed');
  w.reconcile();
  assert.equal(w.tracker.book().partitions.a?.restarts, 2);
  // Its manifest now says stopped: no hold is asked, the plan is a noop, the end is no longer waited on.
  w.end('crashed');
  w.tracker.planned(w.plan('noop'), w.live(), false);
  assert.equal(w.tracker.book().partitions.a?.ended, undefined);
  assert.equal(w.tracker.book().partitions.a?.restarts, 2);
  w.tracker.planned({ changes: [], steps: [], targets: {} }, { partitions: [], orphans: [] }, false);
  assert.equal(w.tracker.book(), EMPTY_BOOK);
  assert.ok(w.tracker.take(), 'changed since it was made');
  assert.is(w.tracker.take(), undefined, 'and not since it was taken');
});

test('property: restarts only as the policy says, never before their backoff, each one counted once', () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('end' as const), as: fc.constantFrom<Ending>('crashed', 'shutdown') }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 12 * MIN }) }),
    fc.record({
      kind: fc.constant('policy' as const),
      policy: fc.constantFrom<RestartPolicy>('Never', 'OnFailure', 'Always'),
    }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom<RestartPolicy>('Never', 'OnFailure', 'Always'),
      fc.array(step, { maxLength: 60 }),
      (policy, steps) => {
        const t = DEFAULT_RESTART_TIMING;
        const w = new World(policy);
        let seenEnd: { at: number; as: Ending } | undefined;
        let consecutive = 0;
        let runningSince: number | undefined;
        let restarts = 0;
        for (const s of steps) {
          if (s.kind === 'end' && w.state === 'running') w.end(s.as);
          else if (s.kind === 'wait') w.now += s.ms;
          else if (s.kind === 'policy') w.policy = s.policy;
          const before = w.state;
          if (before !== 'running' && !seenEnd) {
            seenEnd = { at: w.now, as: before as Ending };
            if (runningSince !== undefined && w.now - runningSince >= t.healthyMs) consecutive = 0;
          }
          w.reconcile();
          if (before !== 'running' && w.state === 'running') {
            // A restart: allowed by the policy of the moment, and only once its wait is over.
            assert.ok(restartsAfter(w.policy, seenEnd!.as), `${w.policy} restarted after ${seenEnd!.as}`);
            assert.ok(w.now - seenEnd!.at >= restartDelay(consecutive, t), 'restarted before its backoff');
            restarts++;
            consecutive++;
            runningSince = w.now;
            seenEnd = undefined;
          } else if (before !== 'running') {
            const next = w.tracker.nextRestartAt();
            assert.is(next !== undefined, restartsAfter(w.policy, seenEnd!.as));
            if (next !== undefined) assert.is(next, seenEnd!.at + restartDelay(consecutive, t));
          }
          assert.is(w.tracker.book().partitions.a?.restarts ?? 0, restarts);
        }
        assert.is(w.notices.filter((n) => n.kind === 'restart').length, restarts);
      },
    ),
    { seed: 0x21, numRuns: 300 },
  );
});

test('the book: written atomically and read back; damaged entries are dropped, a damaged file is empty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vman-restarts-'));
  try {
    assert.equal(await readRestartBook(dir), EMPTY_BOOK);
    const w = new World('OnFailure');
    w.end('crashed');
    w.reconcile();
    const book = w.tracker.book();
    await writeRestartBook(dir, book);
    assert.equal(await readRestartBook(dir), book);
    writeFileSync(
      join(dir, RESTART_BOOK_FILE),
      JSON.stringify({ version: 1, partitions: { a: book.partitions.a, b: { restarts: -1 }, c: 'x' } }),
    );
    assert.equal(Object.keys((await readRestartBook(dir)).partitions), ['a']);
    writeFileSync(join(dir, RESTART_BOOK_FILE), '{ half');
    assert.equal(await readRestartBook(dir), EMPTY_BOOK);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
