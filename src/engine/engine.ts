// The engine: the one path from manifests and live state to a plan and its application. The CLI,
// `vman watch`, the libvirt endpoint and the fleet agent all call it; it reads files and the
// monitor, takes the lock, recovers, plans and applies, and tells a Reporter what it does. It never
// prints, prompts or exits: a front end renders its events and decides about approval.
import type { Diagnostic } from '../rules/diagnostic.js';
import { sortDiagnostics } from '../rules/diagnostic.js';
import type { Plan } from '../plan/types.js';
import type { ConsoleSession, LiveState, Monitor } from '../backends/types.js';
import type { ApplyResult } from '../apply/execute.js';
import type { Interrupted } from '../apply/journal.js';
import { makePlan } from '../plan/plan.js';
import { VmanError, inputError } from '../errors.js';
import { CODES } from '../rules/codes.js';
import { fieldPosition } from '../manifest/types.js';
import { formatSize } from '../units/format.js';
import { didYouMean } from '../rules/suggest.js';
import { encodeFdt } from '../fdt/encode.js';
import { join } from 'node:path';
import type { PartitionSpec } from '../manifest/types.js';
import { loadManifests, PARTITIONS_DIR, type ExtraManifest } from '../manifest/load.js';
import { quiet, type Reporter } from './events.js';
import { openWorkspace, type Workspace, type WorkspaceOptions } from './workspace.js';
import { loadInputs, readLive, resolveInputs, type Live } from './state.js';
import { hasChanges, planAgainst, resolveWhole, staleness, type PlanRequest, type Planned } from './planning.js';
import { firstDifference, planDocument, planOf, writeSavedPlan, type SavedPlan } from './saved-plan.js';
import { applyError, asWriter, runPlan, type WriterSession } from './writer.js';
import { readStatus, type StatusReport } from './status.js';
import { writerActivity, type WriterActivity } from './activity.js';
import { occupancy, type Occupancy } from './occupancy.js';
import {
  dependantClosure,
  dependantsFirst,
  dependencyWarnings,
  liveDependsOn,
  type DependencyWarning,
  type DependsOnEdge,
} from './dependants.js';
import { displayName } from '../manifest/load.js';
import {
  addManifest,
  declaredIn,
  dependsOnEdges,
  findDeclaration,
  prepareManifest,
  prepareManifestText,
  removeDeclaration,
  setDeclaredState,
  type Declaration,
  type NewManifest,
  type Undo,
} from './manifests.js';

export interface EngineOptions extends WorkspaceOptions {
  /** Where progress and events go (default: nowhere). */
  readonly report?: Reporter;
}

/**
 * Shown the plan a writer is about to run, under the lock. Resolves to go ahead; throws (a
 * `refused` VmanError) to stop with nothing changed. Called for a plan without changes too, so a
 * front end can say so; it is not asked to approve that one.
 */
export type Review = (r: PlanReview) => Promise<void>;

export interface PlanReview {
  readonly plan: Plan;
  readonly live: LiveState;
  /** The device trees the plan changes, old and new (for a diff). */
  trees(): Promise<readonly TreeChange[]>;
  /** delete: the document that goes from partitions.d/; start, stop: the one whose spec.state is set. */
  readonly declaration?: Declaration;
  /** delete: every document that goes, dependants first (with `cascade`, the dependants' too). */
  readonly removals?: readonly Removal[];
  /** Partitions the plan destroys or stops while running partitions that depend on them stay up. */
  readonly warnings: readonly DependencyWarning[];
}

/** A document `delete` removes from partitions.d/. */
export interface Removal {
  readonly partition: string;
  readonly declaration: Declaration;
}

/** One partition's device tree as live now and as the plan builds it. */
export interface TreeChange {
  readonly partition: string;
  /** The live DTB, when the monitor holds one. */
  readonly before: Uint8Array | undefined;
  readonly after: Uint8Array;
}

/** What every writing call takes besides its own arguments. */
export interface WriteOptions {
  readonly review?: Review;
  /** Aborting it lets the running step finish and starts no other (and stops a wait for the lock). */
  readonly signal?: AbortSignal;
}

