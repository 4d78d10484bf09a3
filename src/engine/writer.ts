// What every writer shares: the lock, recovery of an interrupted run, and running a plan's steps
// under the journal. Apply, destroy, create, delete, watch, and every later front end come through
// here, so the one-writer and crash guarantees hold for all of them.
import { existsSync, promises as fs } from 'node:fs';
import type { Plan } from '../plan/types.js';
import { VmanError } from '../errors.js';
import { acquireLock, type Lock } from '../apply/lock.js';
import { Journal, readJournal, retireJournal, type Interrupted } from '../apply/journal.js';
import { executePlan, type ApplyResult } from '../apply/execute.js';
import { readRecords, writeRecords, type StateRecords } from '../apply/records.js';
import { ensurePrivateDir } from '../state/files.js';
import type { Reporter } from './events.js';
import type { Workspace } from './workspace.js';
import { readLive, type Live } from './state.js';

/** How a writer runs: where its events go, and what stops it (the running step finishes, no other starts). */
export interface WriterOptions {
  readonly report: Reporter;
  readonly signal: AbortSignal;
}

/** Takes the lock for `operation`, telling the reporter when it waits or takes over a dead owner's lock. */
export async function lockState(ws: Workspace, operation: string, o: WriterOptions): Promise<Lock> {
  await ensurePrivateDir(ws.stateDir);
  return acquireLock(ws.stateDir, operation, ws.lockTimeoutMs, {
    onWait: (holder) => o.report({ type: 'lock-wait', holder, timeoutMs: ws.lockTimeoutMs }),
    onTakeover: (holder) => o.report({ type: 'lock-takeover', holder }),
    signal: o.signal,
  });
}

/** Reads and retires a journal an interrupted run left; returns what it said. */
export async function recover(ws: Workspace, report: Reporter): Promise<Interrupted | undefined> {
  const j = await readJournal(ws.stateDir);
  if (!j) return undefined;
  await retireJournal(ws.stateDir);
  if (!j.ended) report({ type: 'recovered', interrupted: j });
  return j;
}

/** Runs a plan's steps under the lock the caller holds. Records the board and backend first. */
export async function runPlan(
  ws: Workspace,
  live: Live,
  plan: Plan,
  lock: Lock,
  operation: string,
  o: WriterOptions,
): Promise<ApplyResult> {
  const records: StateRecords = await readRecords(ws.stateDir);
  records.board = { name: ws.board.name, origin: ws.boardOrigin, board: ws.board };
  records.backend = ws.backend;
  await writeRecords(ws.stateDir, records);
  const journal = await Journal.begin(
    ws.stateDir,
    operation,
    plan.steps.map((s) => s.id),
  );
  const result = await executePlan(plan, {
    monitor: live.monitor,
    journal,
    lock,
    records,
    saveRecords: () => writeRecords(ws.stateDir, records),
    onEvent: o.report,
    signal: o.signal,
    parallelism: ws.parallelism,
  });
  await journal.append({ t: 'end', ok: result.ok, time: new Date().toISOString() });
  await journal.close();
  await retireJournal(ws.stateDir);
  return result;
}

/** The error for a run that did not finish. */
export function applyError(result: ApplyResult): VmanError {
  if (result.interrupted && !result.failures.length) {
    return new VmanError(
      'interrupted',
      `apply interrupted: ${result.done.length} step(s) done, ${result.skipped.length} not started; ` +
        'run `vman apply` again to converge',
    );
  }
  const f = result.failures[0];
  const n = result.failures.length - 1;
  const more = n > 0 ? ` (and ${n} more failure${n > 1 ? 's' : ''})` : '';
  return new VmanError(
    'apply',
    `step ${f?.step} failed for partition \`${f?.partition}\`: ${f?.message}; \`${f?.partition}\` was rolled back ` +
      `to nothing held, other partitions were not touched${more}`,
  );
}

/** What a writer works with once it holds the lock. */
export interface WriterSession {
  readonly lock: Lock;
  /** Live state read under the lock, after recovery. */
  readonly live: Live;
  /** What an interrupted run left, if anything (already retired and reported). */
  readonly recovered: Interrupted | undefined;
}

/** The operation the fleet agent writes as (ReconcileOptions.operation); the only writer of its state. */
export const FLEET_OPERATION = 'agent';

/**
 * The fleet agent's state directory has one source of truth, Kubernetes: any other writer (a hand-run
 * apply, `create`, `vman watch`) would fight the agent, or destroy the fleet's partitions as undeclared.
 */
function refuseFleetState(ws: Workspace, operation: string): void {
  const fleet = ws.fleetDir;
  if (fleet === undefined || operation === FLEET_OPERATION) return;
  throw new VmanError(
    'refused',
    `state directory ${ws.stateDir} belongs to the fleet agent (vman agent): its partitions come from ` +
      'Kubernetes; change them with kubectl, or give this command a state directory of its own ' +
      `(to take the device back from the fleet, stop the agent and remove ${fleet})`,
    { reason: 'refused' },
  );
}

/**
 * Runs `fn` as a writer: holds the lock from before planning to the end (so what is approved is what
 * runs), recovers an interrupted run first, and hands over live state read under the lock.
 */
export async function asWriter<T>(
  ws: Workspace,
  operation: string,
  o: WriterOptions,
  fn: (s: WriterSession) => Promise<T>,
): Promise<T> {
  refuseFleetState(ws, operation);
  const fresh = !existsSync(ws.stateDir);
  const lock = await lockState(ws, operation, o);
  try {
    const recovered = await recover(ws, o.report);
    const live = await readLive(ws);
    try {
      return await fn({ lock, live, recovered });
    } finally {
      await live.monitor.close();
    }
  } finally {
    await lock.release();
    // A state directory made only to hold the lock goes again when nothing was written into it (a first
    // apply that failed, say): rmdir removes only an empty directory.
    if (fresh) await fs.rmdir(ws.stateDir).catch(() => undefined);
  }
}
