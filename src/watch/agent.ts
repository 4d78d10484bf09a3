// The watch agent's I/O shell: fs.watch (./dirs.ts) keeps watches on the config directory,
// partitions.d/ and the directories of the files the manifests name; timers wake the core; stats,
// scans and reconciles run when the core asks, and their results go back to it. The status file
// follows.
//
// Classification uses the directories' events: `rename` means a name was created, moved in or out,
// or deleted ("appeared"); `change` means the file behind a name was written or its metadata
// changed ("wrote").
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isManifestName, PARTITIONS_DIR, displayName } from '../manifest/load.js';
import { ensurePrivateDir, writeFileAtomic } from '../state/files.js';
import { processStart } from '../apply/lock.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import { WatchCore, type CoreConfig, type CoreInput, type Effect, type Outcome, type Trigger } from './core.js';
import { problemJson, type Emit, type EventBody } from './events.js';
import { statusDocument, STATUS_FILE, type Condition } from './status.js';
import { listManifests, namedFiles, observe } from './files.js';
import { DirWatcher } from './dirs.js';
import type { RestartHooks } from '../engine/reconcile.js';
import { DEFAULT_RESTART_TIMING, RestartTracker, type RestartNotice, type RestartTiming } from '../engine/restarts.js';
import { readRestartBook, writeRestartBook } from '../engine/restart-book.js';

/** What a reconcile is asked to do. */
export interface ReconcileRequest {
  readonly trigger: Trigger;
  /** The files whose change triggered it. */
  readonly files: readonly string[];
  /** Aborted on SIGTERM/SIGINT: finish the running step, start no other. */
  readonly signal: AbortSignal;
  readonly emit: Emit;
  /** The restart policy, for reconcileOnce (ReconcileOptions.restarts). */
  readonly restarts: RestartHooks;
}

export interface AgentOptions {
  readonly configDir: string;
  readonly stateDir: string;
  /** For showing paths the way diagnostics do. */
  readonly cwd: string;
  readonly config: CoreConfig;
  /** Aborting it stops the agent once the running reconcile (if any) has finished. */
  readonly stop: AbortSignal;
  readonly reconcile: (r: ReconcileRequest) => Promise<Outcome>;
  readonly emit: Emit;
  /** Told of each new problem (once), to print it. */
  readonly onProblem?: (d: Diagnostic) => void;
  /** The restart policy's backoff (default: Kubernetes' 10 s doubling to 5 min, reset after 10 min). */
  readonly restartTiming?: RestartTiming;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs the agent until `stop` is aborted and the running reconcile has finished. */
export async function runAgent(o: AgentOptions): Promise<void> {
  await ensurePrivateDir(o.stateDir);
  // The restart count and backoff carry on from the last agent's (STATE/restarts.json).
  const tracker = new RestartTracker(await readRestartBook(o.stateDir), o.restartTiming ?? DEFAULT_RESTART_TIMING);
  await new Agent(o, tracker).run();
}

class Agent {
  private readonly core: WatchCore;
  private readonly partitionsDir: string;
  private readonly boardFile: string;
  private readonly configDir: string;
  private watcher: DirWatcher | undefined;
  /** Directories watched (absolute). */
  private readonly dirs = new Set<string>();
  /** Files of interest as of the last scan: manifests, board.yaml, the files manifests name. */
  private interest = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private closed = false;
  private finish: () => void = () => undefined;
  private conditions: Condition[] = [];
  private statusKey = '';
  private statusChain: Promise<void> = Promise.resolve();
  private readonly startedAt = new Date().toISOString();
  private readonly wall0 = Date.now();
  private readonly mono0 = performance.now();
  private readonly pidStart = processStart(process.pid) ?? 'unknown';

  constructor(
    private readonly o: AgentOptions,
    private readonly restarts: RestartTracker,
  ) {
    this.core = new WatchCore(o.config);
    this.configDir = resolve(o.configDir);
    this.partitionsDir = join(this.configDir, PARTITIONS_DIR);
    this.boardFile = join(this.configDir, 'board.yaml');
  }

  private now(): number {
    return performance.now();
  }

  private iso = (t: number): string => new Date(this.wall0 + (t - this.mono0)).toISOString();

  private show = (p: string): string => displayName(p, this.o.cwd);

  private emit(e: EventBody): void {
    this.o.emit(e);
  }