/** What a writer did: the plan it ran and, when any step ran, the result. */
export interface WriteOutcome {
  readonly plan: Plan;
  readonly live: LiveState;
  /** Absent when the plan had no changes (nothing ran). */
  readonly result?: ApplyResult;
  readonly recovered?: Interrupted;
  /** Partitions the plan destroyed or stopped while running partitions that depend on them stayed up. */
  readonly warnings: readonly DependencyWarning[];
}

export interface ApplyRequest extends PlanRequest, WriteOptions {
  /** Apply exactly this saved plan (refused when stale or altered). `file` names it in messages. */
  readonly saved?: { readonly file: string; readonly plan: SavedPlan };
  /** The operation named in the lock and journal (default `apply`). */
  readonly operation?: string;
}

export interface Inventory {
  /** Every valid partition manifest. */
  readonly specs: readonly PartitionSpec[];
  /** Problems of the manifests that are not valid (they are not in `specs`). */
  readonly problems: readonly Diagnostic[];
  readonly live: LiveState;
}

export interface Validation {
  readonly partitions: number;
  readonly problems: readonly Diagnostic[];
}

/** Throws the error for an outcome whose run did not finish; returns it otherwise. */
export function applied<T extends WriteOutcome>(o: T): T {
  if (o.result && !o.result.ok) throw applyError(o.result);
  return o;
}

const never = new AbortController().signal;
/** How long shutdown waits for a partition's OS to power off, and how often it looks. */
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 60_000;
const SHUTDOWN_POLL_MS = 100;

export class Engine {
  private constructor(
    readonly workspace: Workspace,
    private readonly report: Reporter,
  ) {}

  /** Opens the engine on a workspace (see WorkspaceOptions for the defaults). */
  static async open(o: EngineOptions): Promise<Engine> {
    return new Engine(await openWorkspace(o), o.report ?? quiet);
  }

  /** Every check that needs no live state; nothing is written, not even the digest cache. */
  async validate(boardProblems: readonly Diagnostic[] = []): Promise<Validation> {
    const inputs = await loadInputs(this.workspace, { boardProblems, cache: false });
    const set = resolveInputs(inputs);
    return { partitions: inputs.specs.length, problems: sortDiagnostics([...inputs.problems, ...set.problems]) };
  }

  /** Plans against live state without the lock; `trees` also gets the device trees the plan changes. */
  async plan(
    req: PlanRequest = {},
    o: { trees?: boolean } = {},
  ): Promise<Planned & { trees?: TreeChange[]; warnings: DependencyWarning[] }> {
    const live = await readLive(this.workspace);
    try {
      const p = await planAgainst(this.workspace, live.state, req);
      const planned = { ...p, warnings: dependencyWarnings(p.plan, live.state) };
      return o.trees ? { ...planned, trees: await treeChanges(live, planned.plan) } : planned;
    } finally {
      await live.monitor.close();
    }
  }

  /** Saves a plan for `apply FILE`. */
  async savePlan(file: string, planned: Planned): Promise<void> {
    const ws = this.workspace;
    await writeSavedPlan(file, planned.plan, {
      configDir: ws.configDir,
      stateDir: ws.stateDir,
      board: ws.board.name,
      backend: ws.backend,
      fingerprint: planned.fingerprint,
      live: planned.live,
    });
  }

  /** The live partitions and their drift from the manifests. */
  status(): Promise<StatusReport> {
    return readStatus(this.workspace);
  }

  /**
   * Who holds each core, device and memory range of the workspace's board: its reservations, and the live
   * partitions and orphans when the monitor can say (never with the lock). `unknown` says why it cannot: the
   * board shown is not the one partitions are live on, or the monitor could not be read.
   */
  async occupancy(): Promise<{ occupancy: Occupancy; unknown?: string }> {
    const ws = this.workspace;
    const recorded = ws.records.board?.name;
    if (recorded !== undefined && recorded !== ws.board.name) {
      if (!Object.keys(ws.records.partitions).length) return { occupancy: occupancy(ws.board) };
      const why = `partitions are live on board \`${recorded}\`, not this one`;
      return { occupancy: occupancy(ws.board), unknown: why };
    }
    try {
      const live = await readLive(ws);
      await live.monitor.close();
      return { occupancy: occupancy(ws.board, live.state) };
    } catch (err) {
      const why = `the ${ws.backend} monitor could not be read (${(err as Error).message})`;
      return { occupancy: occupancy(ws.board), unknown: why };
    }
  }

