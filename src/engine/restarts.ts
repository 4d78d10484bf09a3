// The restart policy (SPEC `spec.restartPolicy`) as the level-triggered agents run it (`vman watch`;
// later the fleet agent), in pure decisions: whether a partition whose OS ended by itself is started
// again, and when. `Never` leaves it ended; `OnFailure` restarts it after a crash; `Always` after a
// crash or a power-off. Restarts back off as Kubernetes' kubelet does (CrashLoopBackOff): 10 s, doubling
// up to 5 min, and back to 10 s once the partition has run 10 min without ending. `vman plan` and
// `vman apply` ask nothing of it: a partition that ended is planned as a `start`, and a hand-run apply
// starts it whatever its policy.
//
// The book keeps, per partition, what the agent did and is waiting for (restart count, the end being
// backed off from); the agent keeps it in STATE/restarts.json (./restart-book.ts), so that an agent
// started again carries on with the same count and backoff. Times are wall-clock milliseconds since
// the epoch, for that reason.
import type { LiveState } from '../backends/types.js';
import type { EndedPartition } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import type { RestartPolicy } from '../manifest/types.js';

export type { EndedPartition };

/** How a partition's OS ended by itself. */
export type Ending = EndedPartition['ended'];

/** The backoff's durations (ms). */
export interface RestartTiming {
  /** Before the first restart in a row. */
  readonly firstMs: number;
  /** The longest wait, however many restarts in a row. */
  readonly capMs: number;
  /** A partition that ran this long without ending starts its backoff afresh. */
  readonly healthyMs: number;
}

/** Kubernetes' values: 10 s, doubling to 5 min, reset after 10 min of running. */
export const DEFAULT_RESTART_TIMING: RestartTiming = { firstMs: 10_000, capMs: 300_000, healthyMs: 600_000 };

/** Whether `policy` restarts a partition that ended so. */
export function restartsAfter(policy: RestartPolicy, ending: Ending): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && ending === 'crashed');
}

/** The wait before a restart that follows `consecutive` restarts in a row: first · 2^consecutive, capped. */
export function restartDelay(consecutive: number, t: RestartTiming): number {
  const n = Math.min(Math.max(0, Math.floor(consecutive)), 40);
  return Math.min(t.capMs, t.firstMs * 2 ** n);
}

/** What the book holds of one partition. */
export interface RestartEntry {
  /** Restarts the agent made (Kubernetes' restartCount); kept while the partition is declared or live. */
  readonly restarts: number;
  /** Restarts in a row, none after a run of `healthyMs`: the backoff's exponent. */
  readonly consecutive: number;
  /** Since when it runs as far as the agent knows: its last restart, or when it was seen running again. */
  readonly runningSince?: number;
  readonly lastRestartAt?: number;
  /** How it ended before its last restart (for messages). */
  readonly lastEnded?: Ending;
  /** It ended and has not run since: how, and when the agent first saw it so. */
  readonly ended?: { readonly as: Ending; readonly at: number };
  /** While ended: the policy that decided, and when the agent starts it again (absent: it is left ended). */
  readonly policy?: RestartPolicy;
  readonly restartAt?: number;
}

/** STATE/restarts.json. */
export interface RestartBook {
  readonly version: 1;
  readonly partitions: Readonly<Record<string, RestartEntry>>;
}

export const EMPTY_BOOK: RestartBook = { version: 1, partitions: {} };

/** What the policy decides about a partition that ended: start it now, wait until `restartAt`, or leave it. */
export type Verdict =
  | { readonly kind: 'restart'; readonly entry: RestartEntry }
  | { readonly kind: 'wait'; readonly entry: RestartEntry; readonly restartAt: number }
  | { readonly kind: 'leave'; readonly entry: RestartEntry };

/** Decides about a partition whose OS ended (`now` in ms since the epoch); the entry is the book's next one. */
export function judge(entry: RestartEntry | undefined, p: EndedPartition, now: number, t: RestartTiming): Verdict {
  let e: RestartEntry = entry ?? { restarts: 0, consecutive: 0 };
  if (!e.ended) {
    // First sight of this end: a run of `healthyMs` or more before it starts the backoff afresh.
    const healthy = e.runningSince !== undefined && now - e.runningSince >= t.healthyMs;
    e = { ...e, consecutive: healthy ? 0 : e.consecutive, ended: { as: p.ended, at: now } };
  } else if (e.ended.as !== p.ended) e = { ...e, ended: { as: p.ended, at: e.ended.at } };
  const { restartAt: _, ...rest } = e;
  if (!restartsAfter(p.policy, p.ended)) return { kind: 'leave', entry: { ...rest, policy: p.policy } };
  const at = (e.ended?.at ?? now) + restartDelay(e.consecutive, t);
  const next = { ...rest, policy: p.policy, restartAt: at };
  return now >= at ? { kind: 'restart', entry: next } : { kind: 'wait', entry: next, restartAt: at };
}

