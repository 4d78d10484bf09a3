// `vman agent`: the device side of a fleet (SPEC "Fleets"). It lists and watches this device's
// Partitions (label vman.dev/node=NODE in its namespace), keeps them on disk (./cache.ts), reconciles
// them through the engine exactly as `vman watch` does (reconcileOnce, the restart policy included),
// and patches each Partition's status (./status.ts). Kubernetes' informer does not restart itself, so
// the list/watch loop is the agent's own: a watch that ends is resumed from the last resourceVersion,
// 410 Gone and each resync relist, and errors back off with jitter. While the API server cannot be
// reached, the agent goes on from the desired state it saved last; on reconnect the list replaces it.
import { basename, dirname } from 'node:path';
import type { Diagnostic } from '../rules/diagnostic.js';
import { Engine, reconcileOnce, type EngineOptions, type Review } from '../engine/index.js';
import type { PartitionStatus } from '../engine/index.js';
import type { ReconcileOutcome, RestartHooks } from '../engine/reconcile.js';
import { RestartTracker, type RestartNotice, type RestartTiming } from '../engine/restarts.js';
import { readRestartBook, writeRestartBook } from '../engine/restart-book.js';
import { PARTITIONS_DIR } from '../manifest/load.js';
import type { Plan } from '../plan/types.js';
import type { LiveState } from '../backends/types.js';
import { ensurePrivateDir } from '../state/files.js';
import { FLEET_OPERATION } from '../engine/writer.js';
import { fleetConfigDir, readDesired, writeDesired, type DesiredCache } from './cache.js';
import type { FleetApi, FleetApiError, RunningWatch, WatchEvent } from './kube.js';
import { desiredOf, nodeMismatch, specChanged, type DesiredPartition, type PartitionObject } from './resource.js';
import {
  diagnosticLine,
  inSync,
  partitionStatus,
  statusKey,
  type PartitionStatusBody,
  type Verdict,
} from './status.js';

/** What the agent tells its front end (the CLI prints it, or writes it as JSON lines). */
export type FleetEvent =
  | {
      readonly event: 'ready';
      readonly node: string;
      readonly namespace: string;
      readonly server: string;
      readonly stateDir: string;
      readonly resyncMs: number;
    }
  | { readonly event: 'connected'; readonly partitions: number; readonly resourceVersion: string }
  | { readonly event: 'disconnected'; readonly error: string; readonly retryInMs: number }
  | { readonly event: 'offline'; readonly partitions: number; readonly listedAt: string | null }
  | { readonly event: 'desired'; readonly partition: string; readonly change: 'added' | 'changed' | 'deleted' }
  | { readonly event: 'reconcile-started'; readonly trigger: string }
  | {
      readonly event: 'reconcile-finished';
      readonly trigger: string;
      readonly result: ReconcileOutcome['result'];
      readonly ms: number;
      readonly stepsRun: number;
      readonly problems: number;
      readonly error?: string;
    }
  | { readonly event: 'problem'; readonly partition: string | null; readonly message: string }
  | {
      readonly event: 'status';
      readonly partition: string;
      readonly ready: string;
      readonly reason: string;
      readonly observedGeneration: number;
    }
  | { readonly event: 'partition-ended' | 'partition-restart'; readonly partition: string; readonly message: string }
  | { readonly event: 'error'; readonly message: string }
  | { readonly event: 'stopped' };

export interface FleetAgentOptions {
  readonly node: string;
  readonly api: FleetApi;
  /** The state directory: the monitor's state, the journal, the lock, and the agent's fleet/ directory. */
  readonly stateDir: string;
  /** The engine's options except configDir and stateDir, which the agent sets. */
  readonly engine: EngineOptions;
  /** What relative file paths in a Partition's spec are relative to. */
  readonly pathBase: string;
  /** How often to relist and reconcile (level-triggered: crashed partitions, lost events). */
  readonly resyncMs: number;
  readonly restartTiming: RestartTiming;
  /** Aborting it stops the agent once the running reconcile has finished its running steps. */
  readonly stop: AbortSignal;
  readonly emit: (e: FleetEvent) => void;
  /** Shown each plan that has changes, before it runs. */
  readonly review?: Review;
}