  /** Who holds the lock and what it is changing, for the commands that never take it to say so. */
  activity(): Promise<WriterActivity | undefined> {
    return writerActivity(this.workspace.stateDir);
  }

  /** A partition's DTB: the live one, else (or when `planned`) the one the next apply gives. */
  async tree(name: string, o: { planned?: boolean } = {}): Promise<{ bytes: Uint8Array; origin: 'live' | 'planned' }> {
    const live = await readLive(this.workspace);
    try {
      if (!o.planned && live.state.partitions.some((p) => p.name === name)) {
        const bytes = await live.monitor.liveDtb(name);
        if (bytes) return { bytes, origin: 'live' };
      }
      const { desired } = await planAgainst(this.workspace, live.state);
      const tree = desired.set.trees.get(name);
      if (!tree) {
        const names = desired.inputs.specs.map((s) => s.name);
        const fix = didYouMean(name, names);
        const known = fix ? `; ${fix}` : names.length ? `; declared: ${names.join(', ')}` : '';
        throw new VmanError('usage', `no partition is called \`${name}\`${known}`);
      }
      return { bytes: encodeFdt(tree), origin: 'planned' };
    } finally {
      await live.monitor.close();
    }
  }

  /**
   * A live partition's console so far; with `follow`, streams it until `signal` aborts or the partition
   * ends. With `previous`, the console of its previous boot instead (kept after the partition is gone,
   * so a boot that failed and was rolled back still shows what it printed).
   */
  async console(
    name: string,
    o: { follow?: { write: (chunk: string) => void; signal: AbortSignal }; previous?: boolean } = {},
  ): Promise<string | undefined> {
    const { monitor } = await this.consoleOf(name, { live: !o.previous });
    try {
      if (o.previous) {
        if (!monitor.previousConsoleLog) {
          throw new VmanError('usage', `the ${this.workspace.backend} backend keeps no console of earlier boots`);
        }
        const text = await monitor.previousConsoleLog(name);
        if (text === undefined) {
          throw new VmanError(
            'usage',
            `partition \`${name}\` has no previous console: no earlier boot of it left one in this state directory`,
          );
        }
        return text;
      }
      if (o.follow && monitor.followConsole) {
        await monitor.followConsole(name, o.follow.write, o.follow.signal);
        return undefined;
      }
      return (await monitor.consoleLog?.(name)) ?? '';
    } finally {
      await monitor.close();
    }
  }

  /**
   * Attaches to a live partition's console: its output so far and then as it comes (to `write`), and
   * what is sent typed into its UART, until `signal` aborts or the partition ends.
   */
  async attachConsole(
    name: string,
    o: { write: (chunk: string) => void; signal: AbortSignal },
  ): Promise<ConsoleSession> {
    const { monitor } = await this.consoleOf(name, { live: true });
    try {
      if (!monitor.attachConsole) {
        throw new VmanError('backend', `the ${this.workspace.backend} backend's consoles take no input`, {
          reason: 'unsupported',
        });
      }
      const session = await monitor.attachConsole(name, o.write, o.signal);
      return { send: (b) => session.send(b), done: session.done.finally(() => monitor.close()) };
    } catch (err) {
      await monitor.close();
      throw err;
    }
  }

  // The monitor for a console command, once the backend keeps consoles and (`live`) the partition is live.
  private async consoleOf(name: string, o: { live: boolean }): Promise<{ monitor: Monitor }> {
    const ws = this.workspace;
    const live = await readLive(ws);
    const monitor = live.monitor;
    try {
      if (!monitor.consoleLog) {
        throw new VmanError(
          'usage',
          `${ws.backend} partitions have no console: the ${ws.backend} backend runs no guest code. ` +
            'Use --backend qemu to boot partitions with a console',
        );
      }
      if (o.live && !live.state.partitions.some((p) => p.name === name)) {
        const names = live.state.partitions.map((p) => p.name);
        const fix = didYouMean(name, names);
        const known = fix ? `; ${fix}` : names.length ? `; live: ${names.join(', ')}` : '';
        throw new VmanError('usage', `no live partition is called \`${name}\`${known}`);
      }
      return { monitor };
    } catch (err) {
      await monitor.close();
      throw err;
    }
  }

