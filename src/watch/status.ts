// The watch agent's status for people and programs (STATE/watch.json): Kubernetes-style
// conditions (Ready, Reconciling, Stalled) derived from the core's view, plus what the last
// reconcile did. Pure: times come in as functions and strings.
import type { CoreView, Outcome, Summary, Trigger } from './core.js';
import { problemJson, type ProblemJson } from './events.js';

export const STATUS_FILE = 'watch.json';

export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled';

export interface Condition {
  readonly type: ConditionType;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  /** When `status` last flipped (ISO 8601). */
  readonly lastTransitionTime: string;
}

export interface LastReconcile {
  readonly trigger: Trigger;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ms: number;
  readonly result: Outcome['result'];
  readonly summary: Summary | null;
  readonly stepsRun: number;
  readonly error?: string;
}

export interface WatchStatus {
  readonly apiVersion: 'vman.dev/v1alpha1';
  readonly kind: 'WatchStatus';
  readonly pid: number;
  /** The process start time (from /proc), to tell a live agent from a reused pid. */
  readonly pidStart: string;
  readonly state: 'running' | 'stopped';
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly configDir: string;
  readonly stateDir: string;
  readonly settleMs: number;
  readonly resyncMs: number;
  readonly conditions: readonly Condition[];
  readonly lastReconcile: LastReconcile | null;
  /** Files seen changing that have not settled yet. */
  readonly pending: readonly string[];
  readonly failures: number;
  readonly nextRetryAt: string | null;
  readonly nextResyncAt: string | null;
  /** The problems of the last reconcile, when the manifests were invalid. */
  readonly problems: readonly ProblemJson[];
}

