// `sim`, the embedded simulated monitor: a faithful model of a partitioning monitor on the board,
// its state in STATE/sim/monitor.json (written atomically after every step). It enforces isolation
// and the other safety checks (../safety.ts) itself, re-hashes every image as it "loads" it, and
// records what was loaded where, so drift shows.
//
// Testing switch: VMAN_SIM_BOOT_MS=N makes each partition take N ms to boot (wait-ready returns N ms
// after its cores were released), so that bring-up's parallelism can be measured on sim.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Board } from '../../board/model.js';
import type { Step } from '../../plan/types.js';
import { VmanError } from '../../errors.js';
import { ensurePrivateDir, readJson, writeFileAtomic } from '../../state/files.js';
import { sha256File } from '../../images/digest.js';
import { enforce, type CheckInput, type PartitionView } from '../safety.js';
import type { LiveState, LoadedImage, Monitor, MonitorOptions, PowerState, StepContext } from '../types.js';

/** One partition as the simulated monitor holds it. */
interface SimPartition {
  readonly cpus: readonly number[];
  readonly memory: { readonly base: number; readonly size: number };
  readonly devices: readonly string[];
  power: PowerState;
  loaded: LoadedImage[];
  /** When its cores were last released (ms since the epoch), for VMAN_SIM_BOOT_MS. */
  releasedAt?: number;
  bootDigest?: string;
  entry?: number;
  bootCpu?: number;
  dtbAddr?: number;
  /** Digest and size of the DTB the monitor built for it. */
  dtbSha256?: string;
  dtbSize?: number;
}

interface SimState {
  readonly version: 1;
  readonly board: string;
  partitions: Record<string, SimPartition>;
}

type StepOf<K extends Step['kind']> = Extract<Step, { readonly kind: K }>;

/** What the checks see of a simulated partition. */
function viewOf(name: string, p: SimPartition | undefined): PartitionView | undefined {
  if (!p) return undefined;
  const { bootDigest, entry, bootCpu } = p;
  // A state written before the DTB address was recorded: the DTB was loaded where the boot looks.
  const dtbAddr = p.dtbAddr ?? p.loaded.find((i) => i.what === 'dtb')?.addr;
  return {
    name,
    cpus: p.cpus,
    memory: p.memory,
    devices: p.devices,
    power: p.power,
    loaded: p.loaded,
    ...(p.dtbSha256 ? { dtb: { sha256: p.dtbSha256, ...(p.dtbSize !== undefined ? { size: p.dtbSize } : {}) } } : {}),
    ...(bootDigest && entry !== undefined && bootCpu !== undefined && dtbAddr !== undefined
      ? { boot: { bootDigest, entry, bootCpu, dtbAddr } }
      : {}),
  };
}