  /** Runs a fresh plan, or exactly a saved one, under the lock from planning to the end. */
  async apply(req: ApplyRequest = {}): Promise<WriteOutcome> {
    const saved = req.saved;
    if (saved && (req.targets?.length || req.replace?.length)) {
      throw new VmanError(
        'usage',
        'a saved plan is applied exactly as made; --target and --replace go with `vman plan`',
      );
    }
    return this.write(req.operation ?? 'apply', req, async (s) => {
      if (!saved) return (await planAgainst(this.workspace, s.live.state, req)).plan;
      return this.checkSaved(saved.file, saved.plan, s.live.state);
    });
  }

  /**
   * Plans and applies the destruction of the named live partitions (all of them without names); the
   * manifests stay, so the next apply brings them back. With `cascade`, the live partitions that depend on
   * them go too, dependants first (Terraform's targeted destroy); without, those keep running (and the
   * outcome's `warnings` name them).
   */
  async destroy(
    names: readonly string[],
    o: WriteOptions & { readonly cascade?: boolean } = {},
  ): Promise<WriteOutcome> {
    return this.write('destroy', o, async (s) => {
      const live = s.live.state;
      const known = [...live.partitions.map((p) => p.name), ...live.orphans.map((x) => x.owner)];
      for (const n of names) {
        if (known.includes(n)) continue;
        const fix = didYouMean(n, known);
        const hint = fix ? `; ${fix}` : known.length ? `; live: ${known.join(', ')}` : ' (nothing is live)';
        throw new VmanError('usage', `no live partition is called \`${n}\`${hint}`);
      }
      const edges = liveDependsOn(live);
      const cascaded = o.cascade && names.length ? dependantClosure(names, edges).filter((n) => known.includes(n)) : [];
      const targets = [...names, ...cascaded];
      const plan = makePlan([], live, targets.length ? { targets } : {});
      const declared = await declaredIn(this.workspace.configDir);
      return withReasons(plan, (c) => {
        const why = cascaded.includes(c.partition)
          ? `${dependencyOf(c.partition, names, edges)}, which is destroyed (--cascade)`
          : 'destroy requested';
        const file = declared.get(c.partition);
        const stays = file
          ? `${displayName(file, this.workspace.cwd)} still declares it: \`vman apply\` creates it again`
          : undefined;
        return [why, ...(stays ? [stays] : c.reasons)];
      });
    });
  }

  /**
   * Adds a manifest file's one Partition to partitions.d/ (paths made absolute) and reconciles that
   * partition. It is planned first, from the file given (so problems point into it), with the whole
   * configuration: if it cannot be planned, leaves no room for a partition already declared, or the review
   * refuses, nothing is written.
   */
  async create(file: string, o: WriteOptions = {}): Promise<WriteOutcome & { readonly file: string }> {
    const m = await prepareManifest(this.workspace.configDir, this.workspace.cwd, file);
    const k = { keepOnFailedRun: true, planFromGiven: true };
    return { ...(await this.reconcileManifest('create', m, o, k)), file: m.file };
  }

  /**
   * Defines a partition from manifest text (one Partition, absolute paths): a new file in
   * partitions.d/, or in place of the document that declares it already, then reconciles it. When it
   * cannot be planned, the review refuses, or a step fails, partitions.d/ is put back as it was.
   */
  async define(text: string, o: WriteOptions & { readonly origin?: string } = {}) {
    const ws = this.workspace;
    const origin = o.origin ?? 'the definition';
    const src = { display: origin, abs: join(ws.configDir, PARTITIONS_DIR, '.define'), text };
    const m = await prepareManifestText(ws.configDir, ws.cwd, src, { replace: true });
    // A definition equal to the declared one (dumpxml fed back to define) changes nothing, not even the file.
    if (m.replaces) {
      const declared = (await loadManifests(ws.configDir, ws.cwd)).partitions.find((p) => p.name === m.spec.name);
      if (declared && sameSpec(declared, m.spec)) {
        const live = await readLive(ws);
        await live.monitor.close();
        const plan = { changes: [], steps: [], targets: {} };
        return { plan, live: live.state, warnings: [], spec: m.spec, unchanged: true };
      }
    }
    const out = await this.reconcileManifest('define', m, o, { keepOnFailedRun: false, planFromGiven: false });
    return { ...out, spec: m.spec, unchanged: false };
  }

