// The engine's events as lines for people: steps on standard output as they run, the lock and
// recovery on standard error. Nothing here is printed under --json (the JSON document says it all).
import type { EngineEvent, Reporter } from '../../engine/index.js';
import { lockedMessage } from '../../apply/lock.js';
import { formatAddress } from '../../units/format.js';
import type { CommandIO } from '../io.js';
import { styleFor } from './style.js';

const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

/** One event as a line, and the stream it goes to; undefined for none. */
export function progressLine(e: EngineEvent, s = styleFor({})): { line: string; to: 'out' | 'err' } | undefined {
  const out = (line: string) => ({ line, to: 'out' as const });
  const err = (line: string) => ({ line, to: 'err' as const });
  switch (e.type) {
    case 'lock-wait':
      return err(s.dim(`Waiting up to ${e.timeoutMs / 1000}s for the lock: ${lockedMessage(e.holder)}`));
    case 'lock-takeover': {
      const h = e.holder;
      const who = `PID ${h.pid} (${h.operation}, since ${h.since})`;
      return err(`${s.yellow('Note:')} took over the lock of ${who}, which is no longer running.`);
    }
    case 'recovered': {
      const j = e.interrupted;
      const what = j.inFlight.length ? `during ${j.inFlight.join(', ')}` : `after ${j.completed} of ${j.planned} steps`;
      return err(
        `${s.yellow('Recovering:')} the previous ${j.operation} (PID ${j.pid}, started ${j.time}) was interrupted ` +
          `${what}. Planning from the monitor's live state to converge.`,
      );
    }
    case 'step-start': {
      const st = e.step;
      const extra = st.kind === 'release-cores' ? ` (core ${st.bootCpu} at ${formatAddress(st.entry)})` : '';
      return out(`${s.bold(st.partition)}: ${st.kind}${extra}…`);
    }
    case 'step-done':
      return out(`${s.bold(e.step.partition)}: ${e.step.kind} ${s.green('done')} ${s.dim(secs(e.ms))}`);
    case 'step-failed':
      return out(`${s.bold(e.step.partition)}: ${e.step.kind} ${s.red('failed')} after ${secs(e.ms)}: ${e.error}`);
    case 'step-skipped':
      return out(`${s.bold(e.step.partition)}: ${e.step.kind} ${s.yellow('skipped')} (${e.because})`);
    case 'rollback':
      return out(
        e.ok
          ? `${s.bold(e.partition)}: ${s.yellow('rolled back')} to nothing held`
          : `${s.bold(e.partition)}: ${s.red('rollback failed')}: ${e.error}`,
      );
    case 'note':
      return out(`${s.bold(e.partition)}: ${s.dim(e.message)}`);
  }
}

/** A reporter that prints progress for people; under --json only the lock and recovery notes (stderr). */
export function terminalReporter(io: CommandIO, json: boolean): Reporter {
  const styles = { out: styleFor(io.outStream), err: styleFor(io.errStream) };
  return (e) => {
    const isStep = e.type !== 'lock-wait' && e.type !== 'lock-takeover' && e.type !== 'recovered';
    if (json && isStep) return;
    const r = progressLine(e, isStep ? styles.out : styles.err);
    if (r) (r.to === 'out' ? io.out : io.err)(`${r.line}\n`);
  };
}
