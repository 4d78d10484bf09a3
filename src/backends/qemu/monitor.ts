// `qemu`: every partition is a QEMU `virt` machine of its own, started halted (`-S`) on a RAM file
// that vman writes the boot files into while QEMU builds its machine (ram.ts), released with QMP
// `cont`, and left running after vman exits. State lives in STATE/qemu/NAME/: partition.json (the
// allocation, what was loaded), partition.dtb, console.log, the QMP socket and the pid file.
// Live state is read from the processes themselves (pid alive? QMP query-status), so a guest that
// powers off or a QEMU that dies shows.
import { promises as fs, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Board, MemRange } from '../../board/model.js';
import type { Step } from '../../plan/types.js';
import { VmanError } from '../../errors.js';
import { ensurePrivateDir, readJson, writeFileAtomic } from '../../state/files.js';
import { formatRange } from '../../units/format.js';
import { DigestCache } from '../../images/digest.js';
import { inside, isolationViolation } from '../safety.js';
import type {
  LivePartition,
  LiveState,
  LoadedImage,
  Monitor,
  MonitorOptions,
  Orphan,
  PowerState,
  StepContext,
} from '../types.js';
import { ConsoleReader, quoteLines } from './console.js';
import { machineLayout, qemuCommand } from './machine.js';
import { powerFromExit, powerFromStatus, psciCode } from './power.js';
import {
  isOurs,
  PROCESS_FILES,
  processLog,
  readExit,
  readPids,
  signalIfOurs,
  startProcess,
  waitGone,
  type Pids,
} from './process.js';
import { QmpClient, QmpError, QMP_TIMEOUT_MS } from './qmp.js';
import { copyFile, copyImage, createRam, DEFAULT_RAM_DIR, writeBytes } from './ram.js';

/** Files of a partition's directory besides the process's own. */
const FILES = {
  record: 'partition.json',
  dtb: 'partition.dtb',
  console: 'console.log',
  previousConsole: 'console.prev.log',
  qmp: 'qmp.sock',
} as const;
/** Debian's OpenSBI generic platform, fw_dynamic flavour (package opensbi). */
export const DEFAULT_OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin';
const MiB = 1024 * 1024;
/** sockaddr_un.sun_path: 108 bytes with the terminating NUL. */
const UNIX_PATH_MAX = 107;
/**
 * wait-ready looks for new console output every READY_POLL_MS (one stat when there is none), and
 * every READY_CHECK_MS asks QEMU whether the guest still runs. Each wake-up costs ~0.2-0.4 ms of CPU
 * on a VM host, taken from the booting guest's cores: inotify woke vman on each of QEMU's ~1000
 * console writes, a 10 ms poll cost ~5 % of a core; 25 ms costs ~2 % and sees the line ~12 ms late on average.
 */
