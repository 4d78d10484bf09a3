// What a writer is doing right now, for the commands that never take the lock (plan, status): who
// holds it and, once its steps have started, which partitions its plan changes (from its journal).
// A plan made meanwhile sees those partitions half-done; this is what lets a front end say why.
import { lockHolder } from '../apply/lock.js';
import { readJournal } from '../apply/journal.js';

export interface WriterActivity {
  readonly pid: number;
  readonly host: string;
  /** What the holder runs: `apply`, `destroy`, `create`, `delete`, … */
  readonly operation: string;
  /** When it took the lock (ISO 8601). */
  readonly since: string;
  /** False when the holder died holding the lock: the next writer takes it over and converges. */
  readonly running: boolean;
  /** The partitions its plan changes, once its steps have started; empty before that. */
  readonly partitions: readonly string[];
  readonly stepsDone: number;
  readonly stepsPlanned: number;
}

/** Who holds the lock in `stateDir` and what it is changing; undefined when nobody holds it. Never throws. */
export async function writerActivity(stateDir: string): Promise<WriterActivity | undefined> {
  const held = await lockHolder(stateDir);
  if (!held) return undefined;
  const o = held.owner;
  const j = await readJournal(stateDir).catch(() => undefined);
  // Only the holder's own journal: one an earlier run left is retired by the holder right after locking.
  const mine = j && j.pid === o.pid && !j.ended ? j : undefined;
  return {
    pid: o.pid,
    host: o.host,
    operation: o.operation,
    since: o.since,
    running: held.alive,
    partitions: mine?.partitions ?? [],
    stepsDone: mine?.completed ?? 0,
    stepsPlanned: mine?.planned ?? 0,
  };
}
