// The executor: runs a plan's steps against a monitor, each as soon as what it waits for is done
// (SPEC "Bring-up order and parallelism"), journalling each step's intent before it acts. A failing
// partition is rolled back to nothing held; the others carry on.
import { plannedFor, type Monitor } from '../backends/types.js';
import type { Plan, Step } from '../plan/types.js';
import { VmanError } from '../errors.js';
import { Serial } from '../state/serial.js';
import type { Journal } from './journal.js';
import type { Lock } from './lock.js';
import type { StateRecords } from './records.js';

/** Progress as the executor reports it. */
export type ApplyEvent =
  | { readonly type: 'step-start'; readonly step: Step }
  | { readonly type: 'step-done'; readonly step: Step; readonly ms: number }
  | { readonly type: 'step-failed'; readonly step: Step; readonly ms: number; readonly error: string }
  | { readonly type: 'step-skipped'; readonly step: Step; readonly because: string }
  | { readonly type: 'rollback'; readonly partition: string; readonly ok: boolean; readonly error?: string }
  | { readonly type: 'note'; readonly partition: string; readonly message: string }
  /** How many bytes a running step (a load) has moved. */
  | { readonly type: 'step-bytes'; readonly step: Step; readonly done: number; readonly total: number };

export interface ApplyFailure {
  readonly step: string;
  readonly partition: string;
  readonly message: string;
}

export interface ApplyResult {
  readonly ok: boolean;
  readonly failures: readonly ApplyFailure[];
  readonly done: readonly string[];
  readonly skipped: readonly string[];
  readonly interrupted: boolean;
}

