// The watch agent's decisions, as a pure state machine: which files have settled, when to
// reconcile (debounce), when to resync, and how long to back off after a failure. Time is an
// input (milliseconds on a monotonic clock), so tests drive it with a fake clock; the I/O shell
// (./agent.ts) turns the effects into stats, scans and reconciles and feeds their results back.
//
// The rules (SPEC "vman watch"; README "The file-drop agent"):
// - A file written in place counts once its stamp (size, mtime, ctime, inode) has been unchanged,
//   with no write event, for the settle time; a stat at the deadline confirms it.
// - A file that appears (created, renamed or linked into a watched directory) non-empty and sees
//   no write event afterwards arrived whole: a rename. In-place writers always create the file
//   first and write after, so their first write event follows the appearance; a rename brings
//   the bytes with it and is never followed by one. Any write event queued before our stat saw
//   the bytes is delivered before a short grace period ends, so waiting that long is enough.
// - A first sighting with no history (startup and resync scans; an image a manifest starts to
//   name) counts as settled when its mtime is at least the settle time old; otherwise it
//   settles like a write. (Writers that keep an old mtime, such as `cp -p`, set it only once
//   they have finished writing.)
// - Deletions count at once.
// - A reconcile starts when something changed, no watched file is still settling, a fresh scan
//   has been taken, the debounce window after the last change has passed (capped, so a stream
//   of changes cannot postpone it forever) and any failure backoff has expired.
// - After a failure the next attempt waits base * 2^(n-1), capped; a file change shortens the
//   wait to the base delay. Invalid manifests are not retried on a timer: files must change
//   (the periodic resync still looks again, and reports only problems not reported before).
// - The restart policy (../engine/restarts.ts) names when it next restarts a partition that ended
//   (`restart-at`); a reconcile starts then, like a resync, and the failure backoff still applies.
import type { ReconcileOutcome, Summary } from '../engine/reconcile.js';
import type { Diagnostic } from '../rules/diagnostic.js';

/** What identifies a file's state cheaply. */
export interface Stamp {
  readonly size: number;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
  readonly ino: number;
}

/** A stat result: the stamp, and how long ago (wall clock) the file was last modified (mtime). */
export interface Observation {
  readonly stamp: Stamp;
  readonly ageMs: number;
}

/** Why a reconcile runs, in order of precedence. */
export type Trigger = 'startup' | 'files' | 'retry' | 'restart' | 'resync';

/** How a reconcile ended (the engine's outcome). */
export type Outcome = ReconcileOutcome;
export type { Summary };
export type CoreInput =
  /** A directory entry was created, renamed in or out, or deleted (inotify create/move/delete). */
  | { readonly kind: 'appeared'; readonly path: string }
  /** A file's content or metadata was written (inotify modify/attrib). */
  | { readonly kind: 'wrote'; readonly path: string }
  /** Something may have changed at a path (a watcher's add/change/unlink): look again. */
  | { readonly kind: 'hint'; readonly path: string }
  /** A stat of one path (null: it does not exist). */
  | { readonly kind: 'observed'; readonly path: string; readonly seen: Observation | null }
  /** A scan of every watched path; `forget` lists paths no longer watched. */
  | {
      readonly kind: 'scanned';
      readonly seen: ReadonlyMap<string, Observation | null>;
      readonly forget: readonly string[];
    }
  | { readonly kind: 'tick' }
  | { readonly kind: 'reconciled'; readonly outcome: Outcome }
  /** The restart policy's next restart is due then (undefined: none is waited for). */
  | { readonly kind: 'restart-at'; readonly at: number | undefined }
  | { readonly kind: 'stop' };

/** What happened to a watched file, as reported to people. */
export type FileChange = 'arrived' | 'writing' | 'settled' | 'removed';

