// Processes a provider left behind under its scratch state directory (a partition's QEMU, a helper
// that outlived it): found through /proc by their command line or their VMAN_STATE_DIR, so the
// suite can say that something leaked, and end what it caused to be started. Linux only; elsewhere
// nothing is found.
import { readdirSync, readFileSync } from 'node:fs';
import { sep } from 'node:path';

export interface Leftover {
  readonly pid: number;
  /** Its command line, for messages. */
  readonly command: string;
}

const under = (value: string, dir: string): boolean => value === dir || value.includes(`${dir}${sep}`);

/** Live processes (not zombies) whose command line or VMAN_STATE_DIR names `dir` or a path under it. */
export function leftoversUnder(dir: string): Leftover[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: Leftover[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${e}/stat`, 'utf8'))) continue;
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      let env: string[] = [];
      try {
        env = readFileSync(`/proc/${e}/environ`, 'utf8').split('\0');
      } catch {
        // another user's process: its environment is not ours to read
      }
      const stateDir = env.find((v) => v.startsWith('VMAN_STATE_DIR='))?.slice('VMAN_STATE_DIR='.length);
      if (argv.some((a) => under(a, dir)) || (stateDir !== undefined && under(stateDir, dir)))
        out.push({ pid: Number(e), command: argv.join(' ') });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Whether a live process (not a zombie) is in process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return false;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // Fields after the command (which may hold spaces): state, ppid, pgrp, …
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z' && Number(pgrp) === pgid) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/**
 * What is still left under `dir` after `graceMs`: a process SIGKILLed a moment ago (a provider's own
 * child, in its process group) may take that long to die; a leak stays.
 */
export async function lastingLeftoversUnder(dir: string, graceMs: number): Promise<Leftover[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const found = leftoversUnder(dir);
    if (!found.length || Date.now() >= deadline) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGKILLs what is left under `dir`, and says what it was. */
export function killLeftovers(dir: string): Leftover[] {
  const found = leftoversUnder(dir);
  for (const l of found) {
    try {
      process.kill(l.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