/** The Lease's duration; it is renewed every quarter of it. */
const LEASE_SECONDS = 40;
/** Backoff of a lost connection: 1 s doubling to 15 s, each wait jittered to half–whole (back within 30 s). */
const RECONNECT_FIRST_MS = 1000;
const RECONNECT_CAP_MS = 15_000;
/** Events of one burst (a list, a `kubectl apply` of many) are reconciled together. */
const COALESCE_MS = 100;
/** A failed reconcile is retried after 2 s, doubling up to the resync period. */
const RETRY_FIRST_MS = 2000;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs the agent until `stop` is aborted. */
export async function runFleetAgent(o: FleetAgentOptions): Promise<void> {
  await ensurePrivateDir(o.stateDir);
  const tracker = new RestartTracker(await readRestartBook(o.stateDir), o.restartTiming);
  await new FleetAgent(o, tracker).run();
}

class FleetAgent {
  /** The desired state: undefined until listed or read from the cache (an agent that knows nothing does nothing). */
  private desired: Map<string, DesiredPartition> | undefined;
  private listedAt: string | null = null;
  private online = false;
  private stopped = false;
  private watch: RunningWatch | undefined;
  private relist = false;
  /** The status each partition was last patched with (statusKey), so unchanged ones are not patched again. */
  private readonly reported = new Map<string, string>();
  private running: Promise<void> | undefined;
  private again: string | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private failuresInRow = 0;
  private readonly configDir: string;
  private readonly timers: NodeJS.Timeout[] = [];
  private sleeper: (() => void) | undefined;

  constructor(
    private readonly o: FleetAgentOptions,
    private readonly restarts: RestartTracker,
  ) {
    this.configDir = fleetConfigDir(o.stateDir);
  }

