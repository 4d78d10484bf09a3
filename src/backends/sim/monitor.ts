// `sim`, the embedded simulated monitor: a faithful model of a partitioning monitor on the board,
// its state in STATE/sim/monitor.json (written atomically after every step). It enforces isolation
// itself, re-hashes every image as it "loads" it, and records what was loaded where, so drift shows.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Board } from '../../board/model.js';
import type { Step } from '../../plan/types.js';
import { VmanError } from '../../errors.js';
import { ensurePrivateDir, readJson, writeFileAtomic } from '../../state/files.js';
import { sha256File } from '../../images/digest.js';
import { formatRange } from '../../units/format.js';
import { inside, isolationViolation } from '../isolation.js';
import type { LiveState, LoadedImage, Monitor, MonitorOptions, PowerState, StepContext } from '../types.js';

/** One partition as the simulated monitor holds it. */
interface SimPartition {
  readonly cpus: readonly number[];
  readonly memory: { readonly base: number; readonly size: number };
  readonly devices: readonly string[];
  power: PowerState;
  loaded: LoadedImage[];
  bootDigest?: string;
  entry?: number;
  bootCpu?: number;
  /** Digest of the DTB the monitor built for it. */
  dtbSha256?: string;
}

interface SimState {
  readonly version: 1;
  readonly board: string;
  partitions: Record<string, SimPartition>;
}

const fail = (step: Step, why: string) =>
  new VmanError('backend', `the monitor refused ${step.kind} for \`${step.partition}\`: ${why}`);

export class SimMonitor implements Monitor {
  readonly name = 'sim';
  private readonly file: string;

  constructor(
    readonly board: Board,
    private readonly stateDir: string,
  ) {
    this.file = join(stateDir, 'sim', 'monitor.json');
  }

  private async load(): Promise<SimState> {
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

  async read(): Promise<LiveState> {
    const s = await this.load();
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
    const s = await this.load();
    const p = s.partitions[step.partition];
    const need = (): SimPartition => {
      if (!p) throw fail(step, 'no such partition');
      return p;
    };
    switch (step.kind) {
      case 'allocate': {
        const req = { name: step.partition, cpus: step.cpus, memory: step.memory, devices: step.devices };
        if (p) {
          // Repeating a step that took effect is fine; a different allocation under the same name is not.
          const same =
            p.cpus.join() === step.cpus.join() &&
            p.memory.base === step.memory.base &&
            p.memory.size === step.memory.size &&
            p.devices.join() === step.devices.join();
          if (same) return;
          throw fail(step, 'a partition of that name already holds other resources');
        }
        const held = Object.entries(s.partitions).map(([name, x]) => ({
          name,
          cpus: x.cpus,
          memory: x.memory,
          devices: x.devices,
        }));
        const why = isolationViolation(this.board, held, req);
        if (why) throw fail(step, why);
        s.partitions[step.partition] = {
          cpus: [...step.cpus],
          memory: { ...step.memory },
          devices: [...step.devices],
          power: 'stopped',
          loaded: [],
        };
        break;
      }
      case 'build-fdt': {
        const x = need();
        const t = ctx.target;
        if (!t) throw fail(step, 'no tree was planned');
        const dtb = Buffer.from(t.dtb, 'base64');
        const sha = createHash('sha256').update(dtb).digest('hex');
        if (sha !== step.dtbSha256) throw fail(step, 'the planned device tree does not match its digest');
        const dir = join(this.stateDir, 'artifacts', step.partition);
        await ensurePrivateDir(dir);
        await writeFileAtomic(join(dir, 'partition.dtb'), dtb);
        x.dtbSha256 = sha;
        break;
      }
      case 'load': {
        const x = need();
        if (x.power === 'running') throw fail(step, 'its cores are running; stop them first');
        if (!x.dtbSha256) throw fail(step, 'its device tree has not been built');
        const loaded: LoadedImage[] = [];
        for (const item of step.items) {
          if (!inside(x.memory, item.addr, item.size + (item.zero ?? 0)))
            throw fail(
              step,
              `${item.what} at ${formatRange({ base: item.addr, size: item.size })} lies outside the partition's memory ${formatRange(x.memory)}`,
            );
          if (item.what === 'dtb') {
            if (item.sha256 !== x.dtbSha256) throw fail(step, 'the DTB to load is not the one built');
          } else if (item.file) {
            const got = await sha256File(item.file).catch((err: NodeJS.ErrnoException) => {
              throw new VmanError(
                'apply',
                `cannot load ${item.what} ${item.file}: ${err.code === 'ENOENT' ? 'the file no longer exists' : err.message}`,
              );
            });
            if (got.sha256 !== item.sha256)
              throw new VmanError(
                'apply',
                `${item.what} ${item.file} changed since the plan was made (sha256 ${got.sha256.slice(0, 12)}…, planned ${item.sha256.slice(0, 12)}…)`,
              );
          }
          loaded.push({ what: item.what, addr: item.addr, size: item.size, sha256: item.sha256 });
        }
        x.loaded = loaded;
        const t = ctx.target;
        if (t) {
          x.bootDigest = t.bootDigest;
          x.entry = t.entry;
          x.bootCpu = t.bootCpu;
        }
        break;
      }
      case 'release-cores': {
        const x = need();
        if (x.power === 'running') return;
        if (!x.bootDigest || x.loaded.length === 0) throw fail(step, 'nothing is loaded');
        if (!x.cpus.includes(step.bootCpu)) throw fail(step, `core ${step.bootCpu} is not the partition's`);
        if (!inside(x.memory, step.entry, 4))
          throw fail(step, `entry 0x${step.entry.toString(16)} lies outside the partition`);
        x.power = 'running';
        break;
      }
      case 'wait-ready': {
        const x = need();
        if (x.power !== 'running') throw fail(step, `the partition is ${x.power}`);
        if (step.console !== undefined)
          ctx.report('readiness.console not checked on sim (no console); ready when its cores are released');
        return;
      }
      case 'stop-cores': {
        if (!p) return;
        p.power = 'stopped';
        break;
      }
      case 'scrub-memory': {
        if (!p) return;
        if (p.power === 'running') throw fail(step, 'its cores are running');
        p.loaded = [];
        delete p.bootDigest;
        delete p.entry;
        delete p.bootCpu;
        delete p.dtbSha256;
        break;
      }
      case 'release-resources': {
        if (!p) return;
        if (p.power === 'running') throw fail(step, 'its cores are running');
        if (p.loaded.length) throw fail(step, 'its memory has not been scrubbed');
        delete s.partitions[step.partition];
        await fs.rm(join(this.stateDir, 'artifacts', step.partition), { recursive: true, force: true });
        break;
      }
    }
    await this.save(s);
  }

  async liveDtb(name: string): Promise<Uint8Array | undefined> {
    const s = await this.load();
    if (!s.partitions[name]?.dtbSha256) return undefined;
    return fs.readFile(join(this.stateDir, 'artifacts', name, 'partition.dtb')).catch(() => undefined);
  }

  async close(): Promise<void> {}
}

/** Opens the sim monitor for a board and state directory. */
export function openSim(opts: MonitorOptions): Monitor {
  return new SimMonitor(opts.board, opts.stateDir);
}
