// One reconcile, as a level-triggered agent runs it (`vman watch`; later the libvirt endpoint and
// the fleet agent): plan without the lock first (most resyncs find nothing to do, and `vman apply`
// must not wait for them); only when there is something to do, or a journal to recover, take the
// lock, recover, plan again against fresh live state and apply that plan. Never throws: every end
// is an outcome the agent acts on (bad input waits for files to change, the rest is retried).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic } from '../rules/diagnostic.js';
import { summarize, type Plan } from '../plan/types.js';
import type { EndedPartition } from '../plan/plan.js';
import type { LiveState } from '../backends/types.js';
import { VmanError } from '../errors.js';
import { CODES } from '../rules/codes.js';
import { JOURNAL_FILE } from '../apply/journal.js';
import { Engine, type EngineOptions, type Review } from './engine.js';
import { hasChanges } from './planning.js';
import { applyError } from './writer.js';
import type { ApplyFailure } from '../apply/execute.js';

/** Plan summary counts by action. */
export type Summary = Readonly<Record<string, number>>;

/** How a reconcile ended. */
export type ReconcileOutcome =
  | { readonly result: 'converged'; readonly summary: Summary; readonly stepsRun: number }
  | { readonly result: 'invalid'; readonly problems: readonly Diagnostic[] }
  | {
      readonly result: 'failed';
      readonly error: string;
      readonly summary?: Summary;
      readonly stepsRun?: number;
      /** The partitions whose steps failed (each rolled back); absent when the reconcile failed as a whole. */
      readonly failures?: readonly ApplyFailure[];
    }
  | { readonly result: 'interrupted'; readonly summary?: Summary; readonly stepsRun?: number };

export interface ReconcileOptions {
  /** Aborted when the agent stops: the running step finishes, no other starts, a lock wait ends. */
  readonly signal: AbortSignal;
  /** Shown each plan that has changes, before it runs (the agent prints or emits it). */
  readonly review?: Review;
  /** The agent's restart policy (./restarts.ts RestartTracker): asked during each planning, told each plan. */
  readonly restarts?: RestartHooks;
  /** The operation named in the lock and journal (default `watch`; the fleet agent's is `agent`). */
  readonly operation?: string;
}

/** How an agent's restart policy takes part in a reconcile. */
export interface RestartHooks {
  /** PlanOptions.holdEnded: holds back the start of a partition whose OS ended by itself. */
  readonly hold: (p: EndedPartition) => string | undefined;
  /**
   * Told each plan and the live state it was made against: the lock-free one (`runs` false), then the
   * one made under the lock (`runs`: its steps run next, so the restarts in it are about to happen).
   */
  readonly planned: (plan: Plan, live: LiveState, runs: boolean) => Promise<void>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** An error during a reconcile, as an outcome. */
export function outcomeOf(err: unknown, configDir: string): ReconcileOutcome {
  if (!(err instanceof VmanError)) return { result: 'failed', error: `internal error: ${message(err)}` };
  switch (err.kind) {
    case 'input': {
      const problems = err.diagnostics.length ? err.diagnostics : [{ code: CODES.unreadable, message: err.message }];
      return { result: 'invalid', problems };
    }
    // At run time the only usage errors are a config directory that vanished and a board that
    // contradicts the live one: both wait for files to change.
    case 'usage': {
      const code = existsSync(configDir) ? CODES.boardInvalid : CODES.noConfig;
      return { result: 'invalid', problems: [{ code, message: err.message }] };
    }
    case 'interrupted':
      return { result: 'interrupted' };
    default:
      return { result: 'failed', error: err.message };
  }
}

/** Opens the engine afresh (board.yaml or the records may have changed) and reconciles once. */
export async function reconcileOnce(options: EngineOptions, r: ReconcileOptions): Promise<ReconcileOutcome> {
  const configDir = options.configDir ?? options.cwd;
  let engine: Engine;
  try {
    engine = await Engine.open(options);
  } catch (err) {
    return outcomeOf(err, configDir);
  }
  try {
    const ws = engine.workspace;
    const hold = r.restarts ? { holdEnded: r.restarts.hold } : {};
    const first = await engine.plan(hold);
    await r.restarts?.planned(first.plan, first.live, false);
    if (!hasChanges(first.plan) && !existsSync(join(ws.stateDir, JOURNAL_FILE))) {
      return { result: 'converged', summary: summarize(first.plan), stepsRun: 0 };
    }
    let planned: Plan | undefined;
    const out = await engine.apply({
      operation: r.operation ?? 'watch',
      signal: r.signal,
      ...hold,
      review: async (v) => {
        planned = v.plan;
        const runs = hasChanges(v.plan);
        await r.restarts?.planned(v.plan, v.live, runs);
        if (runs) await r.review?.(v);
      },
    });
    const summary = summarize(planned ?? out.plan);
    const result = out.result;
    if (!result || result.ok) return { result: 'converged', summary, stepsRun: result?.done.length ?? 0 };
    const stepsRun = result.done.length;
    if (result.interrupted && !result.failures.length) return { result: 'interrupted', summary, stepsRun };
    return { result: 'failed', error: applyError(result).message, summary, stepsRun, failures: result.failures };
  } catch (err) {
    return outcomeOf(err, engine.workspace.configDir);
  }
}