export type Effect =
  | { readonly kind: 'stat'; readonly path: string }
  | { readonly kind: 'scan' }
  | { readonly kind: 'reconcile'; readonly trigger: Trigger; readonly files: readonly string[] }
  | { readonly kind: 'file'; readonly path: string; readonly change: FileChange }
  | { readonly kind: 'resync' }
  | { readonly kind: 'problem'; readonly problem: Diagnostic }
  | { readonly kind: 'problems-cleared'; readonly count: number };

export interface CoreConfig {
  /** A written file counts after this long without change (--settle). */
  readonly settleMs: number;
  /** Live state is re-read this long after the last reconcile; 0 turns resync off (--resync). */
  readonly resyncMs: number;
  /** Quiet time after the last change before reconciling, so bursts coalesce. */
  readonly debounceMs: number;
  /** The debounce never postpones a reconcile longer than this after the first change. */
  readonly maxDelayMs: number;
  /** How long after seeing a newly appeared file we wait for a write event that would betray an in-place writer. */
  readonly graceMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
}

export const DEFAULT_SETTLE_MS = 500;
export const DEFAULT_RESYNC_MS = 60_000;
/** Trailing debounce: 20 files renamed in by a shell loop arrive well within 100 ms of each other. */
export const DEBOUNCE_MS = 100;
export const MAX_DELAY_MS = 2_000;
/** A write queued before our stat is delivered on the next event-loop turn; 25 ms leaves room for a busy machine. */
export const RENAME_GRACE_MS = 25;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 60_000;

/** The configuration with every tuning constant at its default. */
export function coreConfig(o: { settleMs?: number; resyncMs?: number } = {}): CoreConfig {
  return {
    settleMs: o.settleMs ?? DEFAULT_SETTLE_MS,
    resyncMs: o.resyncMs ?? DEFAULT_RESYNC_MS,
    debounceMs: DEBOUNCE_MS,
    maxDelayMs: MAX_DELAY_MS,
    graceMs: RENAME_GRACE_MS,
    backoffBaseMs: BACKOFF_BASE_MS,
    backoffCapMs: BACKOFF_CAP_MS,
  };
}

/** The delay before attempt n+1 after n consecutive failures (n >= 1). */
export function backoffDelay(failures: number, c: Pick<CoreConfig, 'backoffBaseMs' | 'backoffCapMs'>): number {
  const exp = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(c.backoffCapMs, c.backoffBaseMs * 2 ** exp);
}

type Phase = 'probing' | 'settling' | 'settled';

interface Track {
  phase: Phase;
  /** The last stamp seen; undefined until the first stat returns. */
  stamp: Stamp | undefined;
  /** Last activity (write event or stamp change): a settling file counts at quietSince + settle. */
  quietSince: number;
  /** Probing: when a stat first saw the newly appeared file non-empty (the grace runs from here). */
  seenAt: number | undefined;
  statPending: boolean;
  statAgain: boolean;
  /** It existed at some point, so its disappearance is a change. */
  existed: boolean;
}

/** What the status file and the events need to know of the core. */
export interface CoreView {
  readonly reconciling: boolean;
  readonly current: { readonly trigger: Trigger; readonly startedAt: number } | undefined;
  readonly dirty: boolean;
  readonly trigger: Trigger | undefined;
  /** Files not yet settled, sorted. */
  readonly pending: readonly string[];
  readonly failures: number;
  readonly retryAt: number | undefined;
  readonly resyncAt: number | undefined;
  /** When a partition that ended is restarted (the restart policy). */
  readonly restartAt: number | undefined;
  readonly last:
    | { readonly trigger: Trigger; readonly startedAt: number; readonly finishedAt: number; readonly outcome: Outcome }
    | undefined;
  /** The problems of the last invalid reconcile (each reported once). */
  readonly problems: readonly Diagnostic[];
  readonly stopping: boolean;
}

const RANK: Record<Trigger, number> = { startup: 0, files: 1, retry: 2, restart: 3, resync: 4 };

