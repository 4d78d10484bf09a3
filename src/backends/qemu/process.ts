// The QEMU process of a partition: started detached (it outlives `vman apply`) under a tiny shell
// that records its pid and, when it ends, its exit status — a guest that powers a RISC-V machine off
// makes QEMU exit 0, and nothing else would be there to see it. Processes are found again through
// the pid file and recognised by their command line, which names the partition's directory.

// node:child_process, not execa (a dependency of package.json): execa 9 can do this (detached, a pipe on
// descriptor 3, the RAM file on 4), but nothing here uses what it adds (a promise of the result, output
// capture, errors on exit): the wrapper outlives vman and is never awaited. It would cost the CLI's
// start-up: measured on Node 20, importing execa took 92-140 ms against 2 ms for node:child_process;
// and it is ES-module-only, so scripts/bundle-cli.mjs cannot bundle this backend and builds no bundle
// at all: every command would start from dist/'s modules.
import { spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { RAM_FD } from './machine.js';

/** Files in a partition's directory that belong to its process. */
export const PROCESS_FILES = { pid: 'qemu.pid', exit: 'exit', log: 'qemu.log' } as const;

// Runs QEMU in the background, writes "SHELLPID QEMUPID" to qemu.pid and, once that file is in
// place, to descriptor 3 (a pipe the starter reads, so it learns the pids without polling), waits,
// then writes "QEMUPID STATUS" to exit. QEMU gets no descriptor 3: the pipe ends when the shell closes it.
// Descriptor RAM_FD (the partition's RAM file) is QEMU's alone: the shell lets go of it.
// umask 177: QEMU's socket and files are the owner's alone (0600).
const WRAPPER = [
  'umask 177',
  'cd "$1" || exit 125',
  'shift',
  '"$@" 3>&- &',
  'q=$!',
  `exec ${RAM_FD}>&-`,
  `echo "$$ $q" > ${PROCESS_FILES.pid}.tmp && mv -f ${PROCESS_FILES.pid}.tmp ${PROCESS_FILES.pid} && echo "$$ $q" >&3`,
  'exec 3>&-',
  'wait "$q"',
  'c=$?',
  `echo "$q $c" > ${PROCESS_FILES.exit}.tmp && mv -f ${PROCESS_FILES.exit}.tmp ${PROCESS_FILES.exit}`,
].join('\n');

export interface Pids {
  /** The shell that waits for QEMU. */
  readonly shell: number;
  readonly qemu: number;
}

/**
 * Starts `binary args` detached, in `dir`, stdout and stderr to qemu.log, with `ram` (if given) as
 * its descriptor RAM_FD; returns once the pid file is written.
 */
export async function startProcess(
  dir: string,
  binary: string,
  args: readonly string[],
  o: { readonly ram?: number; readonly timeoutMs?: number } = {},
): Promise<Pids> {
  const timeoutMs = o.timeoutMs ?? 5_000;
  const log = openSync(join(dir, PROCESS_FILES.log), 'w', 0o600);
  let child;
  try {
    const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', log, log, 'pipe'];
    if (o.ram !== undefined) stdio[RAM_FD] = o.ram;
    child = spawn('/bin/sh', ['-c', WRAPPER, 'vman-qemu', dir, binary, ...args], { cwd: dir, detached: true, stdio });
  } finally {
    closeSync(log);
  }
  child.unref();
  const pipe = child.stdio[3] as Readable;
  const shell = child.pid;
  try {
    return await new Promise<Pids>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(
        () => reject(new Error(`the QEMU process did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const settle = (pids: Pids | undefined, err?: Error) => {
        clearTimeout(timer);
        if (pids) resolve(pids);
        else reject(err ?? new Error('the shell that starts QEMU ended before QEMU started'));
      };
      child.once('error', (e) => settle(undefined, new Error(`cannot start /bin/sh for QEMU: ${e.message}`)));
      pipe.setEncoding('latin1');
      pipe.on('data', (d: string) => {
        text += d;
      });
      pipe.once('close', () => {
        const m = /^(\d+) (\d+)\n/.exec(text);
        settle(m && Number(m[1]) === shell ? { shell, qemu: Number(m[2]) } : undefined);
      });
    });
  } finally {
    pipe.destroy();
  }
}

/** The pids the wrapper recorded, if any. */
export async function readPids(dir: string): Promise<Pids | undefined> {
  const text = await fs.readFile(join(dir, PROCESS_FILES.pid), 'utf8').catch(() => undefined);
  const m = text === undefined ? null : /^(\d+) (\d+)\s*$/.exec(text);
  return m ? { shell: Number(m[1]), qemu: Number(m[2]) } : undefined;
}

/** The exit status the wrapper recorded for `qemuPid` (128 + N for signal N), if it did. */
export async function readExit(dir: string, qemuPid: number): Promise<number | undefined> {
  const text = await fs.readFile(join(dir, PROCESS_FILES.exit), 'utf8').catch(() => undefined);
  const m = text === undefined ? null : /^(\d+) (\d+)\s*$/.exec(text);
  return m && Number(m[1]) === qemuPid ? Number(m[2]) : undefined;
}

/** How long isOurs waits out an exec in progress: EXEC_RETRIES × EXEC_RETRY_MS. */
const EXEC_RETRIES = 50;
const EXEC_RETRY_MS = 2;

/** Whether `pid` is a live process whose command line names `dir` (so a reused pid is never mistaken for ours). */
export async function isOurs(pid: number, dir: string): Promise<boolean> {
  for (let tries = 0; ; tries++) {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
    if (cmdline === undefined) return false;
    // Our QEMU names its console log inside `dir` (in an option list, where a comma is written twice).
    if (cmdline !== '') {
      const inside = [`${dir}/`, `${dir.replaceAll(',', ',,')}/`];
      return cmdline.split('\0').some((a) => a === dir || inside.some((d) => a.includes(d)));
    }
    // No command line: a zombie, or a process in the middle of exec whose new arguments are not in
    // place yet (the wrapper's child becoming QEMU). Only the zombie has ended.
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'latin1').catch(() => '');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    if (state === '' || state === 'Z' || state === 'X' || tries >= EXEC_RETRIES) return false;
    await sleep(EXEC_RETRY_MS);
  }
}

/** Waits until `pid` no longer runs as ours; true if it ended within `timeoutMs`. */
export async function waitGone(pid: number, dir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isOurs(pid, dir))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}

/** Sends `signal` to `pid` if it is still ours. */
export async function signalIfOurs(pid: number, dir: string, signal: NodeJS.Signals): Promise<void> {
  if (!(await isOurs(pid, dir))) return;
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** The last `bytes` of QEMU's own output (its error messages). */
export async function processLog(dir: string, bytes = 2_000): Promise<string> {
  const text = await fs.readFile(join(dir, PROCESS_FILES.log), 'utf8').catch(() => '');
  return text.slice(-bytes).trim();
}