type Wanted = Omit<Condition, 'lastTransitionTime'>;

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function listFiles(files: readonly string[]): string {
  const shown = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${shown} and ${files.length - 3} more` : shown;
}

function firstProblem(view: CoreView): string {
  const d = view.problems[0];
  if (!d) return 'the manifests are invalid';
  const where = d.position ? `${d.position.file}:${d.position.line}:${d.position.column}: ` : '';
  const more = view.problems.length > 1 ? ` (and ${plural(view.problems.length - 1, 'more problem')})` : '';
  return `${where}${d.message} [${d.code}]${more}; nothing was changed`;
}

/** The conditions the view calls for, before transition times. */
export function wantedConditions(
  view: CoreView,
  o: { stopped: boolean; show: (path: string) => string; iso: (t: number) => string },
): Wanted[] {
  const last = view.last?.outcome;
  const pending = view.pending.map(o.show);
  let stalled: Wanted = {
    type: 'Stalled',
    status: 'False',
    reason: 'NoProblems',
    message: 'the last reconcile met no problem',
  };
  if (last?.result === 'invalid')
    stalled = { type: 'Stalled', status: 'True', reason: 'InvalidManifests', message: firstProblem(view) };
  else if (last?.result === 'failed') {
    const retry =
      view.retryAt !== undefined && !o.stopped ? `; attempt ${view.failures + 1} at ${o.iso(view.retryAt)}` : '';
    stalled = { type: 'Stalled', status: 'True', reason: 'ReconcileFailed', message: `${last.error}${retry}` };
  }

  let reconciling: Wanted;
  if (o.stopped)
    reconciling = { type: 'Reconciling', status: 'False', reason: 'Stopped', message: 'vman watch is not running' };
  else if (view.current)
    reconciling = {
      type: 'Reconciling',
      status: 'True',
      reason: 'Reconciling',
      message: `reconcile started by ${view.current.trigger}`,
    };
  else if (pending.length)
    reconciling = {
      type: 'Reconciling',
      status: 'True',
      reason: 'WaitingForFiles',
      message: `waiting for ${plural(pending.length, 'file')} to settle: ${listFiles(pending)}`,
    };
  else if (view.dirty && view.failures > 0 && view.retryAt !== undefined)
    reconciling = {
      type: 'Reconciling',
      status: 'False',
      reason: 'BackingOff',
      message: `attempt ${view.failures + 1} at ${o.iso(view.retryAt)}`,
    };
  else if (view.dirty)
    reconciling = {
      type: 'Reconciling',
      status: 'True',
      reason: 'ChangesPending',
      message: `a reconcile (${view.trigger ?? 'files'}) starts shortly`,
    };
  else
    reconciling = {
      type: 'Reconciling',
      status: 'False',
      reason: 'Idle',
      message: 'nothing to do until files change or the next resync',
    };

  let ready: Wanted;
  if (o.stopped) ready = { type: 'Ready', status: 'False', reason: 'Stopped', message: 'vman watch is not running' };
  else if (!last)
    ready = { type: 'Ready', status: 'False', reason: 'Starting', message: 'no reconcile has finished yet' };
  else if (last.result === 'invalid' || last.result === 'failed')
    ready = { type: 'Ready', status: 'False', reason: stalled.reason, message: stalled.message };
  else if (last.result === 'interrupted')
    ready = { type: 'Ready', status: 'False', reason: 'Interrupted', message: 'the last reconcile was interrupted' };
  else if (reconciling.status === 'True')
    ready = { type: 'Ready', status: 'False', reason: 'Reconciling', message: reconciling.message };
  else {
    const steps = last.stepsRun ? `; the last reconcile ran ${plural(last.stepsRun, 'step')}` : '';
    ready = {
      type: 'Ready',
      status: 'True',
      reason: 'Converged',
      message: `the live state matches partitions.d/${steps}`,
    };
  }
  return [ready, reconciling, stalled];
}

/** Adds transition times: a condition keeps its time while its status stays the same. */
export function withTransitions(prev: readonly Condition[], wanted: readonly Wanted[], now: string): Condition[] {
  return wanted.map((w) => {
    const p = prev.find((c) => c.type === w.type);
    return { ...w, lastTransitionTime: p && p.status === w.status ? p.lastTransitionTime : now };
  });
}

export interface StatusInput {
  readonly view: CoreView;
  readonly stopped: boolean;
  readonly prev: readonly Condition[];
  readonly pid: number;
  readonly pidStart: string;
  readonly startedAt: string;
  readonly now: string;
  readonly configDir: string;
  readonly stateDir: string;
  readonly settleMs: number;
  readonly resyncMs: number;
  /** Monotonic ms → ISO 8601. */
  readonly iso: (t: number) => string;
  readonly show: (path: string) => string;
}

/** The whole status document. */
export function statusDocument(s: StatusInput): WatchStatus {
  const { view } = s;
  const last = view.last;
  const o = last?.outcome;
  return {
    apiVersion: 'vman.dev/v1alpha1',
    kind: 'WatchStatus',
    pid: s.pid,
    pidStart: s.pidStart,
    state: s.stopped ? 'stopped' : 'running',
    startedAt: s.startedAt,
    updatedAt: s.now,
    configDir: s.configDir,
    stateDir: s.stateDir,
    settleMs: s.settleMs,
    resyncMs: s.resyncMs,
    conditions: withTransitions(s.prev, wantedConditions(view, s), s.now),
    lastReconcile:
      last && o
        ? {
            trigger: last.trigger,
            startedAt: s.iso(last.startedAt),
            finishedAt: s.iso(last.finishedAt),
            ms: Math.round(last.finishedAt - last.startedAt),
            result: o.result,
            summary: o.result === 'invalid' ? null : (o.summary ?? null),
            stepsRun: o.result === 'invalid' ? 0 : (o.stepsRun ?? 0),
            ...(o.result === 'failed' ? { error: o.error } : {}),
          }
        : null,
    pending: view.pending.map(s.show),
    failures: view.failures,
    nextRetryAt: view.failures > 0 && view.retryAt !== undefined && !s.stopped ? s.iso(view.retryAt) : null,
    nextResyncAt: view.resyncAt !== undefined && !s.stopped ? s.iso(view.resyncAt) : null,
    problems: view.problems.map(problemJson),
  };
}

/** `vman status`'s lines about the agent. */
export function describeWatch(w: WatchStatus, running: boolean): string[] {
  const cond = (t: ConditionType) => w.conditions.find((c) => c.type === t);
  const lines: string[] = [];
  if (running)
    lines.push(
      `Watch agent: running (PID ${w.pid}, since ${w.startedAt}; ` +
        `settle ${w.settleMs}ms, resync ${w.resyncMs ? `${w.resyncMs / 1000}s` : 'off'})`,
    );
  else if (w.state === 'stopped') lines.push(`Watch agent: not running (stopped at ${w.updatedAt})`);
  else lines.push(`Watch agent: not running (PID ${w.pid} ended without stopping cleanly; last update ${w.updatedAt})`);
  if (running) {
    for (const t of ['Ready', 'Reconciling', 'Stalled'] as const) {
      const c = cond(t);
      if (c) lines.push(`  ${`${t}:`.padEnd(13)}${c.status === 'True' ? 'yes' : 'no'} (${c.reason}) ${c.message}`);
    }
  }
  const l = w.lastReconcile;
  if (l) {
    const counts = l.summary
      ? Object.entries(l.summary)
          .filter(([k, n]) => k !== 'noop' && n > 0)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')
      : '';
    lines.push(
      `  Last reconcile${running ? '' : ' before it stopped'}: ${l.result} at ${l.finishedAt} ` +
        `(${l.trigger}, ${l.ms}ms${counts ? `; ${counts}` : ''}${l.error ? `; ${l.error}` : ''})`,
    );
  }
  // A stopped agent's problems are history: the files may have been fixed since (status checks them afresh).
  if (running && w.problems.length)
    lines.push(`  ${plural(w.problems.length, 'problem')} in the manifests (see \`vman validate\`)`);
  return lines;
}