function sameStamp(a: Stamp | undefined, b: Stamp): boolean {
  return a !== undefined && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

/** A problem's identity: the same code, place and message is the same problem. */
export function problemKey(d: Diagnostic): string {
  const p = d.position;
  return [d.code, p?.file ?? '', p?.line ?? '', p?.column ?? '', d.message].join('\u0000');
}

export class WatchCore {
  private readonly tracks = new Map<string, Track>();
  private dirty = true;
  private trigger: Trigger | undefined = 'startup';
  /** First and last file change of the current dirty period (debounce); undefined when none. */
  private firstChangeAt: number | undefined;
  private lastChangeAt: number | undefined;
  private readonly changed = new Set<string>();
  /** A scan has been taken since the last change; reconciles only start on a fresh scan. */
  private scanFresh = false;
  private scanPending = false;
  private current: { trigger: Trigger; startedAt: number } | undefined;
  private last: CoreView['last'];
  private failures = 0;
  private retryAt: number | undefined;
  private resyncAt: number | undefined;
  private restartAt: number | undefined;
  private reported = new Map<string, Diagnostic>();
  private stopping = false;
  private effects: Effect[] = [];

  constructor(readonly config: CoreConfig) {}

  /** Feeds one input at time `now`; returns what the shell must do. */
  handle(input: CoreInput, now: number): Effect[] {
    this.effects = [];
    switch (input.kind) {
      case 'appeared':
        this.appeared(input.path, now);
        break;
      case 'wrote':
        this.wrote(input.path, now);
        break;
      case 'hint': {
        const t = this.tracks.get(input.path);
        if (t) this.requestStat(input.path, t);
        else this.effects.push({ kind: 'stat', path: input.path });
        break;
      }
      case 'observed': {
        const t = this.tracks.get(input.path);
        const again = t?.statAgain === true;
        if (t) {
          t.statPending = false;
          t.statAgain = false;
        }
        this.observe(input.path, input.seen, now, false);
        const after = this.tracks.get(input.path);
        if (again && after) this.requestStat(input.path, after);
        break;
      }
      case 'scanned': {
        this.scanPending = false;
        for (const p of input.forget) this.tracks.delete(p);
        for (const [p, seen] of input.seen) this.observe(p, seen, now, true);
        this.scanFresh = true;
        break;
      }
      case 'tick':
        this.tick(now);
        break;
      case 'reconciled':
        this.reconciled(input.outcome, now);
        break;
      case 'restart-at':
        this.restartAt = input.at;
        break;
      case 'stop':
        this.stopping = true;
        break;
    }
    this.maybeStart(now);
    return this.effects;
  }

  /** The earliest time the core wants a tick, or undefined when only events can move it. */
  wakeAt(): number | undefined {
    let at = Infinity;
    if (this.stopping) return undefined;
    let pending = false;
    for (const t of this.tracks.values()) {
      if (t.phase === 'settled') continue;
      pending = true;
      if (t.statPending) continue;
      if (t.phase === 'probing' && t.seenAt !== undefined) at = Math.min(at, t.seenAt + this.config.graceMs);
      if (t.phase === 'settling') at = Math.min(at, t.quietSince + this.config.settleMs);
    }
    if (!this.current && this.resyncAt !== undefined) at = Math.min(at, this.resyncAt);
    if (!this.current && this.restartAt !== undefined) at = Math.min(at, this.restartAt);
    if (this.dirty && !pending && !this.current && !this.scanPending) at = Math.min(at, this.startableAt());
    return at === Infinity ? undefined : at;
  }

  view(): CoreView {
    const pending = [...this.tracks]
      .filter(([, t]) => t.phase !== 'settled')
      .map(([p]) => p)
      .sort();
    return {
      reconciling: this.current !== undefined,
      current: this.current,
      dirty: this.dirty,
      trigger: this.trigger,
      pending,
      failures: this.failures,
      retryAt: this.retryAt,
      resyncAt: this.resyncAt,
      restartAt: this.restartAt,
      last: this.last,
      problems: [...this.reported.values()],
      stopping: this.stopping,
    };
  }

  private track(path: string, now: number): Track {
    let t = this.tracks.get(path);
    if (!t) {
      t = {
        phase: 'settled',
        stamp: undefined,
        quietSince: now,
        seenAt: undefined,
        statPending: false,
        statAgain: false,
        existed: false,
      };
      this.tracks.set(path, t);
    }
    return t;
  }

  private requestStat(path: string, t: Track): void {
    if (t.statPending) {
      t.statAgain = true;
      return;
    }
    t.statPending = true;
    this.effects.push({ kind: 'stat', path });
  }

  private appeared(path: string, now: number): void {
    const t = this.track(path, now);
    t.phase = 'probing';
    t.seenAt = undefined;
    t.quietSince = now;
    this.requestStat(path, t);
  }

  private wrote(path: string, now: number): void {
    const t = this.track(path, now);
    if (t.phase !== 'settling') this.effects.push({ kind: 'file', path, change: 'writing' });
    t.phase = 'settling';
    t.seenAt = undefined;
    t.quietSince = now;
    this.requestStat(path, t);
  }

  private observe(path: string, seen: Observation | null, now: number, fromScan: boolean): void {
    const t = this.tracks.get(path);
    if (!t) {
      if (!seen) return;
      // A first sighting: only its mtime tells how long it has been quiet.
      const quietSince = now - Math.max(0, seen.ageMs);
      const settled = seen.ageMs >= this.config.settleMs;
      this.tracks.set(path, {
        phase: settled ? 'settled' : 'settling',
        stamp: seen.stamp,
        quietSince,
        seenAt: undefined,
        statPending: false,
        statAgain: false,
        existed: true,
      });
      // A scan precedes the reconcile that reads what it found; anything else found a change.
      if (!settled) this.effects.push({ kind: 'file', path, change: 'writing' });
      else if (!fromScan) this.markChanged(path, now, 'arrived');
      return;
    }
    if (!seen) {
      this.tracks.delete(path);
      if (t.existed) this.markChanged(path, now, 'removed', !fromScan);
      return;
    }
    t.existed = true;
    switch (t.phase) {
      case 'probing': {
        if (
          seen.stamp.size === 0 ||
          (t.stamp !== undefined && t.seenAt !== undefined && !sameStamp(t.stamp, seen.stamp))
        ) {
          // Empty so far (an in-place writer is about to fill it), or it changed under us: settle.
          t.phase = 'settling';
          t.quietSince = now;
          t.seenAt = undefined;
          this.effects.push({ kind: 'file', path, change: 'writing' });
        } else if (t.seenAt === undefined) t.seenAt = now;
        t.stamp = seen.stamp;
        break;
      }
      case 'settling': {
        if (!sameStamp(t.stamp, seen.stamp)) {
          t.stamp = seen.stamp;
          t.quietSince = Math.max(t.quietSince, now);
        } else if (now >= t.quietSince + this.config.settleMs) {
          t.phase = 'settled';
          this.markChanged(path, now, 'settled');
        }
        break;
      }
      case 'settled': {
        if (!sameStamp(t.stamp, seen.stamp)) {
          // Changed without an event we saw: settle it like a write.
          t.stamp = seen.stamp;
          t.phase = 'settling';
          t.quietSince = now;
          this.effects.push({ kind: 'file', path, change: 'writing' });
        }
        break;
      }
    }
  }

  private markChanged(path: string, now: number, change: FileChange, debounce = true): void {
    this.effects.push({ kind: 'file', path, change });
    this.changed.add(path);
    this.dirty = true;
    this.setTrigger('files');
    if (debounce) {
      this.firstChangeAt ??= now;
      this.lastChangeAt = now;
      this.scanFresh = false;
    }
    // New input after a failure deserves a prompt retry, though never a hot loop.
    if (this.failures > 0 && this.retryAt !== undefined && this.last)
      this.retryAt = Math.min(this.retryAt, this.last.finishedAt + this.config.backoffBaseMs);
  }

  private setTrigger(t: Trigger): void {
    if (this.trigger === undefined || RANK[t] < RANK[this.trigger]) this.trigger = t;
  }

  private tick(now: number): void {
    for (const [path, t] of this.tracks) {
      if (t.statPending) continue;
      if (t.phase === 'probing' && t.seenAt !== undefined && now >= t.seenAt + this.config.graceMs) {
        // No write followed its appearance: it was renamed (or linked) in whole.
        t.phase = 'settled';
        t.seenAt = undefined;
        this.markChanged(path, now, 'arrived');
      } else if (t.phase === 'settling' && now >= t.quietSince + this.config.settleMs) {
        this.requestStat(path, t);
      }
    }
    if (!this.current && !this.stopping && this.resyncAt !== undefined && now >= this.resyncAt) {
      this.resyncAt = undefined;
      this.effects.push({ kind: 'resync' });
      this.dirty = true;
      this.scanFresh = false;
      this.setTrigger('resync');
    }
    if (!this.current && !this.stopping && this.restartAt !== undefined && now >= this.restartAt) {
      this.restartAt = undefined;
      this.dirty = true;
      this.scanFresh = false;
      this.setTrigger('restart');
    }
  }

  private startableAt(): number {
    let at = -Infinity;
    if (this.lastChangeAt !== undefined && this.firstChangeAt !== undefined)
      at = Math.min(this.lastChangeAt + this.config.debounceMs, this.firstChangeAt + this.config.maxDelayMs);
    if (this.failures > 0 && this.retryAt !== undefined) at = Math.max(at, this.retryAt);
    return at;
  }

  private maybeStart(now: number): void {
    if (this.stopping || this.current || this.scanPending || !this.dirty) return;
    for (const t of this.tracks.values()) if (t.phase !== 'settled') return;
    if (now < this.startableAt()) return;
    if (!this.scanFresh) {
      this.scanPending = true;
      this.effects.push({ kind: 'scan' });
      return;
    }
    const trigger = this.trigger ?? 'files';
    this.current = { trigger, startedAt: now };
    this.effects.push({ kind: 'reconcile', trigger, files: [...this.changed].sort() });
    this.changed.clear();
    this.dirty = false;
    this.trigger = undefined;
    this.firstChangeAt = undefined;
    this.lastChangeAt = undefined;
    this.scanFresh = false;
  }

  private reconciled(outcome: Outcome, now: number): void {
    const cur = this.current ?? { trigger: 'files' as Trigger, startedAt: now };
    this.current = undefined;
    this.last = { trigger: cur.trigger, startedAt: cur.startedAt, finishedAt: now, outcome };
    this.resyncAt = this.config.resyncMs > 0 ? now + this.config.resyncMs : undefined;
    switch (outcome.result) {
      case 'converged': {
        this.failures = 0;
        this.retryAt = undefined;
        if (this.reported.size) this.effects.push({ kind: 'problems-cleared', count: this.reported.size });
        this.reported = new Map();
        break;
      }
      case 'invalid': {
        this.failures = 0;
        this.retryAt = undefined;
        const next = new Map<string, Diagnostic>();
        for (const d of outcome.problems) {
          const k = problemKey(d);
          if (!this.reported.has(k) && !next.has(k)) this.effects.push({ kind: 'problem', problem: d });
          next.set(k, d);
        }
        this.reported = next;
        break;
      }
      case 'failed': {
        this.failures++;
        this.retryAt = now + backoffDelay(this.failures, this.config);
        this.dirty = true;
        this.setTrigger('retry');
        break;
      }
      case 'interrupted':
        break;
    }
  }
}