/** The entry once the agent has started the partition again. */
export function restarted(e: RestartEntry, now: number): RestartEntry {
  const { ended, restartAt: _r, policy: _p, ...rest } = e;
  return {
    ...rest,
    restarts: e.restarts + 1,
    consecutive: e.consecutive + 1,
    runningSince: now,
    lastRestartAt: now,
    ...(ended ? { lastEnded: ended.as } : {}),
  };
}

/** The entry of a partition seen running: an end it was waiting on is over; a long enough run resets the backoff. */
export function seenRunning(e: RestartEntry, now: number, t: RestartTiming): RestartEntry {
  let next = e;
  if (e.ended) {
    // Started by someone else (`vman apply`, a libvirt client): it runs from now on.
    const { ended, restartAt: _r, policy: _p, ...rest } = e;
    next = { ...rest, runningSince: now, lastEnded: ended.as };
  }
  if (next.consecutive > 0 && next.runningSince !== undefined && now - next.runningSince >= t.healthyMs)
    next = { ...next, consecutive: 0 };
  return next;
}

/** The entry of a partition that is no longer an end waited on (stopped by its manifest, changed, taken down). */
export function notEnded(e: RestartEntry): RestartEntry {
  if (!e.ended) return e;
  const { ended, restartAt: _r, policy: _p, ...rest } = e;
  return { ...rest, lastEnded: ended.as };
}

const ENDED: Readonly<Record<Ending, string>> = { crashed: 'crashed', shutdown: 'powered off' };
const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`);

/** Why a held partition stays ended, as the plan's noop and the status say it. */
export function verdictMessage(name: string, v: Verdict, t: RestartTiming): string {
  const e = v.entry;
  const how = ENDED[e.ended?.as ?? 'crashed'];
  const policy = e.policy ?? 'Never';
  if (v.kind === 'leave') {
    const why = policy === 'OnFailure' ? 'restarts it after a crash only' : 'leaves it so';
    return `\`${name}\` ${how}; restartPolicy ${policy} ${why} (\`vman apply\` starts it)`;
  }
  const wait = seconds(restartDelay(e.consecutive, t));
  const at = iso(v.kind === 'wait' ? v.restartAt : (e.restartAt ?? 0));
  const nth = `restart ${e.restarts + 1}, after ${wait} of backoff`;
  return `\`${name}\` ${how}; restartPolicy ${policy} restarts it at ${at} (${nth})`;
}

/** What the agent reports about restarts (as events). */
export type RestartNotice =
  | {
      readonly kind: 'ended';
      readonly partition: string;
      readonly ended: Ending;
      readonly policy: RestartPolicy;
      readonly restarts: number;
      /** When it is restarted; undefined when its policy leaves it ended. */
      readonly restartAt: number | undefined;
      readonly message: string;
    }
  | {
      readonly kind: 'restart';
      readonly partition: string;
      readonly ended: Ending;
      readonly policy: RestartPolicy;
      /** This one included. */
      readonly restarts: number;
      readonly message: string;
    };

/** One partition's restarts, as the status file shows them. */
export interface RestartStatus {
  readonly partition: string;
  readonly restarts: number;
  /** `CrashLoop` while a restart is waited for, `Ended` while its policy leaves it ended, else null. */
  readonly reason: 'CrashLoop' | 'Ended' | null;
  readonly message: string | null;
  readonly ended: Ending | null;
  readonly endedAt: string | null;
  readonly restartPolicy: RestartPolicy | null;
  readonly nextRestartAt: string | null;
  readonly lastRestartAt: string | null;
}

/**
 * The restart policy over an agent's reconciles. Each planning asks `hold` about every partition that
 * ended (PlanOptions.holdEnded), then tells `planned` what it planned; `drain` hands over what to report.
 */
export class RestartTracker {
  private entries: Map<string, RestartEntry>;
  /** What `hold` decided during the current planning. */
  private readonly asked = new Map<string, Verdict>();
  private notices: RestartNotice[] = [];
  /** The book changed since the last `take`. */
  private dirty = false;

  constructor(
    book: RestartBook,
    readonly timing: RestartTiming = DEFAULT_RESTART_TIMING,
    private readonly clock: () => number = Date.now,
  ) {
    this.entries = new Map(Object.entries(book.partitions));
  }