  /**
   * Sets `spec.state` of a declared partition and reconciles it (start, stop). When it cannot be planned,
   * the review refuses, or a step fails, the manifest is put back as it was. The review and the outcome
   * name the document that was edited.
   */
  async setState(
    name: string,
    state: 'running' | 'stopped',
    o: WriteOptions = {},
  ): Promise<WriteOutcome & { readonly declaration: Declaration | undefined }> {
    let undo: Undo | undefined;
    let declaration: Declaration | undefined;
    try {
      const out = await this.write(state === 'running' ? 'start' : 'stop', o, async (s) => {
        declaration = await findDeclaration(this.workspace.configDir, name);
        if (!declaration) throw noSuchPartition(name, s.live.state);
        undo = await setDeclaredState(declaration, state);
        const plan = (await planAgainst(this.workspace, s.live.state, { targets: [name] })).plan;
        return { plan, declaration };
      });
      if (!out.result || out.result.ok) undo = undefined;
      return { ...out, declaration };
    } finally {
      await undo?.();
    }
  }

  /**
   * Asks a running partition's OS to power itself off (its power button, where the backend has one),
   * waits until it has, then records `spec.state: stopped` in its manifest so that nothing starts it
   * again. Holds the lock throughout, so no reconcile restarts it meanwhile. When the OS does not power
   * off within `timeoutMs`, nothing is recorded and the partition keeps running.
   */
  async shutdown(name: string, o: WriteOptions & { readonly timeoutMs?: number } = {}): Promise<void> {
    const ws = this.workspace;
    const timeoutMs = o.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    await asWriter(ws, 'shutdown', { report: this.report, signal: o.signal ?? never }, async (s) => {
      const d = await findDeclaration(ws.configDir, name);
      if (!d) throw noSuchPartition(name, s.live.state);
      const held = s.live.state.partitions.find((p) => p.name === name);
      if (held?.state !== 'running') {
        const now = held ? held.state : 'not live';
        throw new VmanError('refused', `partition \`${name}\` is ${now}, not running`, { reason: 'wrong-state' });
      }
      const monitor = s.live.monitor;
      if (!monitor.powerOff) {
        throw new VmanError(
          'backend',
          `the ${ws.backend} backend cannot ask a partition's OS to power off (it runs no guest OS); ` +
            `\`destroy\` stops \`${name}\``,
          { reason: 'unsupported' },
        );
      }
      await monitor.powerOff(name);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = (await monitor.read()).partitions.find((p) => p.name === name)?.state;
        if (state !== 'running') break;
        if (Date.now() >= deadline || o.signal?.aborted) {
          throw new VmanError(
            'apply',
            `partition \`${name}\`'s OS did not power off within ${timeoutMs / 1000}s of the request; ` +
              'it keeps running (`destroy` stops it)',
            { reason: 'wrong-state' },
          );
        }
        await new Promise((r) => setTimeout(r, SHUTDOWN_POLL_MS));
      }
      await setDeclaredState(d, 'stopped');
    });
  }

  /**
   * Removes the document declaring `name` from partitions.d/ (only that one), then destroys the partition.
   * Refused while other manifests depend on it (that would leave them invalid), naming each dependsOn; with
   * `cascade`, their documents go too and their partitions are destroyed, dependants first.
   */
  async delete(
    name: string,
    o: WriteOptions & { readonly refuseRunning?: boolean; readonly cascade?: boolean } = {},
  ): Promise<WriteOutcome & { readonly declaration: Declaration | undefined; readonly removals: readonly Removal[] }> {
    const ws = this.workspace;
    let removals: Removal[] = [];
    const out = await this.write(
      'delete',
      o,
      async (s) => {
        const live = s.live.state;
        const declaration = await findDeclaration(ws.configDir, name);
        const held = live.partitions.find((p) => p.name === name);
        const isLive = (n: string) =>
          live.partitions.some((p) => p.name === n) || live.orphans.some((x) => x.owner === n);
        if (!declaration && !isLive(name)) throw noSuchPartition(name, live);
        const edges = await dependsOnEdges(ws.configDir);
        const dependants = dependantClosure([name], edges);
        if (dependants.length && !o.cascade) throw dependedOn(name, edges, dependants, ws.cwd);
        if (o.refuseRunning && held?.state === 'running') {
          throw new VmanError('refused', `partition \`${name}\` is running; stop it first`, { reason: 'wrong-state' });
        }
        const names = dependantsFirst([name, ...dependants], edges);
        removals = [];
        for (const n of names) {
          const d = n === name ? declaration : await findDeclaration(ws.configDir, n);
          if (d) removals.push({ partition: n, declaration: d });
        }
        const gone = names.filter(isLive);
        const plan = gone.length ? makePlan([], live, { targets: gone }) : { changes: [], steps: [], targets: {} };
        const relabelled = withReasons(plan, (c) =>
          c.partition === name
            ? c.reasons
            : [`${dependencyOf(c.partition, [name], edges)}, which is deleted (--cascade)`],
        );
        return { plan: relabelled, ...(declaration ? { declaration } : {}), removals };
      },
      async () => {
        // Found again one by one: removing a document from a file of several moves the others' indices.
        for (const r of removals) {
          const d = await findDeclaration(ws.configDir, r.partition);
          if (d) await removeDeclaration(d);
        }
      },
    );
    return { ...out, declaration: removals.find((r) => r.partition === name)?.declaration, removals };
  }

  /**
   * What is declared and what is live, cheaply (no image is read): every valid manifest's spec, the
   * manifests' problems, and the monitor's partitions. For listing partitions (libvirt's domains).
   */
  async inventory(): Promise<Inventory> {
    const ws = this.workspace;
    const loaded = await loadManifests(ws.configDir, ws.cwd);
    const live = await readLive(ws);
    await live.monitor.close();
    return { specs: loaded.partitions, problems: loaded.problems, live: live.state };
  }

  // Adds (or redefines) a manifest under the lock and reconciles its partition. It is planned before it is
  // written (as if it were in partitions.d/), so nothing is written when it cannot be planned or the review
  // refuses; once written, it is taken back out when a step fails, unless `keepOnFailedRun`.
  private async reconcileManifest(
    operation: string,
    m: NewManifest,
    o: WriteOptions,
    k: { readonly keepOnFailedRun: boolean; readonly planFromGiven: boolean },
  ): Promise<WriteOutcome> {
    const ws = this.workspace;
    // create plans the file the user gave (diagnostics point into it); define, the text it writes.
    const from = k.planFromGiven ? m.given : { display: displayName(m.file, ws.cwd), abs: m.file, text: m.text };
    const extra = { ...from, ...(m.replaces ? { replaces: { file: m.replaces.file, index: m.replaces.index } } : {}) };
    let undo: Undo | undefined;
    try {
      const out = await this.write(
        operation,
        o,
        async (s) => {
          await this.checkFits(m, extra, s.live.state);
          return (await planAgainst(ws, s.live.state, { targets: [m.spec.name] }, { extra })).plan;
        },
        async () => {
          undo = await addManifest(m);
        },
      );
      if (k.keepOnFailedRun || !out.result || out.result.ok) undo = undefined;
      return out;
    } finally {
      await undo?.();
    }
  }

  // A manifest whose partition would fit, but only by leaving no room for what partitions.d/ already
  // declares, is refused at that manifest: the whole configuration with it must be as placeable as without.
  private async checkFits(m: NewManifest, extra: ExtraManifest, live: LiveState): Promise<void> {
    const ws = this.workspace;
    const withIt = await resolveWhole(ws, live, { extra });
    if (!withIt.problems.length) return;
    const without = await resolveWhole(ws, live);
    const key = (d: Diagnostic) =>
      `${d.code} ${d.position?.file}:${d.position?.line}:${d.position?.column} ${d.message}`;
    const had = new Set(without.problems.map(key));
    const fresh = withIt.problems.filter((d) => !had.has(key(d)));
    const isOwn = (d: Diagnostic) => d.partition === m.spec.name || d.position?.file === extra.display;
    // Its own problems come first (the targeted plan reports them); then what it takes from the others.
    if (fresh.some(isOwn)) return;
    const victims = fresh.filter((d) => d.code === CODES.cannotPlace && d.partition !== undefined);
    if (!victims.length) return;
    const placed = withIt.resolved.find((r) => r.target.name === m.spec.name)?.target;
    const takes = placed
      ? `\`${m.spec.name}\` would take ${placed.cpus.length === 1 ? 'core' : 'cores'} ${placed.cpus.join(', ')} and ` +
        `${formatSize(placed.memory.size)}${placed.devices.length ? ` and ${placed.devices.join(', ')}` : ''}; `
      : '';
    const seen = new Set<string>();
    const blamed = victims.flatMap((d): Diagnostic[] => {
      if (seen.has(d.partition ?? '')) return [];
      seen.add(d.partition ?? '');
      const field = (d.position?.path ?? ['spec']).join('.');
      const at = d.position ? ` (${d.position.file}:${d.position.line})` : '';
      const what = `adding \`${m.spec.name}\` leaves no room for \`${d.partition}\`, already declared`;
      return [
        {
          code: CODES.cannotPlace,
          message: `${what}: ${d.message}${at}`,
          position: fieldPosition(m.spec, field),
          partition: m.spec.name,
          hint: `${takes}ask for less here, or delete or shrink another partition first`,
          ...(d.position ? { related: d.position } : {}),
        },
      ];
    });
    throw inputError(blamed);
  }

  // The shape of every writer: lock, recover, plan under the lock, review, then run the steps.
  // `beforeRun` acts on the manifests once the review approved (delete removes its document there).
  private async write(
    operation: string,
    o: WriteOptions,
    planUnderLock: (
      s: WriterSession,
    ) => Promise<Plan | { plan: Plan; declaration?: Declaration; removals?: readonly Removal[] }>,
    beforeRun?: () => Promise<void>,
  ): Promise<WriteOutcome> {
    const w = { report: this.report, signal: o.signal ?? never };
    return asWriter(this.workspace, operation, w, async (s) => {
      const planned = await planUnderLock(s);
      const { plan, ...edit } = 'plan' in planned ? planned : { plan: planned };
      const live = s.live.state;
      const trees = () => treeChanges(s.live, plan);
      const warnings = dependencyWarnings(plan, live);
      await o.review?.({ plan, live, trees, warnings, ...edit });
      await beforeRun?.();
      const recovered = s.recovered ? { recovered: s.recovered } : {};
      if (!hasChanges(plan)) return { plan, live, warnings, ...recovered };
      const result = await runPlan(this.workspace, s.live, plan, s.lock, operation, w);
      return { plan, live, result, warnings, ...recovered };
    });
  }

  // A saved plan runs only if it is what its inputs give now: the fingerprint says whether anything
  // changed since; the plan recomputed from them must then equal the file's, or the file was altered.
  private async checkSaved(file: string, saved: SavedPlan, live: LiveState): Promise<Plan> {
    const { targets, replace } = saved.fingerprint.options;
    const now = await planAgainst(this.workspace, live, { targets, replace });
    const why = staleness(saved.fingerprint, now.fingerprint);
    if (why.length) {
      throw new VmanError(
        'stale',
        `Saved plan is stale: ${why.join('; ')} since it was made. Run \`vman plan --out ${file}\` again.`,
        { file },
      );
    }
    const plan = planOf(saved);
    const found = firstDifference(planDocument(plan), planDocument(now.plan));
    if (found !== undefined) {
      // Name the step, not only its index: `steps[6] (hello/release-cores).entry`.
      const diff = found.replace(/^steps\[(\d+)\]/, (m, i: string) => `${m} (${plan.steps[Number(i)]?.id ?? '?'})`);
      throw new VmanError(
        'stale',
        `Saved plan ${file} is not the plan its inputs give: it differs at ${diff} (the file was edited after ` +
          `\`vman plan --out\` wrote it). Nothing was changed; run \`vman plan --out ${file}\` again.`,
        { file },
      );
    }
    return now.plan;
  }
}

