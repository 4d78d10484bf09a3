// `vman watch [--settle D] [--resync D]`: the file-drop agent. src/watch decides when to
// reconcile; this module supplies the reconcile (plan, then apply without asking, under the lock
// only while it runs), renders events (JSON lines or text) and handles SIGTERM/SIGINT: the first
// finishes the running step and exits 0, a second exits at once (the journal tells the next run).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Command } from '../run.js';
import type { Invocation } from '../args.js';
import type { CommandIO } from '../io.js';
import { VmanError } from '../../errors.js';
import { CODES } from '../../rules/codes.js';
import type { Diagnostic } from '../../rules/diagnostic.js';
import { parseDuration } from '../../manifest/units.js';
import { acquireLock, type Lock } from '../../apply/lock.js';
import { JOURNAL_FILE } from '../../apply/journal.js';
import type { ApplyEvent } from '../../apply/execute.js';
import { summarize } from '../../plan/types.js';
import { ensurePrivateDir } from '../../state/files.js';
import { coreConfig, DEFAULT_RESYNC_MS, DEFAULT_SETTLE_MS, type Outcome } from '../../watch/core.js';
import { runAgent, type ReconcileRequest } from '../../watch/agent.js';
import type { Emit, EventBody, WatchEvent } from '../../watch/events.js';
import { openContext, type Context } from '../context.js';
import { readLive } from '../live.js';
import { planAgainst, hasChanges } from '../planning.js';
import { recover, runPlan, applyError, freshLive } from '../writer.js';
import { renderPlan } from '../render/plan.js';
import { renderDiagnostic } from '../render/diagnostics.js';
import { lookupSource } from '../render/source.js';
import { styleFor, type Style } from '../render/style.js';

/** How often a writer waiting for the lock checks whether it was asked to stop. */
const LOCK_POLL_MS = 200;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function durationFlag(v: unknown, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const d = parseDuration(v, flag);
  if (!d.ok) throw new VmanError('usage', `${d.message}${d.hint ? `; ${d.hint}` : ''}`);
  return d.value;
}

/** An error during a reconcile, as an outcome: bad input waits for files to change, the rest is retried. */
function outcomeOf(err: unknown, configDir: string): Outcome {
  if (err instanceof VmanError) {
    if (err.kind === 'input')
      return {
        result: 'invalid',
        problems: err.diagnostics.length ? err.diagnostics : [{ code: CODES.unreadable, message: err.message }],
      };
    // At run time the only usage errors are a config directory that vanished and a board that contradicts the live one.
    if (err.kind === 'usage')
      return {
        result: 'invalid',
        problems: [{ code: existsSync(configDir) ? CODES.boardInvalid : CODES.noConfig, message: err.message }],
      };
    return { result: 'failed', error: err.message };
  }
  return { result: 'failed', error: `internal error: ${message(err)}` };
}

// Waits for the lock like any writer (--lock-timeout), but gives up at once when asked to stop.
async function takeLock(ctx: Context, signal: AbortSignal, emit: Emit): Promise<Lock | undefined> {
  await ensurePrivateDir(ctx.stateDir);
  const deadline = Date.now() + ctx.lockTimeoutMs;
  let told = false;
  for (;;) {
    if (signal.aborted) return undefined;
    try {
      return await acquireLock(ctx.stateDir, 'watch', Math.min(LOCK_POLL_MS, Math.max(0, deadline - Date.now())), {
        onWait: (o) => {
          if (told) return;
          told = true;
          emit({ event: 'lock-wait', holder: { pid: o.pid, operation: o.operation, since: o.since } });
        },
        onTakeover: (o) =>
          emit({ event: 'lock-takeover', holder: { pid: o.pid, operation: o.operation, since: o.since } }),
      });
    } catch (err) {
      if (!(err instanceof VmanError) || err.kind !== 'locked' || Date.now() >= deadline) throw err;
    }
  }
}

