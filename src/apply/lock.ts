// One writer at a time. The lock is a file created with O_EXCL holding the owner's pid, process
// start time, operation and start date. A lock whose owner is dead (pid gone, or reused by another
// process) is taken over, saying so; a live owner's lock is never taken.
import { promises as fs, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { VmanError } from '../errors.js';
import { syncDir } from '../state/files.js';

export interface LockOwner {
  readonly pid: number;
  /** Process start time (from /proc, in clock ticks since boot), to tell a reused pid from the owner. */
  readonly pidStart: string;
  readonly host: string;
  readonly operation: string;
  /** ISO date the lock was taken. */
  readonly since: string;
}

export interface Lock {
  readonly owner: LockOwner;
  /** Throws if the lock file no longer names this process (defence against a broken lock). */
  verify(): Promise<void>;
  release(): Promise<void>;
}

/** The start time of a process, or undefined when it does not exist. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) follows the command name in parentheses, which may itself hold spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    try {
      process.kill(pid, 0);
      return 'unknown';
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'unknown' : undefined;
    }
  }
}

/** Whether the recorded owner is still running (same pid and same start time). */
export function ownerAlive(o: LockOwner): boolean {
  if (o.host !== hostname()) return true;
  const start = processStart(o.pid);
  if (start === undefined) return false;
  return start === 'unknown' || o.pidStart === 'unknown' || start === o.pidStart;
}

/** The message of a writer that could not get the lock (SPEC: starts with `locked by`). */
export function lockedMessage(o: Pick<LockOwner, 'pid' | 'host' | 'operation' | 'since'>): string {
  return `locked by PID ${o.pid} (${o.operation}, since ${o.since}${o.host !== hostname() ? ` on ${o.host}` : ''})`;
}

/**
 * Who holds the lock in `stateDir`, if anyone, and whether that process still runs: for the commands
 * that never take the lock, to say so. Never waits, never throws (an unreadable lock names nobody).
 */
export async function lockHolder(stateDir: string): Promise<{ owner: LockOwner; alive: boolean } | undefined> {
  const held = await readOwner(join(stateDir, 'lock')).catch(() => undefined);
  if (!held) return undefined;
  return { owner: held.owner, alive: held.ino === -1 || ownerAlive(held.owner) };
}

async function readOwner(file: string): Promise<{ owner: LockOwner; ino: number } | undefined> {
  try {
    const fh = await fs.open(file, constants.O_RDONLY);
    try {
      const st = await fh.stat();
      const text = await fh.readFile('utf8');
      return { owner: JSON.parse(text) as LockOwner, ino: st.ino };
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // A lock file being written right now, or garbage: treat as held by nobody we can name.
    if (err instanceof SyntaxError)
      return { owner: { pid: 0, pidStart: '', host: hostname(), operation: 'unknown', since: 'unknown' }, ino: -1 };
    throw err;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Takes the lock in `stateDir`, waiting up to `timeoutMs`. `onWait` is told once who holds it;
 * `onTakeover` when a dead owner's lock is taken over.
 */
export async function acquireLock(
  stateDir: string,
  operation: string,
  timeoutMs: number,
  hooks: {
    onWait?: (o: LockOwner) => void;
    onTakeover?: (o: LockOwner) => void;
    /** Stops the wait: the call then fails with an `interrupted` error. */
    signal?: AbortSignal;
  } = {},
): Promise<Lock> {
  const file = join(stateDir, 'lock');
  const me: LockOwner = {
    pid: process.pid,
    pidStart: processStart(process.pid) ?? 'unknown',
    host: hostname(),
    operation,
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const mine = join(stateDir, `.lock.${process.pid}`);
    await writeOwnerFile(stateDir, mine, me);
    try {
      // link() fails if `lock` exists: creation and content appear at once.
      await fs.link(mine, file);
      await fs.rm(mine, { force: true });
      await syncDir(stateDir);
      return makeLock(file, me);
    } catch (err) {
      await fs.rm(mine, { force: true });
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = await readOwner(file);
    if (!held) continue;
    if (held.ino !== -1 && !ownerAlive(held.owner)) {
      if (await takeOver(stateDir, file, held.ino)) {
        hooks.onTakeover?.(held.owner);
        continue;
      }
    }
    if (Date.now() >= deadline) throw new VmanError('locked', lockedMessage(held.owner));
    if (hooks.signal?.aborted) {
      throw new VmanError('interrupted', `interrupted while waiting for the lock (${lockedMessage(held.owner)})`);
    }
    if (!told) {
      hooks.onWait?.(held.owner);
      told = true;
    }
    await sleep(Math.min(100, Math.max(1, deadline - Date.now())), hooks.signal);
  }
}

// Writes this process's would-be lock file. A writer that made the state directory removes it again when
// it wrote nothing there (src/engine/writer.ts), so one waiting meanwhile makes it anew.
async function writeOwnerFile(stateDir: string, file: string, me: LockOwner): Promise<void> {
  try {
    await fs.writeFile(file, JSON.stringify(me), { mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
    await fs.writeFile(file, JSON.stringify(me), { mode: 0o600 });
  }
}

// Moves a dead owner's lock aside, but only if it is still the same file (inode) we judged dead;
// if another writer replaced it meanwhile, it is put back untouched.
async function takeOver(stateDir: string, file: string, ino: number): Promise<boolean> {
  const aside = join(stateDir, `.lock.dead.${process.pid}`);
  try {
    await fs.rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const st = await fs.stat(aside);
  if (st.ino !== ino) {
    // We moved a fresh lock: restore it (link fails only if yet another lock appeared, which then rules).
    await fs.link(aside, file).catch(() => undefined);
    await fs.rm(aside, { force: true });
    return false;
  }
  await fs.rm(aside, { force: true });
  return true;
}

function makeLock(file: string, me: LockOwner): Lock {
  let released = false;
  return {
    owner: me,
    async verify() {
      const held = await readOwner(file);
      if (!held || held.owner.pid !== me.pid || held.owner.since !== me.since) {
        throw new VmanError(
          'locked',
          `lost the lock on ${file} while working ` +
            `(${held ? lockedMessage(held.owner) : 'the lock file was removed'}); stopping before the next step`,
        );
      }
    },
    async release() {
      if (released) return;
      released = true;
      const held = await readOwner(file);
      if (held && held.owner.pid === me.pid && held.owner.since === me.since) await fs.rm(file, { force: true });
    },
  };
}