const READY_POLL_MS = 25;
const READY_CHECK_MS = 500;
/** From spawning QEMU to its QMP answering (its machine built). */
const START_TIMEOUT_MS = 30_000;
/** While QEMU starts: how soon to try its socket again, and how often to check that it still runs. */
const START_RETRY_MS = 2;
const START_CHECK_MS = 20;
/** How long the release stub's CPU_ON may take to report (microseconds of guest time, but TCG under load). */
const RELEASE_CHECK_MS = 3_000;
/** Ending a process: QMP quit first, then SIGTERM, then SIGKILL, each given this long. */
const END_WAIT_MS = { quit: 5_000, term: 3_000, kill: 3_000 } as const;
/** The shell's status for a command it cannot find. */
const SHELL_NOT_FOUND = 127;
/** A partition name is a DNS label (SPEC); it is also a directory name here. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What the QEMU backend started for a partition; absent until a load completed and after a scrub. */
interface BootRecord {
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
interface QemuRecord {
  readonly version: 1;
  readonly board: string;
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  readonly devices: readonly string[];
  dtbSha256?: string;
  boot?: BootRecord;
  /** vman's stop-cores paused it: QMP then says `paused`, vman says `stopped`. */
  stoppedByVman?: boolean;
  releasedAt?: string;
  readyAt?: string;
}

/** A partition's process as found on the host. */
interface ProcessView {
  readonly pids: Pids | undefined;
  readonly alive: boolean;
}

const fail = (step: Step, why: string) =>
  new VmanError('backend', `the monitor refused ${step.kind} for \`${step.partition}\`: ${why}`);
const hex = (n: number) => `0x${n.toString(16)}`;
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)}s`;
const sameAllocation = (r: QemuRecord, s: { cpus: readonly number[]; memory: MemRange; devices: readonly string[] }) =>
  r.cpus.join() === s.cpus.join() &&
  r.memory.base === s.memory.base &&
  r.memory.size === s.memory.size &&
  r.devices.join() === s.devices.join();

export class QemuMonitor implements Monitor {
  readonly name = 'qemu';
  private readonly root: string;
  /** The QMP connections loads opened while their QEMU started, by partition; the release after each uses it too. */
  private readonly held = new Map<string, QmpClient>();

  constructor(
    readonly board: Board,
    private readonly stateDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.root = join(stateDir, 'qemu');
  }

  private dir(name: string): string {
    if (!NAME.test(name))
      throw new VmanError('backend', `\`${name}\` is not a partition name the QEMU backend accepts (a DNS label)`);
    return join(this.root, name);
  }

  /** The partition's record; undefined when absent or unreadable (then its process, if any, is an orphan). */
  private async record(name: string): Promise<QemuRecord | undefined> {
    let r: QemuRecord | undefined;
    try {
      r = await readJson<QemuRecord>(join(this.dir(name), FILES.record));
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

  private async save(name: string, r: QemuRecord): Promise<void> {
    const dir = this.dir(name);
    await ensurePrivateDir(dir);
    await writeFileAtomic(join(dir, FILES.record), `${JSON.stringify(r, null, 1)}\n`);
  }

  private async process(name: string): Promise<ProcessView> {
    const dir = this.dir(name);
    const pids = await readPids(dir);
    return { pids, alive: pids ? await isOurs(pids.qemu, dir) : false };
  }

  // Runs `fn` over QMP: on the connection held from a load's start-up to its release, else on a
  // fresh one (QEMU serves one client at a time: keep it short).
  private async qmp<T>(name: string, fn: (c: QmpClient) => Promise<T>, timeoutMs = QMP_TIMEOUT_MS): Promise<T> {
    const held = this.held.get(name);
    if (held?.open) return fn(held);
    const client = await this.connect(name, timeoutMs);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  }

  private async connect(name: string, timeoutMs: number): Promise<QmpClient> {
    const dir = this.dir(name);
    const direct = join(dir, FILES.qmp);
    if (Buffer.byteLength(direct) <= UNIX_PATH_MAX) return QmpClient.connect(direct, { timeoutMs });
    // A long state path does not fit sun_path: reach the socket through an open handle on its directory.
    const fh = await fs.open(dir, 'r');
    try {
      return await QmpClient.connect(`/proc/self/fd/${fh.fd}/${FILES.qmp}`, { timeoutMs });
    } finally {
      await fh.close();
    }
  }

  /** Closes the connection held to `name`'s QEMU (to every one without a name). */
  private letGo(name?: string): void {
    for (const [n, client] of this.held) {
      if (name !== undefined && n !== name) continue;
      client.close();
      this.held.delete(n);
    }
  }

  private async status(name: string): Promise<string> {
    const r = await this.qmp(name, (c) => c.execute<{ status: string }>('query-status'));
    return r.status;
  }

  /** The exit status the wrapper recorded, waiting briefly when QEMU has just ended and the wrapper not yet written it. */
  private async exitStatus(name: string, pids: Pids): Promise<number | undefined> {
    const dir = this.dir(name);
    for (let i = 0; i < 50; i++) {
      const code = await readExit(dir, pids.qemu);
      if (code !== undefined || !(await isOurs(pids.shell, dir))) return code ?? (await readExit(dir, pids.qemu));
      await sleep(20);
    }
    return undefined;
  }

  async read(): Promise<LiveState> {
    const names = (await fs.readdir(this.root).catch(() => [] as string[])).filter((n) => NAME.test(n)).sort();
    const partitions: LivePartition[] = [];
    const orphans: Orphan[] = [];
    for (const name of names) {
      const rec = await this.record(name);
      const proc = await this.process(name);
      if (!rec) {
        if (proc.alive && proc.pids) {
          orphans.push({
            owner: name,
            cpus: [],
            memory: [],
            devices: [],
            detail: `QEMU process ${proc.pids.qemu} runs under STATE/qemu/${name} with no partition record (an interrupted apply, or a damaged state directory)`,
          });
        }
        continue;
      }
      partitions.push(await this.live(name, rec, proc));
    }
    return { partitions, orphans };
  }

  private async live(name: string, rec: QemuRecord, proc: ProcessView): Promise<LivePartition> {
    let state: PowerState = 'stopped';
    if (proc.pids && proc.alive) {
      try {
        state = powerFromStatus(await this.status(name), rec.stoppedByVman === true);
      } catch (err) {
        // It may have ended while we asked, or (a load in progress) not be listening yet; otherwise it does not answer.
        if (!(await isOurs(proc.pids.qemu, this.dir(name))))
          state = powerFromExit(this.board.arch, await this.exitStatus(name, proc.pids));
        else if (!rec.boot && err instanceof QmpError && err.closed) state = 'stopped';
        else
          throw new VmanError(
            'backend',
            `cannot read the state of partition \`${name}\` from its QEMU (PID ${proc.pids.qemu}): ${(err as Error).message}`,
            { cause: err },
          );
      }
    } else if (proc.pids) state = powerFromExit(this.board.arch, await this.exitStatus(name, proc.pids));
    // What a partition holds in memory: its QEMU's RAM, from the load until the scrub.
    const boot = proc.pids ? rec.boot : undefined;
    return {
      name,
      state,
      cpus: rec.cpus,
      memory: rec.memory,
      devices: rec.devices,
      loaded: boot?.loaded ?? [],
      ...(boot ? { bootDigest: boot.bootDigest, entry: boot.entry } : {}),
    };
  }

  async execute(step: Step, ctx: StepContext): Promise<void> {
    const name = step.partition;
    const dir = this.dir(name);
    switch (step.kind) {
      case 'allocate': {
        if (!this.board.qemu)
          throw fail(step, `board ${this.board.name} has no \`qemu\` section, so the qemu backend cannot run it`);
        const req = { name, cpus: step.cpus, memory: step.memory, devices: step.devices };
        const rec = await this.record(name);
        if (rec) {
          if (sameAllocation(rec, step)) return;
          throw fail(step, 'a partition of that name already holds other resources');
        }
        const proc = await this.process(name);
        if (proc.alive)
          throw fail(
            step,
            `an orphaned QEMU process (PID ${proc.pids?.qemu}) still runs under that name; delete it first (\`vman apply\` plans that)`,
          );
        await fs.rm(dir, { recursive: true, force: true });
        const held = [];
        for (const n of (await fs.readdir(this.root).catch(() => [] as string[])).filter(
          (x) => NAME.test(x) && x !== name,
        )) {
          const r = await this.record(n);
          if (r) held.push({ name: n, cpus: r.cpus, memory: r.memory, devices: r.devices });
        }
        const why = isolationViolation(this.board, held, req);
        if (why) throw fail(step, why);
        await ensurePrivateDir(this.root);
        await this.save(name, {
          version: 1,
          board: this.board.name,
          cpus: [...step.cpus],
          memory: { ...step.memory },
          devices: [...step.devices],
        });
        return;
      }
      case 'build-fdt': {
        const rec = await this.need(step);
        const t = ctx.target;
        if (!t) throw fail(step, 'no tree was planned');
        const dtb = Buffer.from(t.dtb, 'base64');
        const sha = createHash('sha256').update(dtb).digest('hex');
        if (sha !== step.dtbSha256) throw fail(step, 'the planned device tree does not match its digest');
        await writeFileAtomic(join(dir, FILES.dtb), dtb);
        rec.dtbSha256 = sha;
        await this.save(name, rec);
        return;
      }
      case 'load':
        return this.load(step, ctx);
      case 'release-cores':
        return this.release(step);
      case 'wait-ready':
        return this.waitReady(step, ctx);
      case 'stop-cores': {
        const proc = await this.process(name);
        const rec = await this.record(name);
        // Without a completed load the machine is still halted under -S (only release-cores continues it).
        if (!proc.alive || (rec && !rec.boot)) return;
        const status = await this.status(name);
        if (status !== 'prelaunch' && status !== 'shutdown' && status !== 'paused')
          await this.qmp(name, (c) => c.execute('stop'));
        if (rec) {
          rec.stoppedByVman = true;
          await this.save(name, rec);
        }
        return;
      }
      case 'scrub-memory': {
        if (!existsSync(dir)) return;
        const proc = await this.process(name);
        if (proc.alive && proc.pids) {
          const status = await this.status(name).catch(() => undefined);
          if (status === 'running') throw fail(step, 'its cores are running');
          await this.end(name, proc.pids);
        } else if (proc.pids) await waitGone(proc.pids.shell, dir, END_WAIT_MS.kill);
        await this.removeBootFiles(name);
        const rec = await this.record(name);
        if (rec && (rec.boot || rec.stoppedByVman || rec.releasedAt)) {
          delete rec.boot;
          delete rec.stoppedByVman;
          delete rec.releasedAt;
          delete rec.readyAt;
          await this.save(name, rec);
        }
        return;
      }
      case 'release-resources': {
        if (!existsSync(dir)) return;
        const proc = await this.process(name);
        if (proc.alive)
          throw fail(step, `its QEMU process (PID ${proc.pids?.qemu}) still runs; scrub its memory first`);
        const rec = await this.record(name);
        if (rec?.boot && proc.pids) throw fail(step, 'its memory has not been scrubbed');
        await fs.rm(dir, { recursive: true, force: true });
        return;
      }
    }
  }

  private async need(step: Step): Promise<QemuRecord> {
    const rec = await this.record(step.partition);
    if (!rec) throw fail(step, 'no such partition');
    return rec;
  }

  private async load(step: Extract<Step, { kind: 'load' }>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    const dir = this.dir(name);
    const rec = await this.need(step);
    const t = ctx.target;
    if (!t) throw fail(step, 'no boot was planned');
    if (!rec.dtbSha256) throw fail(step, 'its device tree has not been built');
    const proc = await this.process(name);
    if (proc.alive && proc.pids) {
      const status = await this.status(name).catch(() => undefined);
      if (status === 'running') throw fail(step, 'its cores are running; stop them first');
      if (status === 'prelaunch' && rec.boot?.bootDigest === t.bootDigest) return;
      // Loading again replaces the machine: the old one and its RAM go first.
      await this.end(name, proc.pids);
    }
    await this.removeBootFiles(name);
    if (rec.boot) {
      delete rec.boot;
      await this.save(name, rec);
    }

    const layout = machineLayout({
      board: this.board,
      cpus: rec.cpus,
      memory: rec.memory,
      bootCpu: t.bootCpu,
      entry: t.entry,
      dtbAddr: t.dtbAddr,
    });
    if ('problem' in layout) throw fail(step, layout.problem);
    const loaded: LoadedImage[] = [];
    for (const item of step.items) {
      if (!inside(rec.memory, item.addr, item.size + (item.zero ?? 0)))
        throw fail(
          step,
          `${item.what} at ${formatRange({ base: item.addr, size: item.size })} lies outside the partition's memory ${formatRange(rec.memory)}`,
        );
      if (item.what === 'dtb' && item.sha256 !== rec.dtbSha256)
        throw fail(step, 'the DTB to load is not the one built');
      // QEMU's RAM starts zeroed: `zero` (ELF .bss) needs nothing.
      loaded.push({ what: item.what, addr: item.addr, size: item.size, sha256: item.sha256 });
    }
    const built = await fs.readFile(join(dir, FILES.dtb)).catch(() => undefined);
    if (!built || createHash('sha256').update(built).digest('hex') !== rec.dtbSha256)
      throw fail(step, `its built DTB ${join(dir, FILES.dtb)} is missing or changed; build it again`);
    const firmware = layout.firmware ? (this.env.VMAN_OPENSBI ?? DEFAULT_OPENSBI) : undefined;
    if (firmware && !existsSync(firmware))
      throw fail(
        step,
        `OpenSBI fw_dynamic firmware ${firmware} is missing; install the Debian package opensbi (or set VMAN_OPENSBI to a fw_dynamic.bin)`,
      );
    const digests = await DigestCache.open(this.stateDir);
    // A fresh console for this boot (the last one's kept as console.prev.log).
    await fs.rename(join(dir, FILES.console), join(dir, FILES.previousConsole)).catch(() => undefined);
    await fs.writeFile(join(dir, FILES.console), '', { mode: 0o600 });
    const ram = await createRam(this.env.VMAN_RAM_DIR || DEFAULT_RAM_DIR, layout.ramMiB * MiB, rec.memory.size);
    // The boot files go into the RAM while QEMU starts and builds its machine on it; bytes that are
    // not the planned ones end it before any core runs.
    const at = (addr: number) => addr - layout.ramBase;
    const written = Promise.all([
      ...layout.blobs.map((b) => writeBytes(ram, at(b.addr), b.bytes)),
      ...(firmware && layout.firmware ? [copyFile(ram, at(layout.firmware.addr), firmware)] : []),
      ...step.items.map((item) =>
        item.what === 'dtb'
          ? writeBytes(ram, at(item.addr), built)
          : copyImage(ram, at(item.addr), item, { known: (stamp, sha) => digests.vouches(stamp, sha) }),
      ),
    ]).then(
      () => undefined,
      (err: unknown) => err,
    );
    const { binary, args } = qemuCommand({
      board: this.board,
      name,
      layout,
      consoleLog: join(dir, FILES.console),
      qmpSocket: FILES.qmp,
    });
    let pids: Pids;
    try {
      try {
        pids = await startProcess(dir, binary, args, { ram: ram.fd });
      } catch (err) {
        throw new VmanError('apply', `cannot start QEMU for \`${name}\`: ${(err as Error).message}`, { cause: err });
      }
      const [status, wrote] = await Promise.all([this.waitStarted(name, pids), written]);
      if (wrote !== undefined) {
        await this.end(name, pids);
        throw wrote;
      }
      if (status !== 'prelaunch') {
        await this.end(name, pids);
        throw fail(step, `QEMU started in state ${status}, not halted`);
      }
    } finally {
      // Never closed under a write still in flight.
      await written;
      await ram.close();
    }
    rec.boot = {
      loaded,
      bootDigest: t.bootDigest,
      entry: t.entry,
      bootCpu: t.bootCpu,
      dtbAddr: t.dtbAddr,
      qemuPid: pids.qemu,
      command: [binary, ...args],
      ...(layout.releaseResult ? { releaseResult: layout.releaseResult } : {}),
      loadedAt: new Date().toISOString(),
    };
    delete rec.stoppedByVman;
    await this.save(name, rec);
    ctx.report(
      `QEMU ${pids.qemu}: ${binary} -smp ${layout.smp} -m ${layout.ramMiB}M, halted with ${step.items.length} file(s) in its RAM`,
    );
  }

  // Waits until the new QEMU answers QMP; if it exits first, fails with what it printed. QEMU opens
  // its socket early and answers once its machine is built, so one connection waits for that
  // moment, and is held for the release that follows.
  private async waitStarted(name: string, pids: Pids): Promise<string> {
    const dir = this.dir(name);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last: unknown;
    let checked = 0;
    while (Date.now() < deadline) {
      if (Date.now() - checked >= START_CHECK_MS) {
        checked = Date.now();
        if (!(await isOurs(pids.qemu, dir))) {
          const code = await this.exitStatus(name, pids);
          const log = await processLog(dir);
          const missing =
            code === SHELL_NOT_FOUND
              ? ` (is ${this.board.qemu?.binary} installed? Debian: qemu-system-arm for ARM, qemu-system-misc for RISC-V)`
              : '';
          throw new VmanError(
            'apply',
            `QEMU for \`${name}\` exited at start-up${code === undefined ? '' : ` with status ${code}`}${missing}${log ? `: ${log}` : ''}`,
          );
        }
      }
      try {
        const client = await this.connect(name, Math.max(1, deadline - Date.now()));
        this.letGo(name);
        this.held.set(name, client);
        return (await client.execute<{ status: string }>('query-status')).status;
      } catch (err) {
        last = err;
        this.letGo(name);
        // The socket is not there yet, or QEMU went away while starting: look again soon.
        await sleep(START_RETRY_MS);
      }
    }
    await this.end(name, pids);
    throw new VmanError(
      'apply',
      `QEMU for \`${name}\` did not answer on its QMP socket within ${secs(START_TIMEOUT_MS)}: ${(last as Error | undefined)?.message ?? ''}`,
    );
  }

  private async release(step: Extract<Step, { kind: 'release-cores' }>): Promise<void> {
    // The connection held since the load ends here, whatever happens.
    try {
      const name = step.partition;
      const rec = await this.need(step);
      const boot = rec.boot;
      const proc = await this.process(name);
      if (!boot || !proc.pids) throw fail(step, 'nothing is loaded');
      if (!rec.cpus.includes(step.bootCpu)) throw fail(step, `core ${step.bootCpu} is not the partition's`);
      if (boot.entry !== step.entry || boot.bootCpu !== step.bootCpu || boot.dtbAddr !== step.dtbAddr) {
        throw fail(
          step,
          `what was loaded enters core ${boot.bootCpu} at ${hex(boot.entry)} with the DTB at ${hex(boot.dtbAddr)}, not core ${step.bootCpu} at ${hex(step.entry)} with ${hex(step.dtbAddr)}`,
        );
      }
      if (!proc.alive)
        throw fail(
          step,
          `its QEMU process has ended (the partition is ${powerFromExit(this.board.arch, await this.exitStatus(name, proc.pids))})`,
        );
      const status = await this.status(name);
      if (status === 'running') return;
      const state = powerFromStatus(status, true);
      if (state === 'shutdown' || state === 'crashed')
        throw fail(step, `the partition is ${state}; it must be loaded again`);
      await this.qmp(name, (c) => c.execute('cont'));
      delete rec.stoppedByVman;
      rec.releasedAt = new Date().toISOString();
      await this.save(name, rec);
      if (boot.releaseResult && status === 'prelaunch') await this.checkRelease(step, boot.releaseResult);
    } finally {
      this.letGo(step.partition);
    }
  }

  // The ARM release stub stores PSCI CPU_ON's return code in its last word: a failure means the boot core never started.
  private async checkRelease(
    step: Extract<Step, { kind: 'release-cores' }>,
    result: { readonly addr: number; readonly bytes: 4 | 8 },
  ): Promise<void> {
    const deadline = Date.now() + RELEASE_CHECK_MS;
    const cmd = `xp /1x${result.bytes === 8 ? 'g' : 'w'} ${hex(result.addr)}`;
    for (let wait = 1; Date.now() < deadline; wait = Math.min(wait * 2, 20)) {
      const out = await this.qmp(step.partition, (c) =>
        c.execute<string>('human-monitor-command', { 'command-line': cmd }),
      );
      const m = /:\s*0x([0-9a-f]+)\s*$/i.exec(out.trim());
      if (!m) return;
      const value = Number(BigInt.asIntN(result.bytes * 8, BigInt(`0x${m[1]}`)));
      if (value === 0) return;
      if (value < 0) throw fail(step, `PSCI CPU_ON of core ${step.bootCpu} returned ${psciCode(value)}`);
      await sleep(wait);
    }
  }

  private async waitReady(step: Extract<Step, { kind: 'wait-ready' }>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    const dir = this.dir(name);
    const rec = await this.need(step);
    const proc = await this.process(name);
    if (!rec.boot || !proc.pids) throw fail(step, 'nothing is loaded');
    const pids = proc.pids;
    const started = Date.parse(rec.releasedAt ?? '') || Date.now();
    const markReady = async (line: string | undefined) => {
      rec.readyAt = new Date().toISOString();
      await this.save(name, rec);
      ctx.report(`ready ${secs(Date.now() - started)} after release${line === undefined ? '' : `: ${line.trim()}`}`);
    };
    if (step.console === undefined) {
      const status = proc.alive ? await this.status(name) : 'ended';
      if (status !== 'running') throw fail(step, `its cores are not running (QEMU: ${status})`);
      return markReady(undefined);
    }
    const re = new RegExp(step.console);
    const reader = new ConsoleReader(join(dir, FILES.console));
    const deadline = Date.now() + step.timeoutMs;
    ctx.report(`waiting up to ${secs(step.timeoutMs)} for a console line matching /${step.console}/`);
    const matched = (): string | undefined => {
      const line = reader.lines().find((l) => re.test(l));
      if (line !== undefined) return line;
      const p = reader.pending();
      return p && re.test(p) ? p : undefined;
    };
    const notReady = (why: string) =>
      new VmanError(
        'apply',
        `\`${name}\` ${why}; no console line matched /${step.console}/. The console's last lines:\n${quoteLines(reader.lastLines())}`,
      );
    try {
      let checked = Date.now();
      for (;;) {
        const line = matched();
        if (line !== undefined) return await markReady(line);
        if (ctx.signal.aborted) throw notReady('was interrupted while waiting to be ready');
        const now = Date.now();
        if (now >= deadline) throw notReady(`was not ready within ${secs(step.timeoutMs)}`);
        if (now - checked >= READY_CHECK_MS) {
          checked = now;
          if (!(await isOurs(pids.qemu, dir))) {
            const last = matched();
            if (last !== undefined) return await markReady(last);
            const code = await this.exitStatus(name, pids);
            throw notReady(
              `${powerFromExit(this.board.arch, code) === 'shutdown' ? 'powered off' : `lost its QEMU (exit status ${code ?? 'unknown'})`} before it was ready`,
            );
          }
          const status = await this.status(name).catch(() => 'running');
          const state = powerFromStatus(status, false);
          if (state !== 'running') {
            const last = matched();
            if (last !== undefined) return await markReady(last);
            throw notReady(
              state === 'shutdown'
                ? 'powered off before it was ready'
                : `is ${state} (QEMU: ${status}) before it was ready`,
            );
          }
        }
        await sleep(Math.max(0, Math.min(READY_POLL_MS, deadline - Date.now())), undefined, {
          signal: ctx.signal,
        }).catch(() => undefined);
      }
    } finally {
      reader.close();
    }
  }

  // Ends the partition's QEMU and its RAM: QMP quit, then SIGTERM, then SIGKILL.
  private async end(name: string, pids: Pids): Promise<void> {
    const dir = this.dir(name);
    await this.qmp(name, (c) => c.execute('quit'), 2_000).catch((err: unknown) => {
      if (!(err instanceof QmpError)) throw err;
    });
    this.letGo(name);
    if (!(await waitGone(pids.qemu, dir, END_WAIT_MS.quit))) {
      await signalIfOurs(pids.qemu, dir, 'SIGTERM');
      if (!(await waitGone(pids.qemu, dir, END_WAIT_MS.term))) {
        await signalIfOurs(pids.qemu, dir, 'SIGKILL');
        if (!(await waitGone(pids.qemu, dir, END_WAIT_MS.kill)))
          throw new VmanError('backend', `QEMU process ${pids.qemu} of \`${name}\` does not end, even after SIGKILL`);
      }
    }
    await waitGone(pids.shell, dir, END_WAIT_MS.kill);
  }

  // After the process has ended: what belonged to that boot goes (the console log stays for `vman console`).
  private async removeBootFiles(name: string): Promise<void> {
    const dir = this.dir(name);
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const boot = (n: string) => n === PROCESS_FILES.pid || n === PROCESS_FILES.exit || n === FILES.qmp;
    await Promise.all(names.filter(boot).map((n) => fs.rm(join(dir, n), { force: true })));
  }

  async liveDtb(name: string): Promise<Uint8Array | undefined> {
    const rec = await this.record(name);
    if (!rec?.dtbSha256) return undefined;
    return fs.readFile(join(this.dir(name), FILES.dtb)).catch(() => undefined);
  }

  async consoleLog(name: string): Promise<string | undefined> {
    if (!NAME.test(name) || !(await this.record(name))) return undefined;
    return fs.readFile(join(this.dir(name), FILES.console), 'utf8').catch(() => '');
  }

  async followConsole(name: string, write: (chunk: string) => void, signal: AbortSignal): Promise<boolean> {
    if (!NAME.test(name) || !(await this.record(name))) return false;
    const dir = this.dir(name);
    const reader = new ConsoleReader(join(dir, FILES.console));
    try {
      for (;;) {
        const text = reader.readNew();
        if (text) write(text);
        if (signal.aborted) return true;
        const proc = await this.process(name);
        if (!proc.alive) {
          const rest = reader.readNew();
          if (rest) write(rest);
          return true;
        }
        await sleep(100, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      reader.close();
    }
  }

  async close(): Promise<void> {
    this.letGo();
  }
}

/** Opens the QEMU monitor for a board and state directory. */
export function openQemu(opts: MonitorOptions): Monitor {
  return new QemuMonitor(opts.board, opts.stateDir);
}
