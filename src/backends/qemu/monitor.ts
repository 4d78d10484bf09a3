// `qemu`: every partition is a QEMU `virt` machine of its own, started halted (`-S`) on a RAM file
// that vman writes the boot files into while QEMU builds its machine (ram.ts), released with QMP
// `cont`, and left running after vman exits. This module carries out the steps; records.ts keeps
// STATE/qemu/NAME/ (partition.json, partition.dtb, console.log), lifecycle.ts the QEMU processes.
// Live state is read from the processes themselves (pid alive? QMP query-status), so a guest that
// powers off or a QEMU that dies shows. Every step is checked first by ../safety.ts.
import { VmanError } from '../../errors.js';
import { promises as fs, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';
import type { Board } from '../../board/model.js';
import type { LoadItem, Step } from '../../plan/types.js';
import { DigestCache } from '../../images/digest.js';
import { Serial } from '../../state/serial.js';
import { writeFileAtomic } from '../../state/files.js';
import { enforce, refusalError, type CheckInput, type PartitionView } from '../safety.js';
import type {
  BootEntry,
  ConsoleSession,
  LivePartition,
  LiveState,
  LoadedImage,
  Monitor,
  MonitorOptions,
  Orphan,
  PowerState,
  StepContext,
} from '../types.js';
import { ConsoleReader, Wakeup } from './console.js';
import { QemuProcesses, secs, type ProcessView } from './lifecycle.js';
import { machineLayout, qemuCommand, type MachineLayout } from './machine.js';
import { psciCode } from './power.js';
import type { Pids } from './process.js';
import { waitForConsoleLine } from './ready.js';
import { FILES, isPartitionName, RecordStore, rotateConsole, type QemuRecord } from './records.js';
import { copyFile, copyImage, createRam, DEFAULT_RAM_DIR, writeBytes } from './ram.js';

/** Debian's OpenSBI generic platform, fw_dynamic flavour (package opensbi). */
export const DEFAULT_OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin';
const MiB = 1024 * 1024;
/** How long the release stub's CPU_ON may take to report (microseconds of guest time, but TCG under load). */
const RELEASE_CHECK_MS = 3_000;
/** How often a followed console is read, and its QEMU looked for, without output to wake the reader. */
const CONSOLE_POLL_MS = 100;
/** After output on the console socket: when to read the log again, should QEMU not have logged it yet. */
const CONSOLE_ECHO_MS = 5;

type StepOf<K extends Step['kind']> = Extract<Step, { readonly kind: K }>;

/** A partition as the backend finds it before a step: record, process, what QEMU says, and the checks' view. */
interface Found {
  readonly rec: QemuRecord | undefined;
  readonly proc: ProcessView;
  /** QMP query-status, when QEMU runs and answered. */
  readonly status: string | undefined;
  /** What the safety checks read; undefined without a record. */
  readonly view: PartitionView | undefined;
}

const hex = (n: number) => `0x${n.toString(16)}`;
/** Whether the machine holds exactly these items (a load that already took effect). */
function sameItems(loaded: readonly LoadedImage[], items: readonly LoadItem[]): boolean {
  const key = (x: LoadedImage | LoadItem) => `${x.what}@${x.addr}+${x.size}:${x.sha256}`;
  return loaded.map(key).join() === items.map(key).join();
}

export class QemuMonitor implements Monitor {
  readonly name = 'qemu';
  private readonly store: RecordStore;
  private readonly procs: QemuProcesses;
  private readonly claims = new Serial();

  constructor(
    readonly board: Board,
    private readonly stateDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.store = new RecordStore(board, stateDir);
    this.procs = new QemuProcesses(board, this.store);
  }

  async read(): Promise<LiveState> {
    const partitions: LivePartition[] = [];
    const orphans: Orphan[] = [];
    for (const name of await this.store.names()) {
      const rec = await this.store.get(name);
      const proc = await this.procs.find(name);
      if (!rec) {
        if (proc.alive && proc.pids) {
          orphans.push({
            owner: name,
            cpus: [],
            memory: [],
            devices: [],
            detail:
              `QEMU process ${proc.pids.qemu} runs under STATE/qemu/${name} with no partition record ` +
              '(an interrupted apply, or a damaged state directory)',
          });
        }
        continue;
      }
      const state = rec.endedByVman
        ? 'stopped'
        : await this.procs.power(name, proc, { stoppedByVman: rec.stoppedByVman === true, booted: !!rec.boot });
      // What a partition holds in memory: its QEMU's RAM, from the load until the scrub.
      const boot = proc.pids ? rec.boot : undefined;
      partitions.push({
        name,
        state,
        cpus: rec.cpus,
        memory: rec.memory,
        devices: rec.devices,
        loaded: boot?.loaded ?? [],
        ...(boot ? { bootDigest: boot.bootDigest, entry: boot.entry } : {}),
      });
    }
    return { partitions, orphans };
  }

  // What the partition is now, for a step: like read(), but a QEMU that does not answer QMP counts
  // as crashed (the steps that can end it, load and scrub, do; the others are refused).
  private async find(name: string): Promise<Found> {
    const rec = await this.store.get(name);
    const proc = await this.procs.find(name);
    const status = proc.alive ? await this.procs.status(name).catch(() => undefined) : undefined;
    if (!rec) return { rec, proc, status, view: undefined };
    // A machine whose load never completed (no boot recorded) was never entered: stopped, whatever became
    // of its process; one a scrub has begun ending likewise.
    let power: PowerState = 'stopped';
    if (rec.endedByVman || !rec.boot) power = 'stopped';
    else if (status !== undefined) power = await this.procs.powerOf(name, status, rec.stoppedByVman === true);
    else if (proc.pids && proc.alive && (await this.procs.running(name, proc.pids.qemu))) power = 'crashed';
    else if (proc.pids) power = await this.procs.exitPower(name, proc.pids);
    const boot = proc.pids && !rec.endedByVman ? rec.boot : undefined;
    const view: PartitionView = {
      name,
      cpus: rec.cpus,
      memory: rec.memory,
      devices: rec.devices,
      power,
      loaded: boot?.loaded ?? [],
      ...(rec.dtbSha256
        ? { dtb: { sha256: rec.dtbSha256, ...(rec.dtbSize !== undefined ? { size: rec.dtbSize } : {}) } }
        : {}),
      ...(boot
        ? { boot: { bootDigest: boot.bootDigest, entry: boot.entry, bootCpu: boot.bootCpu, dtbAddr: boot.dtbAddr } }
        : {}),
    };
    return { rec, proc, status, view };
  }

  private checks(found: Found, ctx: StepContext): CheckInput {
    return { board: this.board, partition: found.view, ...(ctx.boot ? { plannedBoot: ctx.boot } : {}) };
  }

  async execute(step: Step, ctx: StepContext): Promise<void> {
    switch (step.kind) {
      case 'allocate':
        // Claims are checked against every other partition's: concurrent claims take turns.
        return this.claims.run(() => this.allocate(step));
      case 'build-fdt':
        return this.buildFdt(step, ctx);
      case 'load':
        return this.load(step, ctx);
      case 'release-cores':
        return this.release(step, ctx);
      case 'wait-ready':
        return this.waitReady(step, ctx);
      case 'stop-cores':
        return this.stopCores(step, ctx);
      case 'scrub-memory':
        return this.scrub(step, ctx);
      case 'release-resources':
        return this.claims.run(() => this.releaseResources(step, ctx));
    }
  }

  private async allocate(step: StepOf<'allocate'>): Promise<void> {
    const name = step.partition;
    if (!this.board.qemu)
      throw refusalError(step, `board ${this.board.name} has no \`qemu\` section, so the qemu backend cannot run it`);
    const found = await this.find(name);
    if (found.view) {
      // A repeat of what took effect, or refused.
      enforce(step, { board: this.board, partition: found.view });
      return;
    }
    if (found.proc.alive)
      throw refusalError(
        step,
        `an orphaned QEMU process (PID ${found.proc.pids?.qemu}) still runs under that name; ` +
          'delete it first (`vman apply` plans that)',
      );
    await this.store.remove(name);
    enforce(step, { board: this.board, partition: undefined, others: await this.store.holdings(name) });
    await this.store.ensureRoot();
    await this.store.save(name, {
      version: 1,
      board: this.board.name,
      cpus: [...step.cpus],
      memory: { ...step.memory },
      devices: [...step.devices],
    });
  }

  private async buildFdt(step: StepOf<'build-fdt'>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    const found = await this.find(name);
    const dtb = ctx.dtb;
    const sha256 = dtb ? createHash('sha256').update(dtb).digest('hex') : undefined;
    enforce(step, {
      ...this.checks(found, ctx),
      ...(dtb && sha256 ? { plannedDtb: { sha256, size: dtb.length } } : {}),
    });
    if (!found.rec || !dtb || !sha256) return;
    await writeFileAtomic(this.store.path(name, FILES.dtb), dtb);
    found.rec.dtbSha256 = sha256;
    found.rec.dtbSize = dtb.length;
    await this.store.save(name, found.rec);
  }

  private async load(step: StepOf<'load'>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    const found = await this.find(name);
    enforce(step, this.checks(found, ctx));
    const { rec, proc, status } = found;
    const t = ctx.boot;
    if (!rec || !t) return;
    // Already loaded and still halted: the step took effect.
    if (status === 'prelaunch' && rec.boot?.bootDigest === t.bootDigest && sameItems(rec.boot.loaded, step.items))
      return;
    const layout = machineLayout({
      board: this.board,
      cpus: rec.cpus,
      memory: rec.memory,
      bootCpu: t.bootCpu,
      entry: t.entry,
      dtbAddr: t.dtbAddr,
    });
    if ('problem' in layout) throw refusalError(step, layout.problem);
    const dtbFile = this.store.path(name, FILES.dtb);
    const built = await fs.readFile(dtbFile).catch(() => undefined);
    if (!built || createHash('sha256').update(built).digest('hex') !== rec.dtbSha256)
      throw refusalError(step, `its built DTB ${dtbFile} is missing or changed; build it again`);
    const firmware = layout.firmware ? (this.env.VMAN_OPENSBI ?? DEFAULT_OPENSBI) : undefined;
    if (firmware && !existsSync(firmware))
      throw refusalError(
        step,
        `OpenSBI fw_dynamic firmware ${firmware} is missing; install the Debian package opensbi ` +
          '(or set VMAN_OPENSBI to a fw_dynamic.bin)',
      );
    // Loading again replaces the machine: the old one and its RAM go first.
    if (proc.alive && proc.pids) await this.procs.end(name, proc.pids);
    await this.procs.removeFiles(name);
    if (rec.boot) {
      delete rec.boot;
      await this.store.save(name, rec);
    }
    await this.boot(step, ctx, t, rec, { layout, built, firmware });
  }

  // Starts the partition's QEMU halted, with the boot files written into its RAM meanwhile, and records the boot.
  private async boot(
    step: StepOf<'load'>,
    ctx: StepContext,
    t: BootEntry,
    rec: QemuRecord,
    m: { readonly layout: MachineLayout; readonly built: Uint8Array; readonly firmware: string | undefined },
  ): Promise<void> {
    const name = step.partition;
    const { layout, built, firmware } = m;
    const digests = await DigestCache.open(this.stateDir);
    // A fresh console for this boot (the last one's kept as console.prev.log).
    const consoleLog = this.store.path(name, FILES.console);
    await rotateConsole(this.store.dir(name));
    await fs.writeFile(consoleLog, '', { mode: 0o600 });
    const ram = await createRam(this.env.VMAN_RAM_DIR || DEFAULT_RAM_DIR, layout.ramMiB * MiB, rec.memory.size);
    // The boot files go into the RAM while QEMU starts and builds its machine on it; bytes that are
    // not the planned ones end it before any core runs.
    const at = (addr: number) => addr - layout.ramBase;
    const total = step.items.reduce((n, i) => n + i.size, 0);
    let done = 0;
    const copied = (n: number) => ctx.bytes?.(Math.min(total, (done += n)), total);
    const written = Promise.all([
      ...layout.blobs.map((b) => writeBytes(ram, at(b.addr), b.bytes)),
      ...(firmware && layout.firmware ? [copyFile(ram, at(layout.firmware.addr), firmware)] : []),
      ...step.items.map((item) =>
        item.what === 'dtb'
          ? writeBytes(ram, at(item.addr), built)
          : copyImage(ram, at(item.addr), item, { known: (stamp, sha) => digests.vouches(stamp, sha), copied }),
      ),
    ]).then(
      () => undefined,
      (err: unknown) => err,
    );
    const { binary, args } = qemuCommand({
      board: this.board,
      name,
      layout,
      consoleLog,
      qmpSocket: FILES.qmp,
      consoleSocket: FILES.consoleSocket,
    });
    let pids: Pids;
    try {
      pids = await this.procs.spawn(name, binary, args, ram.fd);
      const [status, wrote] = await Promise.all([this.procs.waitStarted(name, pids), written]);
      if (wrote !== undefined) {
        await this.procs.end(name, pids);
        throw wrote;
      }
      if (status !== 'prelaunch') {
        await this.procs.end(name, pids);
        throw refusalError(step, `QEMU started in state ${status}, not halted`);
      }
    } finally {
      // Never closed under a write still in flight.
      await written;
      await ram.close();
    }
    rec.boot = {
      // QEMU's RAM starts zeroed: `zero` (ELF .bss) needs nothing.
      loaded: step.items.map((i) => ({ what: i.what, addr: i.addr, size: i.size, sha256: i.sha256 })),
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
    await this.store.save(name, rec);
    ctx.report(
      `QEMU ${pids.qemu}: ${binary} -smp ${layout.smp} -m ${layout.ramMiB}M, ` +
        `halted with ${step.items.length} file(s) in its RAM`,
    );
  }

  private async release(step: StepOf<'release-cores'>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    // The connection held since the load ends here, whatever happens.
    try {
      const found = await this.find(name);
      enforce(step, this.checks(found, ctx));
      const { rec, status } = found;
      const boot = rec?.boot;
      if (!rec || !boot) return;
      if (status === 'running') return;
      await this.procs.qmp(name, (c) => c.execute('cont'));
      delete rec.stoppedByVman;
      rec.releasedAt = new Date().toISOString();
      await this.store.save(name, rec);
      if (boot.releaseResult && status === 'prelaunch') await this.checkRelease(step, boot.releaseResult);
    } finally {
      this.procs.letGo(name);
    }
  }

  // The ARM release stub stores PSCI CPU_ON's return code in its last word: a failure means the boot
  // core never started.
  private async checkRelease(
    step: StepOf<'release-cores'>,
    result: { readonly addr: number; readonly bytes: 4 | 8 },
  ): Promise<void> {
    const deadline = Date.now() + RELEASE_CHECK_MS;
    const cmd = `xp /1x${result.bytes === 8 ? 'g' : 'w'} ${hex(result.addr)}`;
    for (let wait = 1; Date.now() < deadline; wait = Math.min(wait * 2, 20)) {
      const out = await this.procs.qmp(step.partition, (c) =>
        c.execute<string>('human-monitor-command', { 'command-line': cmd }),
      );
      const m = /:\s*0x([0-9a-f]+)\s*$/i.exec(out.trim());
      if (!m) return;
      const value = Number(BigInt.asIntN(result.bytes * 8, BigInt(`0x${m[1]}`)));
      if (value === 0) return;
      if (value < 0) throw refusalError(step, `PSCI CPU_ON of core ${step.bootCpu} returned ${psciCode(value)}`);
      await sleep(wait);
    }
  }

  private async waitReady(step: StepOf<'wait-ready'>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    const found = await this.find(name);
    enforce(step, this.checks(found, ctx));
    const { rec, proc, status } = found;
    if (!rec || !proc.pids) return;
    const started = Date.parse(rec.releasedAt ?? '') || Date.now();
    const markReady = async (line: string | undefined) => {
      rec.readyAt = new Date().toISOString();
      await this.store.save(name, rec);
      ctx.report(`ready ${secs(Date.now() - started)} after release${line === undefined ? '' : `: ${line.trim()}`}`);
    };
    if (step.console === undefined) {
      const now = proc.alive ? (status ?? (await this.procs.status(name))) : 'ended';
      if (now !== 'running') throw refusalError(step, `its cores are not running (QEMU: ${now})`);
      return markReady(undefined);
    }
    const wait = { name, pids: proc.pids, pattern: step.console, timeoutMs: step.timeoutMs };
    return markReady(await waitForConsoleLine(wait, this.procs, this.store, ctx, this.board.arch));
  }

  private async stopCores(step: StepOf<'stop-cores'>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    const found = await this.find(name);
    enforce(step, this.checks(found, ctx));
    const { rec, proc } = found;
    // Without a completed load the machine is still halted under -S (only release-cores continues it).
    if (!proc.alive || (rec && !rec.boot)) return;
    const status = found.status ?? (await this.procs.status(name));
    // Recorded first: killed between the two, the partition still reads as running (QEMU running,
    // status `running` whatever the record says), never as paused.
    if (rec && !rec.stoppedByVman) {
      rec.stoppedByVman = true;
      await this.store.save(name, rec);
    }
    if (status !== 'prelaunch' && status !== 'shutdown' && status !== 'paused')
      await this.procs.qmp(name, (c) => c.execute('stop'));
  }

  private async scrub(step: StepOf<'scrub-memory'>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    if (!existsSync(this.store.dir(name))) return;
    const found = await this.find(name);
    enforce(step, this.checks(found, ctx));
    const { rec, proc } = found;
    // An orphan (a process without a record) has no view: its cores are checked here.
    if (found.status === 'running') throw refusalError(step, 'its cores are running');
    // The record says scrubbed before the machine ends, so a scrub killed half-way reads as done (stopped,
    // nothing loaded) and the next scrub ends what is left.
    if (rec && (rec.boot || rec.stoppedByVman || rec.releasedAt || proc.pids)) {
      delete rec.boot;
      delete rec.stoppedByVman;
      delete rec.releasedAt;
      delete rec.readyAt;
      rec.endedByVman = true;
      await this.store.save(name, rec);
    }
    if (proc.alive && proc.pids) await this.procs.end(name, proc.pids);
    else if (proc.pids) await this.procs.waitWrapper(name, proc.pids);
    await this.procs.removeFiles(name);
    if (rec?.endedByVman) {
      delete rec.endedByVman;
      await this.store.save(name, rec);
    }
  }

  private async releaseResources(step: StepOf<'release-resources'>, ctx: StepContext): Promise<void> {
    const name = step.partition;
    if (!existsSync(this.store.dir(name))) return;
    const found = await this.find(name);
    enforce(step, this.checks(found, ctx));
    if (found.proc.alive)
      throw refusalError(step, `its QEMU process (PID ${found.proc.pids?.qemu}) still runs; scrub its memory first`);
    await this.store.remove(name);
  }

  async liveDtb(name: string): Promise<Uint8Array | undefined> {
    const rec = await this.store.get(name);
    if (!rec?.dtbSha256) return undefined;
    return fs.readFile(this.store.path(name, FILES.dtb)).catch(() => undefined);
  }

  // QEMU's virt machine has a power button on ARM: `system_powerdown` holds line 3 of its GPIO
  // controller (pl061) high for 100 ms. Only a partition that holds that controller sees it; its OS
  // answers with PSCI SYSTEM_OFF, which QEMU reports as a guest shutdown.
  async powerOff(name: string): Promise<void> {
    const found = await this.find(name);
    if (!found.view)
      throw new VmanError('backend', `no partition is called \`${name}\``, { reason: 'no-such-partition' });
    if (found.view.power !== 'running') {
      throw new VmanError('backend', `partition \`${name}\` is ${found.view.power}, not running`, {
        reason: 'wrong-state',
      });
    }
    const button = this.board.devices.find((d) => d.compatible.includes('arm,pl061'));
    if (!button || !found.view.devices.includes(button.name)) {
      const hint = button
        ? `give it the GPIO controller \`${button.name}\` (QEMU's power button is its line 3)`
        : `board ${this.board.name} has no power button QEMU can press`;
      throw new VmanError('backend', `partition \`${name}\` has no power button: ${hint}; \`destroy\` stops it`, {
        reason: 'unsupported',
      });
    }
    await this.procs.qmp(name, (c) => c.execute('system_powerdown'));
  }

  async consoleLog(name: string): Promise<string | undefined> {
    if (!isPartitionName(name) || !(await this.store.get(name))) return undefined;
    return fs.readFile(this.store.path(name, FILES.console), 'utf8').catch(() => '');
  }

  async followConsole(name: string, write: (chunk: string) => void, signal: AbortSignal): Promise<boolean> {
    if (!isPartitionName(name) || !(await this.store.get(name))) return false;
    await this.tail(name, write, signal, new Wakeup());
    return true;
  }

  async previousConsoleLog(name: string): Promise<string | undefined> {
    if (!isPartitionName(name)) return undefined;
    return fs.readFile(this.store.path(name, FILES.previousConsole), 'utf8').catch(() => undefined);
  }

  // The console log streamed as QEMU writes it, from its start, until `signal` aborts (`detached`) or
  // the partition's QEMU ends (`ended`); `wake` shows new output before the next poll.
  private async tail(
    name: string,
    write: (chunk: string) => void,
    signal: AbortSignal,
    wake: Wakeup,
  ): Promise<'detached' | 'ended'> {
    const reader = new ConsoleReader(this.store.path(name, FILES.console));
    try {
      let checked = 0;
      for (;;) {
        const text = reader.readNew();
        if (text) write(text);
        if (signal.aborted) return 'detached';
        if (Date.now() - checked >= CONSOLE_POLL_MS) {
          checked = Date.now();
          if (!(await this.procs.find(name)).alive) {
            const rest = reader.readNew();
            if (rest) write(rest);
            return 'ended';
          }
        }
        await wake.wait(CONSOLE_POLL_MS, signal);
      }
    } finally {
      reader.close();
    }
  }

  // What is typed goes into the console socket; what the guest prints is shown from the log, the one
  // record of everything it wrote (the socket's own copy of it is read and dropped, as the signal that
  // there is more to show).
  async attachConsole(name: string, write: (chunk: string) => void, signal: AbortSignal): Promise<ConsoleSession> {
    const rec = isPartitionName(name) ? await this.store.get(name) : undefined;
    const proc = rec ? await this.procs.find(name) : undefined;
    if (!rec || !proc?.alive) {
      throw new VmanError('backend', `partition \`${name}\` has no QEMU running, so its console takes no input`, {
        reason: 'wrong-state',
      });
    }
    let socket: Socket;
    try {
      socket = await this.procs.openConsole(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' || code === 'ECONNREFUSED'
          ? `its QEMU (PID ${proc.pids?.qemu}) was started without a console socket (by an earlier vman); ` +
            'its console takes input once it restarts'
          : code === 'EAGAIN'
            ? 'another `vman console` is attached to it'
            : `cannot connect to its console socket: ${(err as Error).message}`;
      throw new VmanError('backend', `partition \`${name}\`: ${why}`, { reason: 'unsupported', cause: err });
    }
    const wake = new Wakeup();
    const ended = new AbortController();
    const end = () => ended.abort();
    // QEMU writes to the socket, then to the log: look again a moment after the socket's data too.
    socket.on('data', () => {
      wake.wake();
      setTimeout(() => wake.wake(), CONSOLE_ECHO_MS).unref();
    });
    socket.on('error', end);
    socket.once('close', end);
    signal.addEventListener('abort', end, { once: true });
    const done = this.tail(name, write, ended.signal, wake)
      .finally(() => {
        socket.destroy();
        signal.removeEventListener('abort', end);
      })
      // The socket closing ends the tail as an abort does: that is QEMU going, not the user leaving.
      .then((why) => (signal.aborted ? 'detached' : why === 'detached' ? 'ended' : why));
    return {
      send: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      done,
    };
  }

  async close(): Promise<void> {
    this.procs.letGo();
  }
}

/** Opens the QEMU monitor for a board and state directory. */
export function openQemu(opts: MonitorOptions): Monitor {
  return new QemuMonitor(opts.board, opts.stateDir);
}
