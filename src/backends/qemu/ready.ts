// wait-ready with `readiness.console`: the partition is ready when a line of its console matches.
// The console log is polled (READY_POLL_MS) and QEMU asked now and then (READY_CHECK_MS) whether the
// guest still runs, so a guest that stops, powers off or loses its QEMU fails at once, unless the
// line came first.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Arch } from '../../board/model.js';
import { VmanError } from '../../errors.js';
import type { StepContext } from '../types.js';
import { ConsoleReader, quoteLines } from './console.js';
import { secs, type QemuProcesses } from './lifecycle.js';
import { powerFromExit } from './power.js';
import type { Pids } from './process.js';
import { FILES, type RecordStore } from './records.js';

/**
 * wait-ready looks for new console output every READY_POLL_MS (one stat when there is none), and
 * every READY_CHECK_MS asks QEMU whether the guest still runs. Each wake-up costs ~0.2-0.4 ms of CPU
 * on a VM host, taken from the booting guest's cores: inotify woke vman on each of QEMU's ~1000
 * console writes, a 10 ms poll cost ~5 % of a core; 25 ms costs ~2 % and sees the line ~12 ms late
 * on average.
 */
const READY_POLL_MS = 25;
const READY_CHECK_MS = 500;

export interface ConsoleWait {
  readonly name: string;
  /** The partition's QEMU, released. */
  readonly pids: Pids;
  /** A regular expression (readiness.console). */
  readonly pattern: string;
  readonly timeoutMs: number;
}

// Follows the console until a line matches; fails when the guest stops, powers off or loses its QEMU
// first, or at the timeout, quoting the console's last lines. Returns the line.
export async function waitForConsoleLine(
  w: ConsoleWait,
  procs: QemuProcesses,
  store: RecordStore,
  ctx: StepContext,
  arch: Arch,
): Promise<string> {
  const { name, pids, pattern, timeoutMs } = w;
  const re = new RegExp(pattern);
  const reader = new ConsoleReader(store.path(name, FILES.console));
  const deadline = Date.now() + timeoutMs;
  ctx.report(`waiting up to ${secs(timeoutMs)} for a console line matching /${pattern}/`);
  const matched = (): string | undefined => {
    const line = reader.lines().find((l) => re.test(l));
    if (line !== undefined) return line;
    const p = reader.pending();
    return p && re.test(p) ? p : undefined;
  };
  // The rollback that follows keeps this boot's console as the previous one: the message says where.
  const notReady = (why: string) =>
    new VmanError(
      'apply',
      `\`${name}\` ${why}; no console line matched /${pattern}/. ` +
        `The console's last lines:\n${quoteLines(reader.lastLines())}\n` +
        `The whole console is kept: \`vman console ${name} --previous\` ` +
        `(${store.path(name, FILES.previousConsole)})`,
    );
  try {
    let checked = Date.now();
    for (;;) {
      const line = matched();
      if (line !== undefined) return line;
      if (ctx.signal.aborted) throw notReady('was interrupted while waiting to be ready');
      const now = Date.now();
      if (now >= deadline) throw notReady(`was not ready within ${secs(timeoutMs)}`);
      if (now - checked >= READY_CHECK_MS) {
        checked = now;
        if (!(await procs.running(name, pids.qemu))) {
          const last = matched();
          if (last !== undefined) return last;
          const code = await procs.exitStatus(name, pids);
          const lost = `lost its QEMU (exit status ${code ?? 'unknown'})`;
          throw notReady(`${powerFromExit(arch, code) === 'shutdown' ? 'powered off' : lost} before it was ready`);
        }
        const status = await procs.status(name).catch(() => 'running');
        const state = await procs.powerOf(name, status, false);
        if (state !== 'running') {
          const last = matched();
          if (last !== undefined) return last;
          throw notReady(
            state === 'shutdown'
              ? 'powered off before it was ready'
              : status === 'shutdown'
                ? 'reset itself (a kernel panic, or a reboot) before it was ready'
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
