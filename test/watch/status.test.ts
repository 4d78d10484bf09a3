// The status document: conditions from the core's view, transition times, the human summary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coreConfig, WatchCore, type CoreView } from '../../src/watch/core.js';
import type { RestartStatus } from '../../src/engine/restarts.js';
import {
  describeWatch,
  statusDocument,
  wantedConditions,
  withTransitions,
  type StatusInput,
} from '../../src/watch/status.js';

const iso = (t: number) => new Date(Date.UTC(2030, 0, 1) + t).toISOString();
const show = (p: string) => p.replace('/cfg/', '');

function input(view: CoreView, o: Partial<StatusInput> = {}): StatusInput {
  return {
    view,
    stopped: false,
    prev: [],
    pid: 42,
    pidStart: '777',
    startedAt: iso(0),
    now: iso(1000),
    configDir: '/cfg',
    stateDir: '/cfg/.vman',
    settleMs: 500,
    resyncMs: 60_000,
    iso,
    show,
    ...o,
  };
}

const table = (v: CoreView, stopped = false) =>
  Object.fromEntries(wantedConditions(v, { stopped, show, iso }).map((c) => [c.type, `${c.status} ${c.reason}`]));

test('conditions through a life: starting, reconciling, converged, waiting for files, invalid, failed, stopped', () => {
  const core = new WatchCore(coreConfig({ settleMs: 500, resyncMs: 60_000 }));
  assert.equal(table(core.view()), {
    Ready: 'False Starting',
    Reconciling: 'True ChangesPending',
    Stalled: 'False NoProblems',
  });
  core.handle({ kind: 'tick' }, 0);
  core.handle({ kind: 'scanned', seen: new Map(), forget: [] }, 1);
  assert.equal(table(core.view()), {
    Ready: 'False Starting',
    Reconciling: 'True Reconciling',
    Stalled: 'False NoProblems',
  });
  core.handle({ kind: 'reconciled', outcome: { result: 'converged', summary: { create: 1 }, stepsRun: 5 } }, 10);
  assert.equal(table(core.view()), { Ready: 'True Converged', Reconciling: 'False Idle', Stalled: 'False NoProblems' });
  core.handle({ kind: 'wrote', path: '/cfg/partitions.d/a.yaml' }, 20);
  assert.equal(table(core.view()), {
    Ready: 'False Reconciling',
    Reconciling: 'True WaitingForFiles',
    Stalled: 'False NoProblems',
  });
  const waiting = wantedConditions(core.view(), { stopped: false, show, iso }).find((c) => c.type === 'Reconciling');
  assert.is(waiting?.message, 'waiting for 1 file to settle: partitions.d/a.yaml');
  core.handle(
    {
      kind: 'observed',
      path: '/cfg/partitions.d/a.yaml',
      seen: { stamp: { size: 1, mtimeNs: '1', ctimeNs: '1', ino: 1 }, ageMs: 0 },
    },
    21,
  );
  core.handle({ kind: 'tick' }, 521);
  core.handle(
    {
      kind: 'observed',
      path: '/cfg/partitions.d/a.yaml',
      seen: { stamp: { size: 1, mtimeNs: '1', ctimeNs: '1', ino: 1 }, ageMs: 500 },
    },
    522,
  );
  core.handle({ kind: 'tick' }, 700);
  core.handle({ kind: 'scanned', seen: new Map(), forget: [] }, 701);
  core.handle(
    {
      kind: 'reconciled',
      outcome: {
        result: 'invalid',
        problems: [
          {
            code: 'VMAN-E205',
            message: 'cpus must be a count',
            position: { file: 'partitions.d/a.yaml', line: 6, column: 9 },
          },
        ],
      },
    },
    710,
  );
  assert.equal(table(core.view()), {
    Ready: 'False InvalidManifests',
    Reconciling: 'False Idle',
    Stalled: 'True InvalidManifests',
  });
  const stalled = wantedConditions(core.view(), { stopped: false, show, iso }).find((c) => c.type === 'Stalled');
  assert.is(stalled?.message, 'partitions.d/a.yaml:6:9: cpus must be a count [VMAN-E205]; nothing was changed');
  core.handle({ kind: 'appeared', path: '/cfg/partitions.d/a.yaml' }, 800);
  core.handle(
    {
      kind: 'observed',
      path: '/cfg/partitions.d/a.yaml',
      seen: { stamp: { size: 2, mtimeNs: '2', ctimeNs: '2', ino: 2 }, ageMs: 0 },
    },
    801,
  );
  core.handle({ kind: 'tick' }, 826);
  core.handle({ kind: 'tick' }, 926);
  core.handle({ kind: 'scanned', seen: new Map(), forget: [] }, 927);
  core.handle({ kind: 'reconciled', outcome: { result: 'failed', error: 'locked by PID 9 (apply, since x)' } }, 930);
  assert.equal(table(core.view()), {
    Ready: 'False ReconcileFailed',
    Reconciling: 'False BackingOff',
    Stalled: 'True ReconcileFailed',
  });
  const failed = wantedConditions(core.view(), { stopped: false, show, iso }).find((c) => c.type === 'Stalled');
  assert.is(failed?.message, `locked by PID 9 (apply, since x); attempt 2 at ${iso(1930)}`);
  core.handle({ kind: 'stop' }, 940);
  assert.equal(table(core.view(), true), {
    Ready: 'False Stopped',
    Reconciling: 'False Stopped',
    Stalled: 'True ReconcileFailed',
  });
});