  /** PlanOptions.holdEnded: undefined starts the partition now, a reason holds it back. */
  readonly hold = (p: EndedPartition): string | undefined => {
    const before = this.entries.get(p.name);
    const v = judge(before, p, this.clock(), this.timing);
    this.asked.set(p.name, v);
    this.set(p.name, v.entry);
    if (!before?.ended) {
      const restartAt = v.kind === 'leave' ? undefined : v.entry.restartAt;
      this.notices.push({
        kind: 'ended',
        partition: p.name,
        ended: p.ended,
        policy: p.policy,
        restarts: v.entry.restarts,
        restartAt,
        message: verdictMessage(p.name, v, this.timing),
      });
    }
    return v.kind === 'restart' ? undefined : verdictMessage(p.name, v, this.timing);
  };

  /**
   * After each planning: `plan` was made against `live`; `runs` says its steps run next (under the lock),
   * so a restart the policy allowed is counted now, before its steps.
   */
  planned(plan: Plan, live: LiveState, runs: boolean): void {
    const now = this.clock();
    const known = new Set([...plan.changes.map((c) => c.partition), ...live.partitions.map((p) => p.name)]);
    const power = new Map(live.partitions.map((p) => [p.name, p.state]));
    const action = new Map(plan.changes.map((c) => [c.partition, c.action]));
    for (const [name, e] of [...this.entries]) {
      // Neither declared nor live: a partition of that name later is another one.
      if (!known.has(name)) {
        this.entries.delete(name);
        this.dirty = true;
        continue;
      }
      const v = this.asked.get(name);
      if (v) {
        if (v.kind === 'restart' && runs && action.get(name) === 'start') {
          const next = restarted(e, now);
          this.set(name, next);
          this.notices.push({
            kind: 'restart',
            partition: name,
            ended: e.ended?.as ?? 'crashed',
            policy: e.policy ?? 'Never',
            restarts: next.restarts,
            message:
              `restarting \`${name}\` (${ENDED[e.ended?.as ?? 'crashed']}; restartPolicy ${e.policy ?? 'Never'}; ` +
              `restart ${next.restarts})`,
          });
        }
        continue;
      }
      this.set(name, power.get(name) === 'running' ? seenRunning(e, now, this.timing) : notEnded(e));
    }
    this.asked.clear();
  }

  /** The notices since the last call. */
  drain(): RestartNotice[] {
    const n = this.notices;
    this.notices = [];
    return n;
  }

  /** The book, when it changed since the last call (to be saved); undefined otherwise. */
  take(): RestartBook | undefined {
    if (!this.dirty) return undefined;
    this.dirty = false;
    return this.book();
  }

  book(): RestartBook {
    const partitions: Record<string, RestartEntry> = {};
    for (const name of [...this.entries.keys()].sort()) partitions[name] = this.entries.get(name)!;
    return { version: 1, partitions };
  }

  /** The earliest restart waited for (ms since the epoch), if any. */
  nextRestartAt(): number | undefined {
    let at: number | undefined;
    for (const e of this.entries.values())
      if (e.ended && e.restartAt !== undefined && (at === undefined || e.restartAt < at)) at = e.restartAt;
    return at;
  }

  /** Every partition the book knows, for the status file. */
  status(): RestartStatus[] {
    return [...this.entries.keys()].sort().map((name) => {
      const e = this.entries.get(name)!;
      const waiting = e.ended !== undefined && e.restartAt !== undefined;
      const v: Verdict | undefined = e.ended
        ? waiting
          ? { kind: 'wait', entry: e, restartAt: e.restartAt! }
          : { kind: 'leave', entry: e }
        : undefined;
      return {
        partition: name,
        restarts: e.restarts,
        reason: v ? (waiting ? 'CrashLoop' : 'Ended') : null,
        message: v ? verdictMessage(name, v, this.timing) : null,
        ended: e.ended?.as ?? null,
        endedAt: e.ended ? iso(e.ended.at) : null,
        restartPolicy: e.ended ? (e.policy ?? null) : null,
        nextRestartAt: waiting ? iso(e.restartAt!) : null,
        lastRestartAt: e.lastRestartAt !== undefined ? iso(e.lastRestartAt) : null,
      };
    });
  }

  private set(name: string, e: RestartEntry): void {
    const before = this.entries.get(name);
    if (before && JSON.stringify(before) === JSON.stringify(e)) return;
    this.entries.set(name, e);
    this.dirty = true;
  }
}