function stepEvent(e: ApplyEvent): EventBody {
  switch (e.type) {
    case 'step-start':
      return { event: 'step-started', step: e.step.id, partition: e.step.partition, kind: e.step.kind };
    case 'step-done':
      return {
        event: 'step-done',
        step: e.step.id,
        partition: e.step.partition,
        kind: e.step.kind,
        ms: Math.round(e.ms),
      };
    case 'step-failed':
      return {
        event: 'step-failed',
        step: e.step.id,
        partition: e.step.partition,
        kind: e.step.kind,
        ms: Math.round(e.ms),
        error: e.error,
      };
    case 'step-skipped':
      return {
        event: 'step-skipped',
        step: e.step.id,
        partition: e.step.partition,
        kind: e.step.kind,
        because: e.because,
      };
    case 'rollback':
      return {
        event: 'rollback',
        partition: e.partition,
        ok: e.ok,
        ...(e.error !== undefined ? { error: e.error } : {}),
      };
    case 'note':
      return { event: 'note', partition: e.partition, message: e.message };
  }
}

/**
 * One reconcile. It plans first without the lock (most resyncs find nothing to do, and `vman
 * apply` must not wait for them); only when there is something to do (or a journal to recover)
 * does it take the lock, recover, plan again against fresh live state and apply that plan.
 */
async function reconcile(inv: Invocation, io: CommandIO, r: ReconcileRequest, configDir: string): Promise<Outcome> {
  let ctx: Context;
  try {
    ctx = await openContext(inv, io);
  } catch (err) {
    return outcomeOf(err, configDir);
  }
  try {
    const live = await readLive(ctx);
    try {
      const { plan } = await planAgainst(ctx, live.state);
      if (!hasChanges(plan) && !existsSync(join(ctx.stateDir, JOURNAL_FILE)))
        return { result: 'converged', summary: summarize(plan), stepsRun: 0 };
    } finally {
      await live.monitor.close();
    }
  } catch (err) {
    return outcomeOf(err, configDir);
  }
  let lock: Lock | undefined;
  try {
    lock = await takeLock(ctx, r.signal, r.emit);
  } catch (err) {
    return outcomeOf(err, configDir);
  }
  if (!lock) return { result: 'interrupted' };
  try {
    const was = await recover(ctx);
    if (was && !was.ended)
      r.emit({ event: 'recovered', operation: was.operation, pid: was.pid, inFlight: was.inFlight });
    const live = await freshLive(ctx);
    try {
      const { plan } = await planAgainst(ctx, live.state);
      const summary = summarize(plan);
      if (!hasChanges(plan)) return { result: 'converged', summary, stepsRun: 0 };
      if (ctx.json)
        r.emit({
          event: 'plan',
          summary,
          changes: plan.changes
            .filter((c) => c.action !== 'noop')
            .map((c) => ({ partition: c.partition, action: c.action, reasons: c.reasons })),
        });
      else io.out(renderPlan(plan, live.state, styleFor(io.outStream)));
      const result = await runPlan(ctx, live, plan, lock, 'watch', {
        signal: r.signal,
        onEvent: (e) => {
          if (ctx.json) r.emit(stepEvent(e));
        },
      });
      if (result.ok) return { result: 'converged', summary, stepsRun: result.done.length };
      if (result.interrupted && !result.failures.length)
        return { result: 'interrupted', summary, stepsRun: result.done.length };
      return { result: 'failed', error: applyError(result).message, summary, stepsRun: result.done.length };
    } finally {
      await live.monitor.close();
    }
  } catch (err) {
    return outcomeOf(err, configDir);
  } finally {
    await lock.release();
  }
}

const FILE_CHANGE = {
  arrived: 'arrived whole (renamed in)',
  writing: 'is being written; waiting for it to settle',
  settled: 'settled',
  removed: 'removed',
} as const;

