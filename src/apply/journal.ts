// The apply journal: an append-only file of JSON lines. Each step's intent is made durable
// (fsync) before the step acts, and its completion after; the next writer reads an unfinished
// journal to say what was interrupted, then retires it. With VMAN_CRASH_AT=N (a testing switch)
// the process kills itself with SIGKILL right after the N-th durable record.
import { promises as fs, constants } from 'node:fs';
import { join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { syncDir } from '../state/files.js';

export type JournalRecord =
  | {
      readonly t: 'begin';
      readonly pid: number;
      readonly operation: string;
      readonly time: string;
      readonly steps: readonly string[];
    }
  | { readonly t: 'intent'; readonly step: string; readonly time: string }
  | { readonly t: 'done'; readonly step: string; readonly time: string }
  | { readonly t: 'failed'; readonly step: string; readonly error: string; readonly time: string }
  | { readonly t: 'end'; readonly ok: boolean; readonly time: string };

export const JOURNAL_FILE = 'journal.jsonl';

/** Crash points passed so far in this process (for VMAN_CRASH_AT). */
let crashPoints = 0;

/** Counts a crash point and dies there if VMAN_CRASH_AT names it. */
export function crashPoint(): void {
  crashPoints++;
  const at = Number(process.env.VMAN_CRASH_AT);
  if (Number.isInteger(at) && at > 0 && crashPoints === at) process.kill(process.pid, 'SIGKILL');
}

export class Journal {
  /** Records waiting for the next write, and whom to tell once they are durable. */
  private queued: { readonly line: string; readonly durable: () => void; readonly failed: (e: unknown) => void }[] = [];
  private flushing = false;

  private constructor(private readonly fh: FileHandle) {}

  /** Starts a new journal (the previous one must have been retired). */
  static async begin(stateDir: string, operation: string, steps: readonly string[]): Promise<Journal> {
    const file = join(stateDir, JOURNAL_FILE);
    const fh = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
    await syncDir(stateDir);
    const j = new Journal(fh);
    await j.append({ t: 'begin', pid: process.pid, operation, time: new Date().toISOString(), steps });
    return j;
  }

  /** Appends one record and makes it durable, then passes a crash point. */
  // Concurrent steps' records go out together: one write and one datasync for all that queued
  // meanwhile (a group commit), each durable before its caller goes on, in the order they came.
  append(r: JournalRecord): Promise<void> {
    return new Promise<void>((durable, failed) => {
      this.queued.push({ line: `${JSON.stringify(r)}\n`, durable, failed });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      try {
        await this.fh.write(batch.map((b) => b.line).join(''));
        await this.fh.datasync();
      } catch (err) {
        for (const b of batch) b.failed(err);
        continue;
      }
      // One crash point per record, as when each was written alone.
      for (const b of batch) {
        crashPoint();
        b.durable();
      }
    }
    this.flushing = false;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** What an unfinished journal tells about the run that wrote it. */
export interface Interrupted {
  readonly pid: number;
  readonly operation: string;
  readonly time: string;
  /** Steps whose intent was recorded but not their completion. */
  readonly inFlight: readonly string[];
  /** The partitions the run's plan changes, in the order of its steps. */
  readonly partitions: readonly string[];
  readonly completed: number;
  readonly planned: number;
  /** The run ended (ok or not) but its journal was not retired. */
  readonly ended: boolean;
}

/** Reads a journal left behind, if any. A torn last line (crash mid-write) is ignored. */
export async function readJournal(stateDir: string): Promise<Interrupted | undefined> {
  let text: string;
  try {
    text = await fs.readFile(join(stateDir, JOURNAL_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const records: JournalRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as JournalRecord);
    } catch {
      break;
    }
  }
  const begin = records.find((r): r is Extract<JournalRecord, { t: 'begin' }> => r.t === 'begin');
  const open = new Set<string>();
  let completed = 0;
  for (const r of records) {
    if (r.t === 'intent') open.add(r.step);
    if (r.t === 'done') {
      open.delete(r.step);
      completed++;
    }
    if (r.t === 'failed') open.delete(r.step);
  }
  return {
    pid: begin?.pid ?? 0,
    operation: begin?.operation ?? 'unknown',
    time: begin?.time ?? 'unknown',
    inFlight: [...open],
    // Step ids are `PARTITION/KIND`.
    partitions: [...new Set((begin?.steps ?? []).map((id) => id.slice(0, id.lastIndexOf('/'))))],
    completed,
    planned: begin?.steps.length ?? 0,
    ended: records.some((r) => r.t === 'end'),
  };
}

/** Retires the journal: keeps the last one as journal.prev.jsonl for inspection. */
export async function retireJournal(stateDir: string): Promise<void> {
  try {
    await fs.rename(join(stateDir, JOURNAL_FILE), join(stateDir, 'journal.prev.jsonl'));
    await syncDir(stateDir);
    crashPoint();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
