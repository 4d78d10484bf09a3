// A partition's QEMU process over its life: found again (process.ts), spawned and waited for until
// its machine is built, asked over QMP what it is doing, and ended (QMP quit, then SIGTERM, then
// SIGKILL). One QMP connection per partition may be held from a load's start-up to its release.
import { promises as fs } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Board } from '../../board/model.js';
import { VmanError } from '../../errors.js';
import type { PowerState } from '../types.js';
import { powerFromExit, powerFromStatus, shutdownRequested } from './power.js';
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
import { FILES, type RecordStore } from './records.js';

/** sockaddr_un.sun_path: 108 bytes with the terminating NUL. */
const UNIX_PATH_MAX = 107;
/** From spawning QEMU to its QMP answering (its machine built). */
const START_TIMEOUT_MS = 30_000;
/** While QEMU starts: how soon to try its socket again, and how often to check that it still runs. */
const START_RETRY_MS = 2;
const START_CHECK_MS = 20;
/** Ending a process: QMP quit first, then SIGTERM, then SIGKILL, each given this long. */
const END_WAIT_MS = { quit: 5_000, term: 3_000, kill: 3_000 } as const;
/** How much of the end of qemu.log to read for the shutdown trace (QEMU writes little else there). */
const LOG_TAIL_BYTES = 64 * 1024;
/** The shell's status for a command it cannot find. */
const SHELL_NOT_FOUND = 127;

/** A partition's process as found on the host. */
export interface ProcessView {
  readonly pids: Pids | undefined;
  readonly alive: boolean;
}