  async run(): Promise<void> {
    const { api } = this.o;
    const cache = await readDesired(this.o.stateDir, this.o.node);
    if (cache) {
      this.desired = new Map(cache.partitions.map((p) => [p.name, p]));
      this.listedAt = cache.listedAt;
    }
    this.o.emit({
      event: 'ready',
      node: this.o.node,
      namespace: api.namespace,
      server: api.server,
      stateDir: this.o.stateDir,
      resyncMs: this.o.resyncMs,
    });
    const stopped = new Promise<void>((r) => {
      const onStop = () => {
        this.stopped = true;
        this.watch?.stop();
        this.sleeper?.();
        r();
      };
      if (this.o.stop.aborted) onStop();
      else this.o.stop.addEventListener('abort', onStop, { once: true });
    });
    const connection = this.connect();
    this.timers.push(
      setInterval(() => {
        this.relist = true;
        this.watch?.stop();
        this.request('resync');
      }, this.o.resyncMs),
      setInterval(() => void this.heartbeat(), (LEASE_SECONDS * 1000) / 4),
    );
    await stopped;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.wakeTimer);
    await connection;
    while (this.running) await this.running;
    this.o.emit({ event: 'stopped' });
  }

  // Lists, then watches from the list's resourceVersion, for as long as the agent runs.
  private async connect(): Promise<void> {
    let attempt = 0;
    let first = true;
    while (!this.stopped) {
      try {
        const list = await this.o.api.list();
        attempt = 0;
        this.listed(list.items);
        if (!this.online) {
          this.online = true;
          // The cloud's copy of each status may be older than the device's: report all again.
          this.reported.clear();
          this.o.emit({ event: 'connected', partitions: list.items.length, resourceVersion: list.resourceVersion });
          void this.heartbeat();
        }
        this.request(first ? 'start' : 'list');
        first = false;
        await this.follow(list.resourceVersion);
      } catch (err) {
        if (this.stopped) break;
        const wait = Math.min(RECONNECT_CAP_MS, RECONNECT_FIRST_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        attempt = Math.min(attempt + 1, 10);
        if (this.online || first)
          this.o.emit({ event: 'disconnected', error: message(err), retryInMs: Math.round(wait) });
        this.online = false;
        if (first && this.desired) {
          // Offline from the start: go on from the desired state saved last.
          this.o.emit({ event: 'offline', partitions: this.desired.size, listedAt: this.listedAt });
          this.request('offline');
        }
        first = false;
        await this.sleep(wait);
      }
    }
  }

  // Watches until the stream fails (thrown), a resync or 410 Gone asks for a list, or the agent stops.
  private async follow(from: string): Promise<void> {
    let rv = from;
    this.relist = false;
    while (!this.stopped && !this.relist) {
      let gone = false;
      const w = await this.o.api.watch(rv, (e: WatchEvent) => {
        const meta = e.object.metadata as { resourceVersion?: string } | undefined;
        if (e.type === 'ERROR') {
          // A Status object: 410 Gone when the resourceVersion is too old to resume from.
          gone = true;
          w.stop();
          return;
        }
        if (meta?.resourceVersion) rv = meta.resourceVersion;
        if (e.type !== 'BOOKMARK') this.watched(e.type, e.object as unknown as PartitionObject);
      });
      this.watch = w;
      const err: FleetApiError | undefined = await w.ended;
      this.watch = undefined;
      if (err?.status === 410 || gone) return;
      if (err && !this.stopped && !this.relist) throw err;
    }
  }

  private listed(items: readonly PartitionObject[]): void {
    const before = this.desired ?? new Map<string, DesiredPartition>();
    const next = new Map(items.map((o) => [o.metadata.name, desiredOf(o)]));
    for (const [name, p] of next) {
      const old = before.get(name);
      if (specChanged(old, p)) this.o.emit({ event: 'desired', partition: name, change: old ? 'changed' : 'added' });
    }
    for (const name of before.keys())
      if (!next.has(name)) this.o.emit({ event: 'desired', partition: name, change: 'deleted' });
    this.desired = next;
    this.listedAt = new Date().toISOString();
  }

  private watched(type: 'ADDED' | 'MODIFIED' | 'DELETED', o: PartitionObject): void {
    const desired = (this.desired ??= new Map());
    const name = o.metadata.name;
    if (type === 'DELETED') {
      if (!desired.delete(name)) return;
      this.reported.delete(name);
      this.o.emit({ event: 'desired', partition: name, change: 'deleted' });
      this.request('watch');
      return;
    }
    const p = desiredOf(o);
    const old = desired.get(name);
    desired.set(name, p);
    if (!specChanged(old, p)) return;
    this.o.emit({ event: 'desired', partition: name, change: old ? 'changed' : 'added' });
    this.request('watch');
  }

  /** Asks for a reconcile soon; one asked for while another runs follows it. */
  private request(trigger: string, inMs = COALESCE_MS): void {
    if (this.stopped || !this.desired) return;
    if (this.running) {
      this.again ??= trigger;
      return;
    }
    this.wake(trigger, Date.now() + inMs);
  }

  private wake(trigger: string, at: number): void {
    // A retry or restart asked for while stopping would hold the process open until its time.
    if (this.stopped || at >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeAt = Infinity;
        this.running = this.reconcile(trigger).finally(() => {
          this.running = undefined;
          const next = this.again;
          this.again = undefined;
          if (next !== undefined) this.request(next, 0);
        });
      },
      Math.max(0, at - Date.now()),
    );
  }

  private async reconcile(trigger: string): Promise<void> {
    const desired = this.desired;
    if (!desired || this.stopped) return;
    const t0 = performance.now();
    const started = Date.now();
    this.o.emit({ event: 'reconcile-started', trigger });
    const cache: DesiredCache = {
      version: 1,
      node: this.o.node,
      namespace: this.o.api.namespace,
      server: this.o.api.server,
      listedAt: this.listedAt ?? new Date().toISOString(),
      partitions: [...desired.values()].sort((a, b) => a.name.localeCompare(b.name)),
    };
    let outcome: ReconcileOutcome;
    try {
      await writeDesired(this.o.stateDir, cache, this.o.pathBase);
      outcome = await reconcileOnce(
        { ...this.o.engine, configDir: this.configDir, stateDir: this.o.stateDir },
        {
          signal: this.o.stop,
          operation: FLEET_OPERATION,
          restarts: this.restartHooks(),
          review: async (v) => {
            await this.o.review?.(v);
            await this.progressing(v.plan, v.live, desired);
          },
        },
      );
    } catch (err) {
      outcome = { result: 'failed', error: `internal error: ${message(err)}` };
    }
    const problems = outcome.result === 'invalid' ? outcome.problems.length : 0;
    this.o.emit({
      event: 'reconcile-finished',
      trigger,
      result: outcome.result,
      ms: Math.round(performance.now() - t0),
      stepsRun: outcome.result === 'invalid' ? 0 : (outcome.stepsRun ?? 0),
      problems,
      ...(outcome.result === 'failed' ? { error: outcome.error } : {}),
    });
    if (outcome.result === 'interrupted') return;
    await this.report(cache.partitions, outcome);
    // What to wake for: a retry after a failure, a restart the policy waits for.
    if (outcome.result === 'failed') {
      const wait = Math.min(this.o.resyncMs, RETRY_FIRST_MS * 2 ** Math.min(this.failuresInRow, 10));
      this.failuresInRow++;
      this.wake('retry', Date.now() + wait);
    } else this.failuresInRow = 0;
    const due = this.restarts.nextRestartAt();
    if (due !== undefined && due > started) this.wake('restart', due);
  }

  private restartHooks(): RestartHooks {
    return {
      hold: this.restarts.hold,
      planned: async (plan, live, runs) => {
        this.restarts.planned(plan, live, runs);
        for (const n of this.restarts.drain()) this.notice(n);
        const book = this.restarts.take();
        if (book)
          await writeRestartBook(this.o.stateDir, book).catch((err: unknown) =>
            this.o.emit({ event: 'error', message: `writing the restart book: ${message(err)}` }),
          );
      },
    };
  }

  private notice(n: RestartNotice): void {
    this.o.emit({
      event: n.kind === 'restart' ? 'partition-restart' : 'partition-ended',
      partition: n.partition,
      message: n.message,
    });
    const p = this.desired?.get(n.partition);
    if (p && this.online) {
      const reason = n.kind === 'restart' ? 'Restarted' : n.restartAt === undefined ? 'Ended' : 'CrashLoop';
      void this.o.api.event(p, n.kind === 'restart' ? 'Normal' : 'Warning', reason, n.message).catch(() => undefined);
    }
  }

  // Before a plan's steps run: each partition it changes is Progressing, with what is about to happen.
  private async progressing(plan: Plan, live: LiveState, desired: ReadonlyMap<string, DesiredPartition>) {
    const now = new Date().toISOString();
    for (const c of plan.changes) {
      const p = desired.get(c.partition);
      if (!p || c.action === 'noop') continue;
      const l = live.partitions.find((x) => x.name === p.name);
      const facts = l ? { state: l.state, cpus: l.cpus, memory: l.memory, devices: l.devices, drift: null } : undefined;
      const body = partitionStatus({
        generation: p.generation,
        desiredState: p.spec.state === 'stopped' ? 'stopped' : 'running',
        live: facts,
        verdict: { kind: 'progressing', message: `${c.action}: ${c.reasons.join('; ')}` },
        restarts: this.restarts.status().find((r) => r.partition === p.name)?.restarts ?? 0,
        ...this.previous(p),
        now,
      });
      await this.patch(p, body);
    }
  }

  // Reads the live partitions and patches each Partition whose status changed.
  private async report(partitions: readonly DesiredPartition[], outcome: ReconcileOutcome): Promise<void> {
    let live = new Map<string, PartitionStatus>();
    let readError: string | undefined;
    try {
      const engine = await Engine.open({ ...this.o.engine, configDir: this.configDir, stateDir: this.o.stateDir });
      const s = await engine.status();
      live = new Map(s.partitions.map((p) => [p.name, p]));
    } catch (err) {
      readError = message(err);
    }
    const restarts = new Map(this.restarts.status().map((r) => [r.partition, r]));
    const byPartition = outcome.result === 'invalid' ? this.problemsByPartition(outcome.problems) : undefined;
    if (byPartition)
      for (const [name, lines] of byPartition)
        for (const l of lines) this.o.emit({ event: 'problem', partition: name || null, message: l });
    const now = new Date().toISOString();
    for (const p of partitions) {
      const l = live.get(p.name);
      const r = restarts.get(p.name);
      const desiredState = p.spec.state === 'stopped' ? 'stopped' : 'running';
      const facts = l
        ? { state: l.state, cpus: l.cpus, memory: l.memory, devices: l.devices, drift: l.drift }
        : undefined;
      const verdict = this.verdict(p, outcome, byPartition, facts, desiredState, r, readError);
      const body = partitionStatus({
        generation: p.generation,
        desiredState,
        live: facts,
        verdict,
        restarts: r?.restarts ?? l?.restarts ?? 0,
        ...this.previous(p),
        now,
      });
      await this.patch(p, body);
    }
  }

  private verdict(
    p: DesiredPartition,
    outcome: ReconcileOutcome,
    problems: Map<string, string[]> | undefined,
    live: Parameters<typeof inSync>[0],
    desiredState: 'running' | 'stopped',
    restart: { reason: 'CrashLoop' | 'Ended' | null; message: string | null } | undefined,
    readError: string | undefined,
  ): Verdict {
    const mismatch = nodeMismatch(p, this.o.node);
    if (mismatch) return { kind: 'invalid', reason: 'NodeMismatch', message: mismatch };
    if (problems) {
      const own = problems.get(p.name);
      if (own?.length) return { kind: 'invalid', reason: 'InvalidSpec', message: own.join('\n') };
      const others = [...problems.keys()].filter((n) => n !== '');
      const device = problems.get('') ?? [];
      const why = [
        ...(others.length ? [`partition${others.length > 1 ? 's' : ''} ${others.join(', ')} invalid`] : []),
        ...device,
      ].join('; ');
      return { kind: 'blocked', message: `nothing is applied on ${this.o.node} until this is fixed: ${why}` };
    }
    if (outcome.result === 'failed') {
      const own = outcome.failures?.find((f) => f.partition === p.name);
      if (own) return { kind: 'failed', message: `step ${own.step} failed: ${own.message}; rolled back, retrying` };
      if (!outcome.failures) return { kind: 'error', message: outcome.error };
    }
    if (readError) return { kind: 'error', message: `reading the monitor: ${readError}` };
    if (restart?.reason) return { kind: 'ended', reason: restart.reason, message: restart.message ?? restart.reason };
    if (inSync(live, desiredState)) return { kind: 'converged' };
    const drift = live?.drift?.[0];
    return { kind: 'pending', message: drift ?? 'not on the device yet' };
  }

  // Problems by the partition they concern ('' for the device's own: the board, the state directory).
  private problemsByPartition(list: readonly Diagnostic[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const d of list) {
      // Every manifest the engine reads is one the agent wrote: STATE/fleet/partitions.d/NAME.yaml.
      const file = d.position?.file;
      const fromFile =
        file && basename(dirname(file)) === PARTITIONS_DIR ? basename(file).replace(/\.yaml$/, '') : undefined;
      const name = d.partition ?? fromFile ?? '';
      const lines = out.get(name) ?? [];
      lines.push(diagnosticLine(d));
      out.set(name, lines);
    }
    return out;
  }

  // The status last reported for a partition: the freshest copy (a patch earlier in this reconcile counts).
  private previous(p: DesiredPartition): { previous?: Readonly<Record<string, unknown>> } {
    const current = this.desired?.get(p.name);
    const status = current && current.uid === p.uid ? current.status : p.status;
    return status ? { previous: status } : {};
  }

  private async patch(p: DesiredPartition, body: PartitionStatusBody): Promise<void> {
    const key = statusKey(body);
    if (!this.online || this.reported.get(p.name) === key) return;
    const before = this.previous(p).previous;
    try {
      const stored = await this.o.api.patchStatus(p.name, body);
      this.reported.set(p.name, key);
      const current = this.desired?.get(p.name);
      if (current && current.uid === p.uid)
        this.desired?.set(p.name, { ...current, status: stored.status ?? { ...body } });
      const ready = body.conditions[0];
      this.o.emit({
        event: 'status',
        partition: p.name,
        ready: ready?.status ?? 'Unknown',
        reason: ready?.reason ?? '',
        observedGeneration: body.observedGeneration,
      });
      this.announce(p, before, body);
    } catch (err) {
      // Deleted meanwhile (404), or the server went away: the next list tells.
      const status = (err as FleetApiError).status;
      if (status !== 404) this.o.emit({ event: 'error', message: message(err) });
    }
  }

  // A Kubernetes Event when a partition becomes Ready or Degraded (kubectl describe shows them).
  private announce(
    p: DesiredPartition,
    previous: Readonly<Record<string, unknown>> | undefined,
    body: PartitionStatusBody,
  ) {
    const before = (Array.isArray(previous?.conditions) ? previous.conditions : []) as {
      type?: string;
      status?: string;
    }[];
    const was = (t: string) => before.find((c) => c.type === t)?.status;
    const [ready, , degraded] = body.conditions;
    if (ready?.status === 'True' && was('Ready') !== 'True')
      void this.o.api.event(p, 'Normal', ready.reason, ready.message ?? ready.reason).catch(() => undefined);
    if (degraded?.status === 'True' && was('Degraded') !== 'True')
      void this.o.api.event(p, 'Warning', degraded.reason, degraded.message ?? degraded.reason).catch(() => undefined);
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped || !this.online) return;
    await this.o.api.heartbeat(LEASE_SECONDS).catch((err: unknown) => {
      // Unreachable: the list/watch loop says so. Anything else (Forbidden, say) is worth a line.
      if ((err as FleetApiError).status !== undefined) this.o.emit({ event: 'error', message: message(err) });
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        r();
      }
      this.sleeper = done;
    });
  }
}
