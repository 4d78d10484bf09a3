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
import { VmanError } from '../errors.js';
import { didYouMean } from '../rules/suggest.js';
import { encodeFdt } from '../fdt/encode.js';
import { join } from 'node:path';
import type { PartitionSpec } from '../manifest/types.js';
import { loadManifests, PARTITIONS_DIR } from '../manifest/load.js';
import { quiet, type Reporter } from './events.js';
import { openWorkspace, type Workspace, type WorkspaceOptions } from './workspace.js';
import { loadInputs, readLive, resolveInputs, type Live } from './state.js';
import { hasChanges, planAgainst, staleness, type PlanRequest, type Planned } from './planning.js';
import { firstDifference, planDocument, planOf, writeSavedPlan, type SavedPlan } from './saved-plan.js';
import { applyError, asWriter, runPlan, type WriterSession } from './writer.js';
import { readStatus, type StatusReport } from './status.js';
import {
  addManifest,
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
  async plan(req: PlanRequest = {}, o: { trees?: boolean } = {}): Promise<Planned & { trees?: TreeChange[] }> {
    const live = await readLive(this.workspace);
    try {
      const planned = await planAgainst(this.workspace, live.state, req);
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

  /** Plans and applies the destruction of the named live partitions (all of them without names). */
  async destroy(names: readonly string[], o: WriteOptions = {}): Promise<WriteOutcome> {
    return this.write('destroy', o, async (s) => {
      const known = [...s.live.state.partitions.map((p) => p.name), ...s.live.state.orphans.map((x) => x.owner)];
      for (const n of names) {
        if (known.includes(n)) continue;
        const fix = didYouMean(n, known);
        const hint = fix ? `; ${fix}` : known.length ? `; live: ${known.join(', ')}` : ' (nothing is live)';
        throw new VmanError('usage', `no live partition is called \`${n}\`${hint}`);
      }
      return makePlan([], s.live.state, names.length ? { targets: names } : {});
    });
  }

  /**
   * Adds a manifest file's one Partition to partitions.d/ (paths made absolute) and reconciles that
   * partition. If it cannot be planned, or the review refuses, the file is taken back out.
   */
  async create(file: string, o: WriteOptions = {}): Promise<WriteOutcome & { readonly file: string }> {
    const m = await prepareManifest(this.workspace.configDir, this.workspace.cwd, file);
    return { ...(await this.reconcileManifest('create', m, o, { keepOnFailedRun: true })), file: m.file };
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
        return { plan: { changes: [], steps: [], targets: {} }, live: live.state, spec: m.spec, unchanged: true };
      }
    }
    const out = await this.reconcileManifest('define', m, o, { keepOnFailedRun: false });
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

  /** Removes the document declaring `name` from partitions.d/ (only that one), then destroys the partition. */
  async delete(
    name: string,
    o: WriteOptions & { readonly refuseRunning?: boolean } = {},
  ): Promise<WriteOutcome & { readonly declaration: Declaration | undefined }> {
    let declaration: Declaration | undefined;
    const out = await this.write(
      'delete',
      o,
      async (s) => {
        declaration = await findDeclaration(this.workspace.configDir, name);
        const live = s.live.state;
        const held = live.partitions.find((p) => p.name === name);
        const isLive = held !== undefined || live.orphans.some((x) => x.owner === name);
        if (!declaration && !isLive) throw noSuchPartition(name, live);
        if (o.refuseRunning && held?.state === 'running') {
          throw new VmanError('refused', `partition \`${name}\` is running; stop it first`, { reason: 'wrong-state' });
        }
        const plan = isLive ? makePlan([], live, { targets: [name] }) : { changes: [], steps: [], targets: {} };
        return declaration ? { plan, declaration } : plan;
      },
      async () => {
        if (declaration) await removeDeclaration(declaration);
      },
    );
    return { ...out, declaration };
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

  // Adds (or redefines) a manifest under the lock and reconciles its partition; puts partitions.d/ back
  // when that cannot be planned, the review refuses, or (unless `keepOnFailedRun`) a step fails.
  private async reconcileManifest(
    operation: string,
    m: NewManifest,
    o: WriteOptions,
    k: { readonly keepOnFailedRun: boolean },
  ): Promise<WriteOutcome> {
    let undo: Undo | undefined;
    let approved = false;
    try {
      const out = await this.write(
        operation,
        o,
        async (s) => {
          undo = await addManifest(m);
          return (await planAgainst(this.workspace, s.live.state, { targets: [m.spec.name] })).plan;
        },
        async () => {
          approved = true;
        },
      );
      if (approved && (k.keepOnFailedRun || !out.result || out.result.ok)) undo = undefined;
      return out;
    } finally {
      await undo?.();
    }
  }

  // The shape of every writer: lock, recover, plan under the lock, review, then run the steps.
  // `beforeRun` acts on the manifests once the review approved (delete removes its document there).
  private async write(
    operation: string,
    o: WriteOptions,
    planUnderLock: (s: WriterSession) => Promise<Plan | { plan: Plan; declaration?: Declaration }>,
    beforeRun?: () => Promise<void>,
  ): Promise<WriteOutcome> {
    const w = { report: this.report, signal: o.signal ?? never };
    return asWriter(this.workspace, operation, w, async (s) => {
      const planned = await planUnderLock(s);
      const { plan, declaration } = 'plan' in planned ? planned : { plan: planned, declaration: undefined };
      const live = s.live.state;
      const trees = () => treeChanges(s.live, plan);
      await o.review?.({ plan, live, trees, ...(declaration ? { declaration } : {}) });
      await beforeRun?.();
      const recovered = s.recovered ? { recovered: s.recovered } : {};
      if (!hasChanges(plan)) return { plan, live, ...recovered };
      const result = await runPlan(this.workspace, s.live, plan, s.lock, operation, w);
      return { plan, live, result, ...recovered };
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
