// What the fleet agent reports in a Partition's `status` after each reconcile (SPEC "Fleets"): the
// live facts (state, cores, memory, devices, restarts), `observedGeneration`, and the conditions
// `Ready`, `Progressing` and `Degraded` with a reason and vman's own diagnostics as the message.
// Pure: the agent gathers the verdict's inputs and patches what this returns.
import type { Diagnostic } from '../rules/diagnostic.js';
import type { PowerState } from '../backends/types.js';

export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';

export interface Condition {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  /** Absent when there is nothing to say (kube-apiserver 1.20 turns an empty string into null and refuses it). */
  readonly message?: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration: number;
}

export interface PartitionStatusBody {
  readonly observedGeneration: number;
  /** The live state, or `absent` while the monitor holds nothing for it. */
  readonly state: PowerState | 'absent';
  readonly cpus: readonly number[];
  readonly memory: { readonly base: number; readonly size: number } | null;
  readonly devices: readonly string[];
  readonly restarts: number;
  /** One line on how it is: the Ready condition's message (null, which a merge patch removes, when none). */
  readonly message: string | null;
  readonly conditions: readonly Condition[];
}

/** The live partition as `vman status` reads it. */
export interface LiveFacts {
  readonly state: PowerState;
  readonly cpus: readonly number[];
  readonly memory: { readonly base: number; readonly size: number };
  readonly devices: readonly string[];
  /** What differs from the manifest (empty: in sync; null: unknown, the manifests are invalid). */
  readonly drift: readonly string[] | null;
}

/** Where a partition stands after a reconcile, most pressing first. */
export type Verdict =
  /** Its own resource cannot run here: design rules, schema, a nodeName that is not this device. */
  | { readonly kind: 'invalid'; readonly reason: string; readonly message: string }
  /** Another partition's problems (or the board's) stop every change on the device. */
  | { readonly kind: 'blocked'; readonly message: string }
  /** Its steps failed in the last apply; it was rolled back and is retried. */
  | { readonly kind: 'failed'; readonly message: string }
  /** Its OS ended by itself and the restart policy holds it: waiting to restart, or left ended. */
  | { readonly kind: 'ended'; readonly reason: 'CrashLoop' | 'Ended'; readonly message: string }
  /** The agent could not reconcile at all (monitor unreadable, say); it retries. */
  | { readonly kind: 'error'; readonly message: string }
  /** A reconcile is working on it now. */
  | { readonly kind: 'progressing'; readonly message: string }
  /** Live as declared. */
  | { readonly kind: 'converged' }
  /** Not (yet) as declared, for a reason the next reconcile acts on. */
  | { readonly kind: 'pending'; readonly message: string };

export interface StatusInput {
  readonly generation: number;
  /** spec.state as declared (running unless it says stopped). */
  readonly desiredState: 'running' | 'stopped';
  readonly live: LiveFacts | undefined;
  readonly verdict: Verdict;
  readonly restarts: number;
  /** The status last reported (for transition times, and a generation a blocked reconcile did not act on). */
  readonly previous?: Readonly<Record<string, unknown>>;
  readonly now: string;
}

/** One diagnostic as a line for a condition message: where in the spec, what, how to fix it. */
export function diagnosticLine(d: Diagnostic): string {
  const path = d.position?.path?.length ? `${d.position.path.join('.')}: ` : '';
  const hint = d.hint ? `; ${d.hint}` : '';
  return `${path}${d.message}${hint} [${d.code}]`;
}

function previousConditions(prev: Readonly<Record<string, unknown>> | undefined): Map<string, Condition> {
  const list = prev?.conditions;
  const out = new Map<string, Condition>();
  if (!Array.isArray(list)) return out;
  for (const c of list as unknown[]) {
    if (c && typeof c === 'object' && typeof (c as Condition).type === 'string')
      out.set((c as Condition).type, c as Condition);
  }
  return out;
}

