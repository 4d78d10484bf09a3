// A fake world for the watch core: a clock, a file system of stamps, inotify-like events for what
// writers do, and I/O that answers the core's stats, scans and reconciles after a latency. Tests
// script writers against it and read back what the core decided, and when.
import {
  WatchCore,
  coreConfig,
  type CoreConfig,
  type CoreInput,
  type Effect,
  type Outcome,
  type Stamp,
  type Trigger,
} from '../../src/watch/core.js';

interface FakeFile {
  size: number;
  mtime: number;
  ctime: number;
  ino: number;
}

export interface Logged {
  readonly at: number;
  /** The number of the input that caused it. */
  readonly n: number;
  readonly effect: Effect;
  /** Files the core still counted as unsettled when it asked for a reconcile. */
  readonly pendingAtStart?: readonly string[];
}

/** How the fake reconcile answers: an outcome, after a duration. */
export type Responder = (trigger: Trigger, files: readonly string[], n: number) => { outcome: Outcome; ms: number };

const converged = (): Outcome => ({ result: 'converged', summary: {}, stepsRun: 0 });

export class World {
  now = 0;
  readonly core: WatchCore;
  readonly files = new Map<string, FakeFile>();
  readonly log: Logged[] = [];
  private io: { at: number; seq: number; input: CoreInput }[] = [];
  private seq = 0;
  private nextIno = 100;
  private readonly known = new Set<string>();
  /** When (time, input number) each path was written in place, and when it appeared (for property checks). */
  readonly writes = new Map<string, { at: number; n: number }[]>();
  readonly appearances = new Map<string, { at: number; n: number }[]>();
  private inputs = 0;
  /** Ticks after which the core still wanted a tick at or before that time (should never happen). */
  readonly stuckTicks: number[] = [];
  reconciles = 0;
  running = 0;
  maxRunning = 0;

  constructor(
    readonly config: CoreConfig = coreConfig({ settleMs: 500, resyncMs: 60_000 }),
    private readonly respond: Responder = () => ({ outcome: converged(), ms: 10 }),
    readonly statLatency = 1,
  ) {
    this.core = new WatchCore(config);
  }

  private observation(path: string) {
    const f = this.files.get(path);
    if (!f) return null;
    const stamp: Stamp = { size: f.size, mtimeNs: String(f.mtime * 1e6), ctimeNs: String(f.ctime * 1e6), ino: f.ino };
    return { stamp, ageMs: this.now - f.mtime };
  }

  send(input: CoreInput): Effect[] {
    const n = this.inputs++;
    if (input.kind === 'wrote')
      this.writes.set(input.path, [...(this.writes.get(input.path) ?? []), { at: this.now, n }]);
    if (input.kind === 'appeared')
      this.appearances.set(input.path, [...(this.appearances.get(input.path) ?? []), { at: this.now, n }]);
    const effects = this.core.handle(input, this.now);
    const wake = this.core.wakeAt();
    if (input.kind === 'tick' && wake !== undefined && wake <= this.now) this.stuckTicks.push(this.now);
    for (const effect of effects) {
      const entry: Logged =
        effect.kind === 'reconcile'
          ? { at: this.now, n, effect, pendingAtStart: this.core.view().pending }
          : { at: this.now, n, effect };
      this.log.push(entry);
      switch (effect.kind) {
        case 'stat': {
          // The stat reads the file when it runs, a latency later.
          const path = effect.path;
          const seq = this.seq++;
          this.io.push({ at: this.now + this.statLatency, seq, input: { kind: 'tick' } });
          this.deferred.set(seq, () => ({ kind: 'observed', path, seen: this.observation(path) }));
          break;
        }
        case 'scan': {
          const seq = this.seq++;
          this.io.push({ at: this.now + this.statLatency, seq, input: { kind: 'tick' } });
          // Like the agent, a scan looks at every path it has known, so it notices deletions.
          for (const p of this.files.keys()) this.known.add(p);
          this.deferred.set(seq, () => ({
            kind: 'scanned',
            seen: new Map([...this.known, ...this.files.keys()].map((p) => [p, this.observation(p)])),
            forget: [],
          }));
          break;
        }
        case 'reconcile': {
          this.reconciles++;
          this.running++;
          this.maxRunning = Math.max(this.maxRunning, this.running);
          const { outcome, ms } = this.respond(effect.trigger, effect.files, this.reconciles);
          const seq = this.seq++;
          this.io.push({ at: this.now + ms, seq, input: { kind: 'reconciled', outcome } });
          this.deferred.set(seq, () => {
            this.running--;
            return { kind: 'reconciled', outcome };
          });
          break;
        }
        default:
          break;
      }
    }
    return effects;
  }

  /** Inputs whose content is computed when delivered (a stat reads the file at that time). */
  private readonly deferred = new Map<number, () => CoreInput>();

  /** Advances the clock to `t`, delivering I/O results and timer ticks in order. */
  runUntil(t: number): void {
    for (;;) {
      const wake = this.core.wakeAt();
      this.io.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.io[0];
      const at = Math.min(wake ?? Infinity, next?.at ?? Infinity);
      if (at > t) break;
      this.now = Math.max(this.now, at);
      if (next && next.at <= this.now) {
        this.io.shift();
        const make = this.deferred.get(next.seq);
        this.deferred.delete(next.seq);
        this.send(make ? make() : next.input);
      } else this.send({ kind: 'tick' });
    }
    this.now = Math.max(this.now, t);
  }

  /** Advances by `ms`. */
  advance(ms: number): void {
    this.runUntil(this.now + ms);
  }

  // What writers do, with the inotify events they cause.

  /** An in-place writer creates the file (empty), then writes `size` bytes. */
  create(path: string, size: number): void {
    this.files.set(path, { size: 0, mtime: this.now, ctime: this.now, ino: this.nextIno++ });
    this.send({ kind: 'appeared', path });
    if (size > 0) this.append(path, size);
  }

  /** Appends bytes in place. */
  append(path: string, size: number): void {
    const f = this.files.get(path);
    if (!f) throw new Error(`no file ${path}`);
    f.size += size;
    f.mtime = this.now;
    f.ctime = this.now;
    this.send({ kind: 'wrote', path });
  }

  /** A complete file renamed in (its mtime from when it was written, `age` ms ago). */
  renameIn(path: string, size: number, age = 5): void {
    this.files.set(path, { size, mtime: this.now - age, ctime: this.now, ino: this.nextIno++ });
    this.send({ kind: 'appeared', path });
  }

  remove(path: string): void {
    this.files.delete(path);
    this.send({ kind: 'appeared', path });
  }

  /** A file that was already there, `age` ms old, before the core started. */
  existing(path: string, size: number, age: number): void {
    this.files.set(path, { size, mtime: this.now - age, ctime: this.now - age, ino: this.nextIno++ });
  }

  effects<K extends Effect['kind']>(kind: K): (Logged & { effect: Extract<Effect, { kind: K }> })[] {
    return this.log.filter((l): l is Logged & { effect: Extract<Effect, { kind: K }> } => l.effect.kind === kind);
  }

  fileEvents(path: string): { at: number; change: string }[] {
    return this.effects('file')
      .filter((l) => l.effect.path === path)
      .map((l) => ({ at: l.at, change: l.effect.change }));
  }

  fileEffects(path: string): { at: number; n: number; change: string }[] {
    return this.effects('file')
      .filter((l) => l.effect.path === path)
      .map((l) => ({ at: l.at, n: l.n, change: l.effect.change }));
  }

  /** Runs the startup scan and reconcile to completion. */
  start(): void {
    this.send({ kind: 'tick' });
    this.advance(100);
  }
}
