// What every writer shares: the lock, recovery of an interrupted run, approval, and running a
// plan with progress. `apply`, `destroy`, `create`, `delete` and `watch` go through here.
import { createInterface } from 'node:readline';
import type { Plan } from '../plan/types.js';
import type { LiveState } from '../backends/types.js';
import { VmanError } from '../errors.js';
import { acquireLock, lockedMessage, type Lock } from '../apply/lock.js';
import { Journal, readJournal, retireJournal, type Interrupted } from '../apply/journal.js';
import { executePlan, type ApplyEvent, type ApplyResult } from '../apply/execute.js';
import { readRecords, writeRecords, type StateRecords } from '../apply/records.js';
import { ensurePrivateDir } from '../state/files.js';
import { formatAddress } from '../units/format.js';
import type { Context } from './context.js';
import { readLive, type Live } from './live.js';
import { styleFor, type Style } from './render/style.js';

/** Takes the lock for `operation`, telling the user when it waits or takes over a dead owner's lock. */
export async function lockState(ctx: Context, operation: string): Promise<Lock> {
  await ensurePrivateDir(ctx.stateDir);
  const s = styleFor(ctx.io.errStream);
  return acquireLock(ctx.stateDir, operation, ctx.lockTimeoutMs, {
    onWait: (o) =>
      ctx.io.err(`${s.dim(`Waiting up to ${ctx.lockTimeoutMs / 1000}s for the lock: ${lockedMessage(o)}`)}\n`),
    onTakeover: (o) =>
      ctx.io.err(
        `${s.yellow('Note:')} took over the lock of PID ${o.pid} (${o.operation}, since ${o.since}), which is no longer running.\n`,
      ),
  });
}

/** Reads and retires a journal an interrupted run left; returns what it said (for the message). */
export async function recover(ctx: Context): Promise<Interrupted | undefined> {
  const j = await readJournal(ctx.stateDir);
  if (!j) return undefined;
  await retireJournal(ctx.stateDir);
  if (!j.ended) {
    const s = styleFor(ctx.io.errStream);
    const what = j.inFlight.length ? `during ${j.inFlight.join(', ')}` : `after ${j.completed} of ${j.planned} steps`;
    ctx.io.err(
      `${s.yellow('Recovering:')} the previous ${j.operation} (PID ${j.pid}, started ${j.time}) was interrupted ${what}. Planning from the monitor's live state to converge.\n`,
    );
  }
  return j;
}

/** Asks for `yes` on a terminal; without one, refuses unless auto-approved. */
export async function approve(ctx: Context, autoApprove: boolean, question: string): Promise<void> {
  if (autoApprove) return;
  if (!ctx.io.stdin.isTTY) {
    throw new VmanError(
      'refused',
      'no terminal to ask for approval on; run again with --auto-approve (or apply a saved plan)',
    );
  }
  const rl = createInterface({ input: ctx.io.stdin, output: process.stdout });
  const answer = await new Promise<string>((res) =>
    rl.question(`${question}\n  Only 'yes' will be accepted.\n\n  Enter a value: `, res),
  );
  rl.close();
  if (answer.trim() !== 'yes')
    throw new VmanError('refused', 'apply cancelled: the answer was not `yes`; nothing was changed');
}