/** Seconds, as messages print them. */
export const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)}s`;

/** The QEMU processes of one state directory's partitions. */
export class QemuProcesses {
  /** The QMP connections loads opened while their QEMU started, by partition; the release after each uses it too. */
  private readonly held = new Map<string, QmpClient>();

  constructor(
    private readonly board: Board,
    private readonly store: RecordStore,
  ) {}

  /** The partition's process: the pids its wrapper recorded, and whether QEMU still runs. */
  async find(name: string): Promise<ProcessView> {
    const dir = this.store.dir(name);
    const pids = await readPids(dir);
    return { pids, alive: pids ? await isOurs(pids.qemu, dir) : false };
  }

  /** Whether the partition's QEMU `pid` still runs. */
  async running(name: string, pid: number): Promise<boolean> {
    return isOurs(pid, this.store.dir(name));
  }

  // Runs `fn` over QMP: on the connection held from a load's start-up to its release, else on a
  // fresh one (QEMU serves one client at a time: keep it short).
  async qmp<T>(name: string, fn: (c: QmpClient) => Promise<T>, timeoutMs = QMP_TIMEOUT_MS): Promise<T> {
    const held = this.held.get(name);
    if (held?.open) return fn(held);
    const client = await this.connect(name, timeoutMs);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  }

  // QEMU serves one QMP client at a time and keeps a short listen queue: while another reader (the
  // agent's resync, a libvirt client, `vman status`) holds its monitor, connect() fails with EAGAIN.
  // That is busy, not gone: try again until the deadline.
  private async connect(name: string, timeoutMs: number): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        return await this.connectOnce(name, Math.max(1, deadline - Date.now()));
      } catch (err) {
        const busy = err instanceof QmpError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EAGAIN';
        if (!busy || Date.now() + wait >= deadline) throw err;
        await sleep(wait);
      }
    }
  }

  private connectOnce(name: string, timeoutMs: number): Promise<QmpClient> {
    return this.viaDirectory(name, FILES.qmp, (path) => QmpClient.connect(path, { timeoutMs }));
  }

  // Runs `fn` with a path to a socket in the partition's directory. A long state path does not fit
  // sun_path: then the socket is reached through an open handle on its directory.
  private async viaDirectory<T>(name: string, socket: string, fn: (path: string) => Promise<T>): Promise<T> {
    const direct = this.store.path(name, socket);
    if (Buffer.byteLength(direct) <= UNIX_PATH_MAX) return fn(direct);
    const fh = await fs.open(this.store.dir(name), 'r');
    try {
      return await fn(`/proc/self/fd/${fh.fd}/${socket}`);
    } finally {
      await fh.close();
    }
  }

  /**
   * A connection to the partition's console socket: what is written to it goes to the partition's UART.
   * Fails with the socket's error code (ENOENT: a QEMU started without one; EAGAIN: another client holds it).
   */
  openConsole(name: string): Promise<Socket> {
    return this.viaDirectory(
      name,
      FILES.consoleSocket,
      (path) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(path);
          socket.once('connect', () => {
            socket.off('error', reject);
            resolve(socket);
          });
          socket.once('error', reject);
        }),
    );
  }

  /** Closes the connection held to `name`'s QEMU (to every one without a name). */
  letGo(name?: string): void {
    for (const [n, client] of this.held) {
      if (name !== undefined && n !== name) continue;
      client.close();
      this.held.delete(n);
    }
  }

  /** QMP query-status. */
  async status(name: string): Promise<string> {
    const r = await this.qmp(name, (c) => c.execute<{ status: string }>('query-status'));
    return r.status;
  }

  /**
   * A query-status answer as a power state. QEMU says `shutdown` both after a guest's power-off and after
   * its reset (-no-reboot); its log tells which (power.ts), and a reset is a crash.
   */
  async powerOf(name: string, status: string, stoppedByVman: boolean): Promise<PowerState> {
    if (status !== 'shutdown') return powerFromStatus(status, stoppedByVman);
    const log = await processLog(this.store.dir(name), LOG_TAIL_BYTES);
    return powerFromStatus(status, stoppedByVman, shutdownRequested(log));
  }

  /** The exit status the wrapper recorded; waits briefly when QEMU just ended and the wrapper has not written it. */
  async exitStatus(name: string, pids: Pids): Promise<number | undefined> {
    const dir = this.store.dir(name);
    for (let i = 0; i < 50; i++) {
      const code = await readExit(dir, pids.qemu);
      if (code !== undefined || !(await isOurs(pids.shell, dir))) return code ?? (await readExit(dir, pids.qemu));
      await sleep(20);
    }
    return undefined;
  }

  /** The power state of a partition whose QEMU has ended by itself. */
  async exitPower(name: string, pids: Pids): Promise<PowerState> {
    return powerFromExit(this.board.arch, await this.exitStatus(name, pids));
  }

  /**
   * The power state of a recorded partition, from its process and QMP. A QEMU that runs and does not
   * answer is an error, except while a load starts it (no boot recorded yet and QMP not listening).
   */
  async power(name: string, proc: ProcessView, o: { stoppedByVman: boolean; booted: boolean }): Promise<PowerState> {
    if (!proc.pids) return 'stopped';
    // A machine whose load never completed was never entered: its end is no crash.
    if (!proc.alive) return o.booted ? this.exitPower(name, proc.pids) : 'stopped';
    try {
      return await this.powerOf(name, await this.status(name), o.stoppedByVman);
    } catch (err) {
      // It may have ended while we asked, or (a load in progress) not be listening yet; otherwise it does not answer.
      if (!(await this.running(name, proc.pids.qemu))) return o.booted ? this.exitPower(name, proc.pids) : 'stopped';
      // A load in progress: its QEMU is starting and may not listen yet, or is being ended.
      if (!o.booted) return 'stopped';
      throw new VmanError(
        'backend',
        `cannot read the state of partition \`${name}\` from its QEMU (PID ${proc.pids.qemu}): ` +
          (err as Error).message,
        { cause: err },
      );
    }
  }

  /** Spawns `binary args` for the partition, detached, with the RAM file as its descriptor RAM_FD. */
  async spawn(name: string, binary: string, args: readonly string[], ram: number): Promise<Pids> {
    try {
      return await startProcess(this.store.dir(name), binary, args, { ram });
    } catch (err) {
      throw new VmanError('apply', `cannot start QEMU for \`${name}\`: ${(err as Error).message}`, { cause: err });
    }
  }

  // Waits until the new QEMU answers QMP and returns its status; if it exits first, fails with what it
  // printed. QEMU opens its socket early and answers once its machine is built, so one connection
  // waits for that moment, and is held for the release that follows.
  async waitStarted(name: string, pids: Pids): Promise<string> {
    const dir = this.store.dir(name);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last: unknown;
    let checked = 0;
    while (Date.now() < deadline) {
      if (Date.now() - checked >= START_CHECK_MS) {
        checked = Date.now();
        if (!(await isOurs(pids.qemu, dir))) throw await this.startFailure(name, pids);
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
      `QEMU for \`${name}\` did not answer on its QMP socket within ${secs(START_TIMEOUT_MS)}: ` +
        `${(last as Error | undefined)?.message ?? ''}`,
    );
  }

  // Why a QEMU exited while it started: its exit status and the end of what it printed.
  private async startFailure(name: string, pids: Pids): Promise<VmanError> {
    const code = await this.exitStatus(name, pids);
    const log = await processLog(this.store.dir(name));
    const missing =
      code === SHELL_NOT_FOUND
        ? ` (is ${this.board.qemu?.binary} installed? Debian: qemu-system-arm for ARM, qemu-system-misc for RISC-V)`
        : '';
    return new VmanError(
      'apply',
      `QEMU for \`${name}\` exited at start-up${code === undefined ? '' : ` with status ${code}`}${missing}` +
        `${log ? `: ${log}` : ''}`,
    );
  }

  // Ends the partition's QEMU and its RAM: QMP quit, then SIGTERM, then SIGKILL.
  async end(name: string, pids: Pids): Promise<void> {
    const dir = this.store.dir(name);
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

  /** Waits for the wrapper shell of an ended QEMU to finish writing its exit status. */
  async waitWrapper(name: string, pids: Pids): Promise<void> {
    await waitGone(pids.shell, this.store.dir(name), END_WAIT_MS.kill);
  }

  // After the process has ended: what belonged to that boot goes (the console log stays for `vman console`).
  async removeFiles(name: string): Promise<void> {
    const dir = this.store.dir(name);
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const boot = (n: string) =>
      n === PROCESS_FILES.pid || n === PROCESS_FILES.exit || n === FILES.qmp || n === FILES.consoleSocket;
    await Promise.all(names.filter(boot).map((n) => fs.rm(this.store.path(name, n), { force: true })));
  }
}