/** The simulated boot time (VMAN_SIM_BOOT_MS), 0 when unset. */
function bootMs(): number {
  const ms = Number(process.env.VMAN_SIM_BOOT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

export class SimMonitor implements Monitor {
  readonly name = 'sim';
  private readonly file: string;
  /** Steps waiting for the state file (rewritten whole), and whether some are being carried out. */
  private queued: {
    readonly step: Step;
    readonly ctx: StepContext;
    readonly done: (booting: number) => void;
    readonly failed: (error: unknown) => void;
  }[] = [];
  private working = false;

  constructor(
    readonly board: Board,
    private readonly stateDir: string,
  ) {
    this.file = join(stateDir, 'sim', 'monitor.json');
  }

  private async state(): Promise<SimState> {
    const s = await readJson<SimState>(this.file);
    if (!s) return { version: 1, board: this.board.name, partitions: {} };
    if (s.board !== this.board.name) {
      throw new VmanError(
        'backend',
        `the simulated monitor in ${this.stateDir} runs board \`${s.board}\`, not \`${this.board.name}\``,
      );
    }
    return s;
  }

  private async save(s: SimState): Promise<void> {
    await ensurePrivateDir(join(this.stateDir, 'sim'));
    await writeFileAtomic(this.file, `${JSON.stringify(s, null, 1)}\n`);
  }

  private artifacts(name: string): string {
    return join(this.stateDir, 'artifacts', name);
  }

  async read(): Promise<LiveState> {
    const s = await this.state();
    return {
      partitions: Object.entries(s.partitions)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, p]) => ({
          name,
          state: p.power,
          cpus: p.cpus,
          memory: p.memory,
          devices: p.devices,
          loaded: p.loaded,
          ...(p.bootDigest ? { bootDigest: p.bootDigest } : {}),
          ...(p.entry !== undefined ? { entry: p.entry } : {}),
        })),
      orphans: [],
    };
  }

  async execute(step: Step, ctx: StepContext): Promise<void> {
    const booting = await new Promise<number>((done, failed) => {
      this.queued.push({ step, ctx, done, failed });
      if (!this.working) void this.work();
    });
    // The boot takes its time outside the state's turn, as other partitions' steps go on meanwhile;
    // an interrupt lets it finish, as it does every running step.
    if (booting > 0) await sleep(booting);
  }

  // Steps that arrive while others are carried out go together (a group commit): one read of the
  // state, each step checked and carried out on it in turn, one atomic write; each step's promise
  // settles once its effect is durable. A refused step changes nothing, so the others' stand.
  private async work(): Promise<void> {
    this.working = true;
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      const outcomes: ({ readonly booting: number } | { readonly error: unknown })[] = [];
      try {
        const s = await this.state();
        let changed = false;
        for (const q of batch) {
          try {
            const r = await this.apply(s, q.step, q.ctx);
            changed ||= r.changed;
            outcomes.push({ booting: r.booting });
          } catch (error) {
            outcomes.push({ error });
          }
        }
        if (changed) await this.save(s);
      } catch (error) {
        for (const q of batch) q.failed(error);
        continue;
      }
      batch.forEach((q, i) => {
        const o = outcomes[i];
        if (o && 'booting' in o) q.done(o.booting);
        else q.failed(o?.error);
      });
    }
    this.working = false;
  }

  // Checks the step (../safety.ts) and carries it out on the state. Says whether the state changed,
  // and how long wait-ready must still wait for the simulated boot.
  private async apply(s: SimState, step: Step, ctx: StepContext): Promise<{ changed: boolean; booting: number }> {
    const p = s.partitions[step.partition];
    const input: CheckInput = {
      board: this.board,
      partition: viewOf(step.partition, p),
      ...(ctx.boot ? { plannedBoot: ctx.boot } : {}),
    };
    let changed: boolean;
    switch (step.kind) {
      case 'allocate':
        changed = this.allocate(s, step, input);
        break;
      case 'build-fdt':
        changed = await this.buildFdt(step, input, p, ctx);
        break;
      case 'load':
        changed = await this.load(step, input, p, ctx);
        break;
      case 'release-cores':
        changed = this.release(step, input, p);
        break;
      case 'wait-ready':
        changed = this.waitReady(step, input, ctx);
        if (bootMs() > 0 && p?.releasedAt !== undefined)
          return { changed, booting: Math.max(0, p.releasedAt + bootMs() - Date.now()) };
        break;
      case 'stop-cores':
        changed = this.stop(step, input, p);
        break;
      case 'scrub-memory':
        changed = this.scrub(step, input, p);
        break;
      case 'release-resources':
        changed = await this.releaseResources(s, step, input);
        break;
    }
    return { changed, booting: 0 };
  }

  private allocate(s: SimState, step: StepOf<'allocate'>, input: CheckInput): boolean {
    const others = Object.entries(s.partitions).map(([name, x]) => ({
      name,
      cpus: x.cpus,
      memory: x.memory,
      devices: x.devices,
    }));
    enforce(step, { ...input, others });
    // Repeating a step that took effect is fine.
    if (input.partition) return false;
    s.partitions[step.partition] = {
      cpus: [...step.cpus],
      memory: { ...step.memory },
      devices: [...step.devices],
      power: 'stopped',
      loaded: [],
    };
    return true;
  }

  private async buildFdt(
    step: StepOf<'build-fdt'>,
    input: CheckInput,
    p: SimPartition | undefined,
    ctx: StepContext,
  ): Promise<boolean> {
    const dtb = ctx.dtb;
    const sha256 = dtb ? createHash('sha256').update(dtb).digest('hex') : undefined;
    enforce(step, { ...input, ...(dtb && sha256 ? { plannedDtb: { sha256, size: dtb.length } } : {}) });
    if (!p || !dtb || !sha256) return false;
    const dir = this.artifacts(step.partition);
    await ensurePrivateDir(dir);
    await writeFileAtomic(join(dir, 'partition.dtb'), dtb);
    p.dtbSha256 = sha256;
    p.dtbSize = dtb.length;
    return true;
  }

  private async load(
    step: StepOf<'load'>,
    input: CheckInput,
    p: SimPartition | undefined,
    ctx: StepContext,
  ): Promise<boolean> {
    enforce(step, input);
    const t = ctx.boot;
    if (!p || !t) return false;
    // The files are read again now: they must still be the bytes that were planned.
    for (const item of step.items) {
      if (item.what === 'dtb' || !item.file) continue;
      const got = await sha256File(item.file).catch((err: NodeJS.ErrnoException) => {
        const why = err.code === 'ENOENT' ? 'the file no longer exists' : err.message;
        throw new VmanError('apply', `cannot load ${item.what} ${item.file}: ${why}`, { reason: 'input-changed' });
      });
      if (got.sha256 !== item.sha256)
        throw new VmanError(
          'apply',
          `${item.what} ${item.file} changed since the plan was made ` +
            `(sha256 ${got.sha256.slice(0, 12)}…, planned ${item.sha256.slice(0, 12)}…)`,
          { reason: 'input-changed' },
        );
    }
    p.loaded = step.items.map((item) => ({ what: item.what, addr: item.addr, size: item.size, sha256: item.sha256 }));
    p.bootDigest = t.bootDigest;
    p.entry = t.entry;
    p.bootCpu = t.bootCpu;
    p.dtbAddr = t.dtbAddr;
    return true;
  }

  private release(step: StepOf<'release-cores'>, input: CheckInput, p: SimPartition | undefined): boolean {
    enforce(step, input);
    if (!p || p.power === 'running') return false;
    p.power = 'running';
    if (bootMs() > 0) p.releasedAt = Date.now();
    return true;
  }

  private waitReady(step: StepOf<'wait-ready'>, input: CheckInput, ctx: StepContext): boolean {
    enforce(step, input);
    if (step.console !== undefined)
      ctx.report('readiness.console not checked on sim (no console); ready when its cores are released');
    return false;
  }

  private stop(step: StepOf<'stop-cores'>, input: CheckInput, p: SimPartition | undefined): boolean {
    enforce(step, input);
    if (!p) return false;
    p.power = 'stopped';
    return true;
  }

  private scrub(step: StepOf<'scrub-memory'>, input: CheckInput, p: SimPartition | undefined): boolean {
    enforce(step, input);
    if (!p) return false;
    // A partition that powered off or crashed is stopped once its memory is scrubbed (as under QEMU, whose
    // scrub ends the process), so it can be loaded and released again.
    p.power = 'stopped';
    p.loaded = [];
    delete p.bootDigest;
    delete p.entry;
    delete p.bootCpu;
    delete p.dtbAddr;
    delete p.dtbSha256;
    delete p.dtbSize;
    delete p.releasedAt;
    return true;
  }

  private async releaseResources(s: SimState, step: StepOf<'release-resources'>, input: CheckInput): Promise<boolean> {
    enforce(step, input);
    if (!input.partition) return false;
    // Its files first: a step that fails here has changed nothing the state says.
    await fs.rm(this.artifacts(step.partition), { recursive: true, force: true });
    delete s.partitions[step.partition];
    return true;
  }

  async liveDtb(name: string): Promise<Uint8Array | undefined> {
    const s = await this.state();
    if (!s.partitions[name]?.dtbSha256) return undefined;
    return fs.readFile(join(this.artifacts(name), 'partition.dtb')).catch(() => undefined);
  }

  async close(): Promise<void> {}
}

/** Opens the sim monitor for a board and state directory. */
export function openSim(opts: MonitorOptions): Monitor {
  return new SimMonitor(opts.board, opts.stateDir);
}