function progress(ctx: Context, s: Style): (e: ApplyEvent) => void {
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
  return (e) => {
    if (ctx.json) return;
    const say = (t: string) => ctx.io.out(`${t}\n`);
    switch (e.type) {
      case 'step-start': {
        const st = e.step;
        const extra = st.kind === 'release-cores' ? ` (core ${st.bootCpu} at ${formatAddress(st.entry)})` : '';
        say(`${s.bold(st.partition)}: ${st.kind}${extra}…`);
        break;
      }
      case 'step-done':
        say(`${s.bold(e.step.partition)}: ${e.step.kind} ${s.green('done')} ${s.dim(secs(e.ms))}`);
        break;
      case 'step-failed':
        say(`${s.bold(e.step.partition)}: ${e.step.kind} ${s.red('failed')} after ${secs(e.ms)}: ${e.error}`);
        break;
      case 'step-skipped':
        say(`${s.bold(e.step.partition)}: ${e.step.kind} ${s.yellow('skipped')} (${e.because})`);
        break;
      case 'rollback':
        say(
          e.ok
            ? `${s.bold(e.partition)}: ${s.yellow('rolled back')} to nothing held`
            : `${s.bold(e.partition)}: ${s.red('rollback failed')}: ${e.error}`,
        );
        break;
      case 'note':
        say(`${s.bold(e.partition)}: ${s.dim(e.message)}`);
        break;
    }
  };
}

/** Runs a plan's steps under the lock the caller holds. Records the board and backend first. */
export async function runPlan(
  ctx: Context,
  live: Live,
  plan: Plan,
  lock: Lock,
  operation: string,
  extra: { onEvent?: (e: ApplyEvent) => void; signal?: AbortSignal } = {},
): Promise<ApplyResult> {
  const records: StateRecords = await readRecords(ctx.stateDir);
  records.board = { name: ctx.board.name, origin: ctx.boardOrigin, board: ctx.board };
  records.backend = ctx.backend;
  await writeRecords(ctx.stateDir, records);
  const journal = await Journal.begin(
    ctx.stateDir,
    operation,
    plan.steps.map((s) => s.id),
  );
  const controller = new AbortController();
  const signal = extra.signal ?? controller.signal;
  const onSignal = () => {
    if (signal.aborted) process.exit(130);
    controller.abort();
    ctx.io.err('\nInterrupted: finishing the running step, then stopping. Interrupt again to stop at once.\n');
  };
  if (!extra.signal) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const show = progress(ctx, styleFor(ctx.io.outStream));
  try {
    const result = await executePlan(plan, {
      monitor: live.monitor,
      journal,
      lock,
      records,
      saveRecords: () => writeRecords(ctx.stateDir, records),
      onEvent: (e) => {
        show(e);
        extra.onEvent?.(e);
      },
      signal,
    });
    await journal.append({ t: 'end', ok: result.ok, time: new Date().toISOString() });
    await journal.close();
    await retireJournal(ctx.stateDir);
    return result;
  } finally {
    if (!extra.signal) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** The error for a run that did not finish. */
export function applyError(result: ApplyResult): VmanError {
  if (result.interrupted && !result.failures.length)
    return new VmanError(
      'apply',
      `apply interrupted: ${result.done.length} step(s) done, ${result.skipped.length} not started; run \`vman apply\` again to converge`,
    );
  const f = result.failures[0];
  const more =
    result.failures.length > 1
      ? ` (and ${result.failures.length - 1} more failure${result.failures.length > 2 ? 's' : ''})`
      : '';
  return new VmanError(
    'apply',
    `step ${f?.step} failed for partition \`${f?.partition}\`: ${f?.message}; \`${f?.partition}\` was rolled back to nothing held, other partitions were not touched${more}`,
  );
}

/** Re-reads live state (after recovery, a plan must see what the monitor holds now). */
export async function freshLive(ctx: Context, prev?: Live): Promise<Live> {
  if (prev) await prev.monitor.close();
  const records = await readRecords(ctx.stateDir);
  return readLive({ ...ctx, records });
}

export type { LiveState };

/**
 * Runs `fn` as a writer: holds the lock from before planning to the end, recovers an interrupted
 * run first, and hands over the live state read under the lock.
 */
export async function asWriter<T>(
  ctx: Context,
  operation: string,
  fn: (live: Live, lock: Lock) => Promise<T>,
): Promise<T> {
  const lock = await lockState(ctx, operation);
  try {
    await recover(ctx);
    const live = await freshLive(ctx);
    try {
      return await fn(live, lock);
    } finally {
      await live.monitor.close();
    }
  } finally {
    await lock.release();
  }
}