  async run(): Promise<void> {
    const done = new Promise<void>((r) => {
      this.finish = r;
    });
    const initial = [this.configDir, this.partitionsDir].filter((d) => existsSync(d));
    for (const d of initial) this.dirs.add(d);
    const w = new DirWatcher({
      onEvent: (kind, dir, path) => this.raw(kind, basename(path), dir),
      onError: (dir, err) => {
        this.dirs.delete(dir);
        this.emit({ event: 'error', message: `watching ${this.show(dir)}: ${message(err)}` });
      },
    });
    this.watcher = w;
    for (const d of initial) w.add(d);
    this.emit({
      event: 'ready',
      pid: process.pid,
      configDir: this.configDir,
      stateDir: this.o.stateDir,
      settleMs: this.o.config.settleMs,
      resyncMs: this.o.config.resyncMs,
      watching: [...this.dirs].map(this.show),
    });
    const onStop = () => {
      this.input({ kind: 'stop' });
      this.maybeFinish();
    };
    if (this.o.stop.aborted) onStop();
    else this.o.stop.addEventListener('abort', onStop, { once: true });
    this.input({ kind: 'tick' });
    await done;
    this.closed = true;
    clearTimeout(this.timer);
    w.close();
    this.saveStatus(true);
    await this.statusChain;
    this.emit({ event: 'stopped' });
  }

  private maybeFinish(): void {
    if (this.core.view().stopping && !this.inflight) this.finish();
  }

  /** Whether a path is one the agent cares about. */
  private interesting(p: string): boolean {
    if (this.interest.has(p) || p === this.boardFile) return true;
    return dirname(p) === this.partitionsDir && isManifestName(basename(p));
  }

  private raw(ev: string, name: string, watchedPath: string): void {
    if (this.closed || !name || !this.dirs.has(watchedPath)) return;
    const path = join(watchedPath, name);
    if (watchedPath === this.configDir && name === PARTITIONS_DIR) {
      void this.partitionsDirChanged();
      return;
    }
    if (!this.interesting(path)) return;
    this.input(ev === 'rename' ? { kind: 'appeared', path } : { kind: 'wrote', path });
  }

  // partitions.d/ itself appeared or went away: watch it (or stop), and look at every manifest.
  private async partitionsDirChanged(): Promise<void> {
    const there = existsSync(this.partitionsDir);
    if (there && !this.dirs.has(this.partitionsDir)) {
      this.dirs.add(this.partitionsDir);
      this.watcher?.add(this.partitionsDir);
    } else if (!there && this.dirs.has(this.partitionsDir)) {
      this.dirs.delete(this.partitionsDir);
      this.watcher?.remove(this.partitionsDir);
    }
    const known = [...this.interest].filter((p) => dirname(p) === this.partitionsDir);
    for (const p of new Set([...known, ...(await listManifests(this.configDir))]))
      this.input({ kind: 'hint', path: p });
  }

  private input(i: CoreInput): void {
    if (this.closed) return;
    this.dispatch(this.core.handle(i, this.now()));
  }