function previousGeneration(prev: Readonly<Record<string, unknown>> | undefined): number {
  const g = prev?.observedGeneration;
  return typeof g === 'number' && Number.isSafeInteger(g) ? g : 0;
}

type Triple = readonly [status: Condition['status'], reason: string, message: string];

// Something keeps a partition from being as declared: Ready False (or Unknown), not Progressing,
// Degraded, all three with the same reason.
function failing(reason: string, message: string, ready: Condition['status'] = 'False') {
  return [
    [ready, reason, message],
    ['False', reason, ''],
    ['True', reason, message],
  ] as const;
}

// The three conditions for a verdict: [Ready, Progressing, Degraded].
function conditionsOf(v: Verdict, desired: 'running' | 'stopped', live: LiveFacts | undefined, prevReady?: Condition) {
  const liveLine = live ? `${live.state} on cores [${live.cpus.join(', ')}]` : 'not on the device';
  const notDegraded: Triple = ['False', 'AsExpected', ''];
  switch (v.kind) {
    case 'invalid':
    case 'ended':
      return failing(v.reason, v.message);
    case 'failed':
      return failing('ApplyFailed', v.message);
    case 'error':
      return failing('ReconcileError', v.message, 'Unknown');
    case 'blocked': {
      // Nothing ran: Ready stays as it was; the message says what waits.
      const ready: Triple = prevReady
        ? [prevReady.status, prevReady.reason, prevReady.message ?? '']
        : ['Unknown', 'Blocked', v.message];
      return [ready, ['False', 'Blocked', v.message], notDegraded] as const;
    }
    case 'progressing':
      return [['False', 'Progressing', v.message], ['True', 'Applying', v.message], notDegraded] as const;
    case 'converged': {
      const reason = desired === 'stopped' ? 'Stopped' : 'Running';
      return [['True', reason, `${liveLine}, as declared`], ['False', 'Converged', ''], notDegraded] as const;
    }
    case 'pending':
      return [['False', 'Pending', v.message], ['True', 'Pending', v.message], notDegraded] as const;
  }
}

/** The status body for a partition; a condition keeps its transition time while its status holds. */
export function partitionStatus(i: StatusInput): PartitionStatusBody {
  const prev = previousConditions(i.previous);
  // A reconcile acts on the generation it saw, unless another partition's problems kept it from acting.
  const observedGeneration = i.verdict.kind === 'blocked' ? previousGeneration(i.previous) : i.generation;
  const [ready, progressing, degraded] = conditionsOf(i.verdict, i.desiredState, i.live, prev.get('Ready'));
  const types = ['Ready', 'Progressing', 'Degraded'] as const;
  const conditions = [ready, progressing, degraded].map(([status, reason, message], k): Condition => {
    const type = types[k] as ConditionType;
    const before = prev.get(type);
    const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : i.now;
    return { type, status, reason, ...(message ? { message } : {}), lastTransitionTime, observedGeneration };
  });
  return {
    observedGeneration,
    state: i.live?.state ?? 'absent',
    cpus: i.live?.cpus ?? [],
    memory: i.live ? { base: i.live.memory.base, size: i.live.memory.size } : null,
    devices: i.live?.devices ?? [],
    restarts: i.restarts,
    message: ready[2] || null,
    conditions,
  };
}

/** Whether a partition is live as declared (`vman status` shows no drift and the right power state). */
export function inSync(live: LiveFacts | undefined, desired: 'running' | 'stopped'): boolean {
  if (!live || live.drift === null || live.drift.length) return false;
  return desired === 'stopped' ? live.state === 'stopped' : live.state === 'running';
}

/** A status body compared without its times: whether patching it would tell the API server anything. */
export function statusKey(s: PartitionStatusBody): string {
  return JSON.stringify({ ...s, conditions: s.conditions.map((c) => ({ ...c, lastTransitionTime: '' })) });
}