test('a condition keeps its transition time while its status stays', () => {
  const first = withTransitions([], [{ type: 'Ready', status: 'False', reason: 'Starting', message: 'a' }], 'T1');
  const same = withTransitions(first, [{ type: 'Ready', status: 'False', reason: 'Reconciling', message: 'b' }], 'T2');
  const flipped = withTransitions(same, [{ type: 'Ready', status: 'True', reason: 'Converged', message: 'c' }], 'T3');
  assert.equal(
    [first[0]?.lastTransitionTime, same[0]?.lastTransitionTime, flipped[0]?.lastTransitionTime],
    ['T1', 'T1', 'T3'],
  );
  assert.is(same[0]?.reason, 'Reconciling');
});

test('the document: last reconcile, retry and resync times, problems', () => {
  const core = new WatchCore(coreConfig({ settleMs: 500, resyncMs: 60_000 }));
  core.handle({ kind: 'tick' }, 0);
  core.handle({ kind: 'scanned', seen: new Map(), forget: [] }, 1);
  core.handle(
    { kind: 'reconciled', outcome: { result: 'converged', summary: { create: 2, delete: 0, noop: 1 }, stepsRun: 10 } },
    251,
  );
  const doc = statusDocument(input(core.view()));
  assert.equal(doc.lastReconcile, {
    trigger: 'startup',
    startedAt: iso(1),
    finishedAt: iso(251),
    ms: 250,
    result: 'converged',
    summary: { create: 2, delete: 0, noop: 1 },
    stepsRun: 10,
  });
  assert.is(doc.nextResyncAt, iso(60_251));
  assert.is(doc.nextRetryAt, null);
  assert.equal(
    doc.conditions.map((c) => [c.type, c.status, c.lastTransitionTime]),
    [
      ['Ready', 'True', iso(1000)],
      ['Reconciling', 'False', iso(1000)],
      ['Stalled', 'False', iso(1000)],
    ],
  );
  assert.is(doc.state, 'running');
  assert.equal(describeWatch(doc, true), [
    `Watch agent: running (PID 42, since ${iso(0)}; settle 500ms, resync 60s)`,
    '  Ready:       yes (Converged) the live state matches partitions.d/; the last reconcile ran 10 steps',
    '  Reconciling: no (Idle) nothing to do until files change or the next resync',
    '  Stalled:     no (NoProblems) the last reconcile met no problem',
    `  Last reconcile: converged at ${iso(251)} (startup, 250ms; 2 create)`,
  ]);
  const stopped = statusDocument(input(core.view(), { stopped: true, prev: doc.conditions, now: iso(5000) }));
  assert.is(stopped.state, 'stopped');
  assert.is(stopped.nextResyncAt, null);
  assert.equal(
    stopped.conditions.map((c) => [c.type, c.reason, c.lastTransitionTime]),
    [
      ['Ready', 'Stopped', iso(5000)],
      ['Reconciling', 'Stopped', iso(1000)],
      ['Stalled', 'NoProblems', iso(1000)],
    ],
  );
  assert.equal(describeWatch(stopped, false)[0], `Watch agent: not running (stopped at ${iso(5000)})`);
  assert.equal(
    describeWatch(doc, false)[0],
    `Watch agent: not running (PID 42 ended without stopping cleanly; last update ${iso(1000)})`,
  );
});

test('restarts: CrashLoop while a restart is waited for, Ended while a policy leaves a partition so', () => {
  const core = new WatchCore(coreConfig({ settleMs: 500, resyncMs: 60_000 }));
  core.handle({ kind: 'tick' }, 0);
  core.handle({ kind: 'scanned', seen: new Map(), forget: [] }, 1);
  core.handle({ kind: 'reconciled', outcome: { result: 'converged', summary: {}, stepsRun: 0 } }, 10);
  const entry = (partition: string, reason: RestartStatus['reason'], message: string | null): RestartStatus => ({
    partition,
    restarts: 2,
    reason,
    message,
    ended: reason ? 'crashed' : null,
    endedAt: reason ? iso(5) : null,
    restartPolicy: reason ? 'OnFailure' : null,
    nextRestartAt: reason === 'CrashLoop' ? iso(40_005) : null,
    lastRestartAt: iso(0),
  });
  const loop = entry(
    'a',
    'CrashLoop',
    '`a` crashed; restartPolicy OnFailure restarts it at T (restart 3, after 40s of backoff)',
  );
  const left = entry('b', 'Ended', '`b` crashed; restartPolicy Never leaves it so (`vman apply` starts it)');
  const quiet = entry('c', null, null);
  const ready = (restarts: RestartStatus[]) =>
    wantedConditions(core.view(), { stopped: false, show, iso, restarts }).find((c) => c.type === 'Ready');
  assert.equal(ready([quiet])?.reason, 'Converged');
  assert.equal(ready([quiet, left]), { type: 'Ready', status: 'False', reason: 'Ended', message: left.message });
  assert.equal(ready([left, loop, { ...loop, partition: 'd' }]), {
    type: 'Ready',
    status: 'False',
    reason: 'CrashLoop',
    message: `${loop.message} (and 1 more partition)`,
  });
  // A failed reconcile says more than a crash loop.
  core.handle({ kind: 'reconciled', outcome: { result: 'failed', error: 'boom' } }, 20);
  assert.equal(ready([loop])?.reason, 'ReconcileFailed');
  const doc = statusDocument(input(core.view(), { restarts: [loop, quiet] }));
  assert.equal(doc.restarts, [loop, quiet]);
  assert.equal(describeWatch(doc, true).slice(-1), [`  CrashLoop: ${loop.message}`]);
  assert.equal(statusDocument(input(core.view())).restarts, []);
});

test.run();