  private dispatch(effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'stat':
          void observe(e.path).then((seen) => this.input({ kind: 'observed', path: e.path, seen }));
          break;
        case 'scan':
          void this.scan().catch((err: unknown) => {
            // The core waits for a scan to finish: an empty one keeps it moving (resync retries).
            this.emit({ event: 'error', message: `scanning: ${message(err)}` });
            this.input({ kind: 'scanned', seen: new Map(), forget: [] });
          });
          break;
        case 'reconcile':
          this.reconcile(e.trigger, e.files);
          break;
        case 'file':
          this.emit({ event: 'file', path: this.show(e.path), change: e.change });
          break;
        case 'resync':
          this.emit({ event: 'resync' });
          break;
        case 'problem':
          this.emit({ event: 'problem', ...problemJson(e.problem) });
          this.o.onProblem?.(e.problem);
          break;
        case 'problems-cleared':
          this.emit({ event: 'problems-cleared', count: e.count });
          break;
      }
    }
    this.arm();
    this.saveStatus(false);
  }

  private arm(): void {
    clearTimeout(this.timer);
    const at = this.core.wakeAt();
    if (at === undefined || this.closed) return;
    this.timer = setTimeout(() => this.input({ kind: 'tick' }), Math.max(1, Math.ceil(at - this.now())));
  }

  // Lists partitions.d/, finds the files the manifests name, stats them all and watches their directories.
  private async scan(): Promise<void> {
    let images: string[] = [];
    try {
      images = await namedFiles(this.configDir, this.o.cwd);
    } catch (err) {
      this.emit({ event: 'error', message: `scanning the manifests: ${message(err)}` });
    }
    const next = new Set([this.boardFile, ...(await listManifests(this.configDir)), ...images]);
    const seen = new Map<string, Awaited<ReturnType<typeof observe>>>();
    const forget: string[] = [];
    await Promise.all(
      [...new Set([...next, ...this.interest])].map(async (p) => {
        const o = await observe(p);
        if (!next.has(p) && o !== null) forget.push(p);
        else seen.set(p, o);
      }),
    );
    if (this.closed) return;
    this.interest = next;
    this.watchDirs(images);
    this.input({ kind: 'scanned', seen, forget });
  }

  private watchDirs(images: readonly string[]): void {
    const want = new Set([
      this.configDir,
      ...[this.partitionsDir, ...images.map((p) => dirname(p))].filter((d) => existsSync(d)),
    ]);
    for (const d of want) {
      if (this.dirs.has(d)) continue;
      this.dirs.add(d);
      this.watcher?.add(d);
    }
    for (const d of [...this.dirs]) {
      if (want.has(d)) continue;
      this.dirs.delete(d);
      this.watcher?.remove(d);
    }
  }

  private reconcile(trigger: Trigger, files: readonly string[]): void {
    const t0 = this.now();
    const wall0 = Date.now();
    this.emit({ event: 'reconcile-started', trigger, files: files.map(this.show) });
    const restarts: RestartHooks = {
      hold: this.restarts.hold,
      planned: async (plan, live, runs) => {
        this.restarts.planned(plan, live, runs);
        for (const n of this.restarts.drain()) this.emit(this.noticeEvent(n));
        await this.saveBook();
      },
    };
    this.inflight = (async () => {
      let outcome: Outcome;
      try {
        outcome = await this.o.reconcile({
          trigger,
          files,
          signal: this.o.stop,
          emit: (e) => this.emit(e),
          restarts,
        });
      } catch (err) {
        outcome = { result: 'failed', error: `internal error: ${message(err)}` };
      }
      // A restart due after this reconcile began is one it waited out: wake for it. One due before
      // was restarted by it, unless it could not plan (invalid manifests wait for files, failures retry).
      const due = this.restarts.nextRestartAt();
      const at = due !== undefined && due > wall0 ? this.now() + (due - Date.now()) : undefined;
      this.core.handle({ kind: 'restart-at', at }, this.now());
      const effects = this.core.handle({ kind: 'reconciled', outcome }, this.now());
      // Problems belong to the reconcile that found them: print them before it finishes.
      this.dispatch(effects.filter((e) => e.kind === 'problem' || e.kind === 'problems-cleared'));
      const view = this.core.view();
      this.emit({
        event: 'reconcile-finished',
        trigger,
        result: outcome.result,
        ms: Math.round(this.now() - t0),
        summary: outcome.result === 'invalid' ? null : (outcome.summary ?? null),
        stepsRun: outcome.result === 'invalid' ? 0 : (outcome.stepsRun ?? 0),
        problems: outcome.result === 'invalid' ? outcome.problems.length : 0,
        ...(outcome.result === 'failed' ? { error: outcome.error } : {}),
        ...(outcome.result === 'failed' && view.retryAt !== undefined
          ? { retryInMs: Math.max(0, Math.round(view.retryAt - this.now())) }
          : {}),
      });
      this.inflight = undefined;
      this.dispatch(effects.filter((e) => e.kind !== 'problem' && e.kind !== 'problems-cleared'));
      this.maybeFinish();
    })();
  }

  // A restart notice as a --json event.
  private noticeEvent(n: RestartNotice): EventBody {
    if (n.kind === 'restart') {
      const { partition, ended, policy: restartPolicy, restarts, message: text } = n;
      return { event: 'partition-restart', partition, ended, restartPolicy, restarts, message: text };
    }
    const at = n.restartAt;
    return {
      event: 'partition-ended',
      partition: n.partition,
      state: n.ended,
      restartPolicy: n.policy,
      reason: at === undefined ? 'Ended' : 'CrashLoop',
      restarts: n.restarts,
      restartAt: at === undefined ? null : new Date(at).toISOString(),
      restartInMs: at === undefined ? null : Math.max(0, at - Date.now()),
      message: n.message,
    };
  }

  // Saves the restart book when it changed: before the steps of a restart run, so the count is durable.
  private async saveBook(): Promise<void> {
    const book = this.restarts.take();
    if (!book) return;
    await writeRestartBook(this.o.stateDir, book).catch((err: unknown) =>
      this.emit({ event: 'error', message: `writing the restart book: ${message(err)}` }),
    );
  }

  // Writes STATE/watch.json when anything in it other than the time changed; writes are serialised.
  private saveStatus(stopped: boolean): void {
    const doc = statusDocument({
      view: this.core.view(),
      stopped,
      prev: this.conditions,
      pid: process.pid,
      pidStart: this.pidStart,
      startedAt: this.startedAt,
      now: new Date().toISOString(),
      configDir: this.configDir,
      stateDir: this.o.stateDir,
      settleMs: this.o.config.settleMs,
      resyncMs: this.o.config.resyncMs,
      iso: this.iso,
      show: this.show,
      restarts: this.restarts.status(),
    });
    const key = JSON.stringify({ ...doc, updatedAt: '' });
    if (key === this.statusKey) return;
    this.statusKey = key;
    this.conditions = [...doc.conditions];
    const file = join(this.o.stateDir, STATUS_FILE);
    this.statusChain = this.statusChain
      .then(() => writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`))
      .catch((err: unknown) => this.emit({ event: 'error', message: `writing ${file}: ${message(err)}` }));
  }
}