/** A duration as the flags take it: 500ms, 2s, 1m. */
function duration(ms: number): string {
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  return ms % 1000 === 0 && ms > 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** One event as a line for people, or undefined for events shown otherwise (steps, problems). */
function humanLine(e: WatchEvent, s: Style): string | undefined {
  const at = s.dim(new Date(e.time).toTimeString().slice(0, 8));
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
  switch (e.event) {
    case 'ready':
      return `Watching ${e.watching.join(', ')}; settle ${duration(e.settleMs)}, resync ${e.resyncMs ? duration(e.resyncMs) : 'off'}. Stop with Ctrl-C.`;
    case 'file':
      return `${at} ${e.path} ${FILE_CHANGE[e.change]}`;
    case 'resync':
      return `${at} Resync: reading the live state.`;
    case 'reconcile-started':
      return `${at} ${s.bold('Reconciling')} (${e.trigger}${e.files.length ? `: ${e.files.join(', ')}` : ''})…`;
    case 'lock-wait':
      return `${at} Waiting for the lock: locked by PID ${e.holder.pid} (${e.holder.operation}, since ${e.holder.since})`;
    case 'lock-takeover':
      return `${at} Took over the lock of PID ${e.holder.pid} (${e.holder.operation}, since ${e.holder.since}), which is no longer running.`;
    case 'problems-cleared':
      return `${at} ${s.green('The manifests are valid again.')}`;
    case 'reconcile-finished': {
      const head = `${at} Reconcile (${e.trigger}) finished in ${secs(e.ms)}: `;
      if (e.result === 'converged')
        return `${head}${s.green(e.stepsRun ? `converged, ${e.stepsRun} step(s) run` : 'no changes')}.`;
      if (e.result === 'invalid')
        return `${head}${s.yellow(`nothing changed: ${e.problems} problem(s) in the inputs`)}; waiting for files to change.`;
      if (e.result === 'failed')
        return `${head}${s.red('failed')}: ${e.error}${e.retryInMs !== undefined ? `; retrying in ${secs(e.retryInMs)}` : ''}`;
      return `${head}interrupted after ${e.stepsRun} step(s).`;
    }
    case 'stopped':
      return `${at} Stopped.`;
    default:
      return undefined;
  }
}

const watchCommand: Command = async (inv, io) => {
  const settleMs = durationFlag(inv.flags.settle, '--settle', DEFAULT_SETTLE_MS);
  const resyncMs = durationFlag(inv.flags.resync, '--resync', DEFAULT_RESYNC_MS);
  // A bad board.yaml is reported by the first reconcile (and retried when it changes), not fatal here.
  const ctx = await openContext(inv, io, { collect: [] });
  const out = styleFor(io.outStream);
  const err = styleFor(io.errStream);
  const emit: Emit = (e) => {
    // `time` right after `event`, for people reading the lines.
    const ev = Object.assign({ event: e.event, time: new Date().toISOString() }, e) as WatchEvent;
    if (ctx.json) {
      io.out(`${JSON.stringify(ev)}\n`);
      return;
    }
    if (ev.event === 'signal')
      io.err(
        ev.action === 'stopping'
          ? `\n${ev.signal}: finishing the running step, then stopping. Send it again to stop at once.\n`
          : `\n${ev.signal} again: stopping now; the next run recovers from the journal.\n`,
      );
    else if (ev.event === 'error') io.err(`${err.red('Error:')} ${ev.message}\n`);
    else {
      const line = humanLine(ev, out);
      if (line !== undefined) io.out(`${line}\n`);
    }
  };

  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      emit({ event: 'signal', signal: sig, action: 'exiting' });
      process.exit(128 + (osConstants.signals[sig] ?? 0));
    }
    emit({ event: 'signal', signal: sig, action: 'stopping' });
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runAgent({
      configDir: ctx.configDir,
      stateDir: ctx.stateDir,
      cwd: ctx.cwd,
      config: coreConfig({ settleMs, resyncMs }),
      stop: controller.signal,
      emit,
      onProblem: (d: Diagnostic) => io.err(`${renderDiagnostic(d, err, lookupSource)}\n`),
      reconcile: (r) => reconcile(inv, io, r, ctx.configDir),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
};

export default watchCommand;
