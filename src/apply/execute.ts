// The executor: runs a plan's steps in order against a monitor, journalling each step's intent
// before it acts. A failing partition is rolled back to nothing held; the others are untouched.
import { plannedFor, type Monitor } from '../backends/types.js';
import type { Plan, Step } from '../plan/types.js';
import { VmanError } from '../errors.js';
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
  | { readonly type: 'note'; readonly partition: string; readonly message: string };

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
  /** Set when the user interrupts: the running step finishes, no further step starts. */
  readonly signal: AbortSignal;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs every step whose prerequisites succeeded. Never throws for a step failure: see `failures`. */
export async function executePlan(plan: Plan, o: ExecuteOptions): Promise<ApplyResult> {
  const done = new Set<string>();
  const failedParts = new Set<string>();
  const skipped: string[] = [];
  const failures: ApplyFailure[] = [];
  const blocked = new Set<string>();
  let interrupted = false;
  const lastStepOf = new Map<string, string>();
  for (const s of plan.steps) lastStepOf.set(s.partition, s.id);

  for (const step of plan.steps) {
    if (o.signal.aborted) {
      interrupted = true;
      skipped.push(step.id);
      o.onEvent({ type: 'step-skipped', step, because: 'interrupted' });
      continue;
    }
    const blocker = step.after.find((a) => blocked.has(a));
    const because = failedParts.has(step.partition)
      ? `\`${step.partition}\` failed`
      : blocker !== undefined
        ? `waits for ${blocker}, which did not run`
        : undefined;
    if (because !== undefined) {
      blocked.add(step.id);
      skipped.push(step.id);
      o.onEvent({ type: 'step-skipped', step, because });
      continue;
    }
    await o.lock.verify();
    await o.journal.append({ t: 'intent', step: step.id, time: new Date().toISOString() });
    o.onEvent({ type: 'step-start', step });
    const t0 = performance.now();
    const target = plan.targets[step.partition];
    try {
      await o.monitor.execute(step, {
        ...plannedFor(target),
        report: (m) => o.onEvent({ type: 'note', partition: step.partition, message: m }),
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
      await rollback(step.partition, o);
      if (err instanceof VmanError && err.kind === 'locked') break;
      continue;
    }
    await o.journal.append({ t: 'done', step: step.id, time: new Date().toISOString() });
    done.add(step.id);
    o.onEvent({ type: 'step-done', step, ms: performance.now() - t0 });
    // Records follow the monitor: the manifest fields once loaded, gone once released.
    if (step.kind === 'load' && target) {
      o.records.partitions[step.partition] = target.record;
      await o.saveRecords();
    } else if (step.kind === 'release-resources' && !plan.targets[step.partition]) {
      delete o.records.partitions[step.partition];
      await o.saveRecords();
    } else if (lastStepOf.get(step.partition) === step.id && target) {
      o.records.partitions[step.partition] = target.record;
      await o.saveRecords();
    }
  }
  return { ok: failures.length === 0 && !interrupted, failures, done: [...done], skipped, interrupted };
}

// Tears a failed partition down to nothing held. Each teardown step is safe to repeat.
async function rollback(partition: string, o: ExecuteOptions): Promise<void> {
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
    delete o.records.partitions[partition];
    await o.saveRecords();
    o.onEvent({ type: 'rollback', partition, ok: true });
  } catch (err) {
    o.onEvent({ type: 'rollback', partition, ok: false, error: message(err) });
  }
}