export interface ExecuteOptions {
  readonly monitor: Monitor;
  readonly journal: Journal;
  readonly lock: Lock;
  readonly records: StateRecords;
  /** Persists `records` (called after each partition's record changes). */
  readonly saveRecords: () => Promise<void>;
  readonly onEvent: (e: ApplyEvent) => void;
  /** Set when the user interrupts: the running steps finish, no further step starts. */
  readonly signal: AbortSignal;
  /** How many steps may run at once (default DEFAULT_PARALLELISM; 1: one after another, in plan order). */
  readonly parallelism?: number;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** How many steps run at once unless told otherwise (Terraform's -parallelism default). */
export const DEFAULT_PARALLELISM = 10;

/**
 * Runs every step whose prerequisites succeeded, each as soon as the steps in its `after` are done,
 * at most `parallelism` at once (1: exactly the plan's order). A partition's steps chain through
 * `after`, so each partition has at most one step running. Never throws for a step failure: see
 * `failures`; the failing partition is rolled back while the others carry on.
 */
export async function executePlan(plan: Plan, o: ExecuteOptions): Promise<ApplyResult> {
  const limit = Math.max(1, o.parallelism ?? DEFAULT_PARALLELISM);
  const done = new Set<string>();
  const failedParts = new Set<string>();
  const skipped: string[] = [];
  const failures: ApplyFailure[] = [];
  /** Steps that did not succeed (failed or skipped): what waits for them does not run. */
  const blocked = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const waiting = [...plan.steps];
  let interrupted = false;
  const lastStepOf = new Map<string, string>();
  for (const s of plan.steps) lastStepOf.set(s.partition, s.id);
  // The records file is rewritten whole: one change and save at a time.
  const records = new Serial();
  const save = (f: () => void) => records.run(async () => (f(), await o.saveRecords()));

  const skip = (step: Step, because: string) => {
    blocked.add(step.id);
    skipped.push(step.id);
    o.onEvent({ type: 'step-skipped', step, because });
  };

  // One step: journal its intent, carry it out, journal the outcome; a failure rolls its partition back.
  const run = async (step: Step): Promise<void> => {
    await o.lock.verify();
    await o.journal.append({ t: 'intent', step: step.id, time: new Date().toISOString() });
    o.onEvent({ type: 'step-start', step });
    const t0 = performance.now();
    const target = plan.targets[step.partition];
    try {
      await o.monitor.execute(step, {
        ...plannedFor(target),
        report: (m) => o.onEvent({ type: 'note', partition: step.partition, message: m }),
        bytes: (done, total) => o.onEvent({ type: 'step-bytes', step, done, total }),
        signal: o.signal,
      });
    } catch (err) {
      const ms = performance.now() - t0;
      const msg = message(err);
      await o.journal.append({ t: 'failed', step: step.id, error: msg, time: new Date().toISOString() });
      o.onEvent({ type: 'step-failed', step, ms, error: msg });
      failures.push({ step: step.id, partition: step.partition, message: msg });
      failedParts.add(step.partition);
      blocked.add(step.id);
      // Another writer took the lock: nothing more may act (this partition is left for the next writer).
      if (err instanceof VmanError && err.kind === 'locked') lockLost = true;
      else await rollback(step.partition, o, save);
      return;
    }
    await o.journal.append({ t: 'done', step: step.id, time: new Date().toISOString() });
    done.add(step.id);
    o.onEvent({ type: 'step-done', step, ms: performance.now() - t0 });
    // Records follow the monitor: the manifest fields once loaded, gone once released.
    const p = step.partition;
    if (step.kind === 'load' && target) await save(() => (o.records.partitions[p] = target.record));
    else if (step.kind === 'release-resources' && !plan.targets[p]) await save(() => delete o.records.partitions[p]);
    else if (lastStepOf.get(p) === step.id && target) await save(() => (o.records.partitions[p] = target.record));
  };

  let lockLost = false;
  let lost: { readonly error: unknown } | undefined;
  for (;;) {
    // Start what can start, in plan order; skip what never can.
    for (let i = 0; i < waiting.length && running.size < limit && !lockLost && !lost;) {
      const step = waiting[i]!;
      if (o.signal.aborted) {
        interrupted = true;
        waiting.splice(i, 1);
        skip(step, 'interrupted');
        continue;
      }
      const blocker = step.after.find((a) => blocked.has(a));
      if (failedParts.has(step.partition) || blocker !== undefined) {
        waiting.splice(i, 1);
        const failed = failedParts.has(step.partition);
        skip(step, failed ? `\`${step.partition}\` failed` : `waits for ${blocker}, which did not run`);
        continue;
      }
      if (!step.after.every((a) => done.has(a))) {
        i++;
        continue;
      }
      waiting.splice(i, 1);
      const r = run(step).then(
        () => void running.delete(step.id),
        (error: unknown) => {
          running.delete(step.id);
          lost ??= { error };
        },
      );
      running.set(step.id, r);
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  // The journal or the lock failed outside any step: the running steps were let finish; nothing else starts.
  if (lost) throw lost.error;
  for (const step of waiting) skip(step, lockLost ? 'the lock was lost' : 'its prerequisites did not finish');
  return { ok: failures.length === 0 && !interrupted, failures, done: [...done], skipped, interrupted };
}

// Tears a failed partition down to nothing held. Each teardown step is safe to repeat.
async function rollback(partition: string, o: ExecuteOptions, save: (f: () => void) => Promise<void>): Promise<void> {
  try {
    const base = { partition, after: [] };
    const steps: Step[] = [
      { ...base, id: `${partition}/rollback-stop-cores`, kind: 'stop-cores' },
      { ...base, id: `${partition}/rollback-scrub-memory`, kind: 'scrub-memory', memory: { base: 0, size: 0 } },
      { ...base, id: `${partition}/rollback-release-resources`, kind: 'release-resources' },
    ];
    for (const step of steps) {
      await o.journal.append({ t: 'intent', step: step.id, time: new Date().toISOString() });
      await o.monitor.execute(step, { report: () => undefined, signal: new AbortController().signal });
      await o.journal.append({ t: 'done', step: step.id, time: new Date().toISOString() });
    }
    await save(() => delete o.records.partitions[partition]);
    o.onEvent({ type: 'rollback', partition, ok: true });
  } catch (err) {
    o.onEvent({ type: 'rollback', partition, ok: false, error: message(err) });
  }
}