// The trees a plan changes: every partition it loads again whose DTB differs from the live one.
async function treeChanges(live: Live, plan: Plan): Promise<TreeChange[]> {
  const out: TreeChange[] = [];
  for (const c of plan.changes) {
    const t = plan.targets[c.partition];
    if (!t || c.action === 'noop') continue;
    const held = live.state.partitions.some((p) => p.name === c.partition);
    const before = held ? await live.monitor.liveDtb(c.partition) : undefined;
    const after = t.dtb;
    if (before && sameBytes(before, after)) continue;
    out.push({ partition: c.partition, before, after });
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// The error for a name that neither a manifest nor the monitor knows.
function noSuchPartition(name: string, live: LiveState): VmanError {
  const names = live.partitions.map((p) => p.name);
  const held = names.includes(name);
  const fix = held ? undefined : didYouMean(name, names);
  const why = held
    ? `no manifest declares it (it is live: \`vman destroy ${name}\` removes it)`
    : `no manifest declares it and nothing live has that name${fix ? `; ${fix}` : ''}`;
  return new VmanError('usage', `no partition is called \`${name}\`: ${why}`, { reason: 'no-such-partition' });
}

// Two specs that declare the same partition the same way (where each was read from aside).
function sameSpec(a: PartitionSpec, b: PartitionSpec): boolean {
  const { source: _a, ...x } = a;
  const { source: _b, ...y } = b;
  return JSON.stringify(x) === JSON.stringify(y);
}

// A plan with other reasons for some of its changes (what a destroy or delete was asked for, not what a
// plan against no manifests would say).
function withReasons(plan: Plan, reasons: (c: Plan['changes'][number]) => readonly string[]): Plan {
  return { ...plan, changes: plan.changes.map((c) => ({ ...c, reasons: reasons(c) })) };
}

// `depends on \`rtos0\``, or through whom: `depends on \`hello\`, which depends on \`rtos0\``.
function dependencyOf(
  name: string,
  roots: readonly string[],
  edges: readonly { readonly from: string; readonly on: string }[],
): string {
  // Breadth first from `name` along dependsOn, to the nearest root.
  const via = new Map<string, string>([[name, '']]);
  const todo = [name];
  let found: string | undefined;
  while (todo.length && found === undefined) {
    const at = todo.shift() ?? '';
    for (const e of edges.filter((x) => x.from === at && !via.has(x.on))) {
      via.set(e.on, at);
      if (roots.includes(e.on)) found = e.on;
      todo.push(e.on);
    }
  }
  const chain: string[] = [];
  for (let at = found; at !== undefined && at !== name; at = via.get(at)) chain.unshift(at);
  return chain.length ? `depends on ${chain.map((n) => `\`${n}\``).join(', which depends on ')}` : 'depends on it';
}

// The refusal of a delete that would leave manifests depending on a partition no longer declared.
function dependedOn(name: string, edges: readonly DependsOnEdge[], all: readonly string[], cwd: string): VmanError {
  const direct = edges.filter((e) => e.on === name && e.from !== name);
  const where = direct.map((e) => `${displayName(e.file, cwd)}:${e.line}: \`${e.from}\` dependsOn \`${name}\``);
  const one = new Set(direct.map((e) => e.from)).size === 1;
  const list = all.map((n) => `\`${n}\``);
  const them = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
  const first = direct[0];
  return new VmanError(
    'refused',
    `cannot delete \`${name}\`: ${where.join('; ')}. Remove \`${name}\` from ${one ? 'its' : 'their'} ` +
      `spec.dependsOn first, or run \`vman delete ${name} --cascade\` to delete ${them} too (dependants first). ` +
      'Nothing was changed.',
    { reason: 'wrong-state', ...(first ? { file: displayName(first.file, cwd), line: first.line } : {}) },
  );
}
