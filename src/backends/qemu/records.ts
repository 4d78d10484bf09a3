// Where the QEMU backend keeps a partition: STATE/qemu/NAME/, holding partition.json (the record:
// the allocation, the DTB built, what was loaded and how it is entered), partition.dtb, console.log
// (and the previous boot's, console.prev.log, which outlives the partition), the QMP and console
// sockets and the process's own files (process.ts). Only this module reads or writes records.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Board, MemRange } from '../../board/model.js';
import { VmanError } from '../../errors.js';
import { ensurePrivateDir, readJson, writeFileAtomic } from '../../state/files.js';
import type { Holding } from '../safety.js';
import type { LoadedImage } from '../types.js';

/** Files of a partition's directory besides the process's own. */
export const FILES = {
  record: 'partition.json',
  dtb: 'partition.dtb',
  console: 'console.log',
  previousConsole: 'console.prev.log',
  qmp: 'qmp.sock',
  /** The serial port's input (`vman console` on a terminal); its output goes to `console`. */
  consoleSocket: 'console.sock',
} as const;

/** A partition name is a DNS label (SPEC); it is also a directory name here. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Whether `name` can be a partition's directory. */
export const isPartitionName = (name: string): boolean => NAME.test(name);

/** What the QEMU backend started for a partition; absent until a load completed and after a scrub. */
export interface BootRecord {
  readonly loaded: readonly LoadedImage[];
  readonly bootDigest: string;
  readonly entry: number;
  readonly bootCpu: number;
  readonly dtbAddr: number;
  readonly qemuPid: number;
  /** The QEMU command line, binary first. */
  readonly command: readonly string[];
  readonly releaseResult?: { readonly addr: number; readonly bytes: 4 | 8 };
  readonly loadedAt: string;
}

/** partition.json. */
export interface QemuRecord {
  readonly version: 1;
  readonly board: string;
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  readonly devices: readonly string[];
  dtbSha256?: string;
  /** Bytes of the DTB built (absent in records written before it was kept). */
  dtbSize?: number;
  boot?: BootRecord;
  /** vman's stop-cores paused it: QMP then says `paused`, vman says `stopped`. */
  stoppedByVman?: boolean;
  /**
   * scrub-memory has begun ending its machine: from then on the partition is stopped with nothing
   * loaded, whatever its process still does (a scrub killed half-way is finished by the next).
   */
  endedByVman?: boolean;
  releasedAt?: string;
  readyAt?: string;
}

/** The records of one state directory's QEMU partitions. */
export class RecordStore {
  readonly root: string;

  constructor(
    private readonly board: Board,
    private readonly stateDir: string,
  ) {
    this.root = join(stateDir, 'qemu');
  }

  /** The partition's directory. */
  dir(name: string): string {
    if (!isPartitionName(name))
      throw new VmanError('backend', `\`${name}\` is not a partition name the QEMU backend accepts (a DNS label)`);
    return join(this.root, name);
  }

  /** A file in the partition's directory. */
  path(name: string, file: string): string {
    return join(this.dir(name), file);
  }

  /** The names of the partition directories there are (with a record or not), sorted. */
  async names(): Promise<string[]> {
    const entries = await fs.readdir(this.root).catch(() => [] as string[]);
    return entries.filter(isPartitionName).sort();
  }

  /** The partition's record; undefined when absent or unreadable (then its process, if any, is an orphan). */
  async get(name: string): Promise<QemuRecord | undefined> {
    let r: QemuRecord | undefined;
    try {
      r = await readJson<QemuRecord>(this.path(name, FILES.record));
    } catch {
      return undefined;
    }
    if (!r || r.version !== 1 || !Array.isArray(r.cpus) || typeof r.memory?.base !== 'number') return undefined;
    if (r.board !== this.board.name) {
      throw new VmanError(
        'backend',
        `QEMU partition \`${name}\` in ${this.stateDir} runs board \`${r.board}\`, not \`${this.board.name}\``,
      );
    }
    return r;
  }

  async save(name: string, r: QemuRecord): Promise<void> {
    const dir = this.dir(name);
    await ensurePrivateDir(dir);
    await writeFileAtomic(join(dir, FILES.record), `${JSON.stringify(r, null, 1)}\n`);
  }

  /** Creates STATE/qemu (0700), or tightens it. */
  async ensureRoot(): Promise<void> {
    await ensurePrivateDir(this.root);
  }

  /** What every recorded partition but `except` holds (for the isolation check). */
  async holdings(except: string): Promise<Holding[]> {
    const out: Holding[] = [];
    for (const name of await this.names()) {
      if (name === except) continue;
      const r = await this.get(name);
      if (r) out.push({ name, cpus: r.cpus, memory: r.memory, devices: r.devices });
    }
    return out;
  }

  /**
   * Removes the partition's directory and everything in it but its last boot's console, kept as
   * console.prev.log (`vman console NAME --previous`): a boot that failed is rolled back to nothing
   * held, and what it printed is what tells why.
   */
  async remove(name: string): Promise<void> {
    const dir = this.dir(name);
    await rotateConsole(dir);
    const kept = (await fs.readdir(dir).catch(() => [] as string[])).includes(FILES.previousConsole);
    if (!kept) return fs.rm(dir, { recursive: true, force: true });
    const rest = (await fs.readdir(dir)).filter((n) => n !== FILES.previousConsole);
    await Promise.all(rest.map((n) => fs.rm(join(dir, n), { recursive: true, force: true })));
  }
}

/** Makes a console log that holds anything the previous one (console.prev.log); an empty one is dropped. */
export async function rotateConsole(dir: string): Promise<void> {
  const log = join(dir, FILES.console);
  const size = await fs.stat(log).then(
    (st) => st.size,
    () => undefined,
  );
  if (size === undefined) return;
  if (size > 0) await fs.rename(log, join(dir, FILES.previousConsole));
  else await fs.rm(log, { force: true });
}
