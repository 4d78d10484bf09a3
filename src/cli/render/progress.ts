// The engine's events as lines for people: steps on standard output as they run, the lock and
// recovery on standard error. Nothing here is printed under --json (the JSON document says it all).
import type { EngineEvent, Reporter } from '../../engine/index.js';
import { lockedMessage } from '../../apply/lock.js';
import { formatAddress } from '../../units/format.js';
import type { CommandIO } from '../io.js';
import { styleFor, type Style } from './style.js';

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
    case 'step-bytes':
      return undefined;
  }
}

/**
 * A reporter that prints progress for people; under --json only the lock and recovery notes (stderr).
 * On a terminal (and unless `live: false`), the partitions in flight are also shown below the lines as
 * they run: each one's step, for how long, and a load's bytes, redrawn in place (as `dd status=progress`).
 */
export function terminalReporter(io: CommandIO, json: boolean, o: { live?: boolean } = {}): Reporter {
  const styles = { out: styleFor(io.outStream, io.env), err: styleFor(io.errStream, io.env) };
  const live = o.live !== false && !json && io.outStream.isTTY === true && io.env.TERM !== 'dumb';
  const view = live ? new LiveView(io, styles.out) : undefined;
  return (e) => {
    const isStep = e.type !== 'lock-wait' && e.type !== 'lock-takeover' && e.type !== 'recovered';
    if (json && isStep) return;
    const r = progressLine(e, isStep ? styles.out : styles.err);
    if (!view) {
      if (r) (r.to === 'out' ? io.out : io.err)(`${r.line}\n`);
      return;
    }
    view.clear();
    if (r) (r.to === 'out' ? io.out : io.err)(`${r.line}\n`);
    view.update(e);
    view.draw();
  };
}

/** Sizes as a load shows them: MiB with one decimal. */
const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

/** The steps in flight, one line each, kept below the event lines and redrawn in place. */
class LiveView {
  private readonly inFlight = new Map<string, { step: string; since: number; bytes?: string }>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly io: CommandIO,
    private readonly s: Style,
  ) {}

  update(e: EngineEvent): void {
    if (e.type === 'step-start') this.inFlight.set(e.step.partition, { step: e.step.kind, since: Date.now() });
    if (e.type === 'step-done' || e.type === 'step-failed') this.inFlight.delete(e.step.partition);
    if (e.type === 'step-bytes') {
      const f = this.inFlight.get(e.step.partition);
      if (f) f.bytes = `${mib(e.done)} / ${mib(e.total)}`;
    }
    // Elapsed times tick once a second while anything is in flight; nothing keeps the process alive.
    if (this.inFlight.size > 0 && !this.timer) {
      this.timer = setInterval(() => (this.clear(), this.draw()), 1000);
      this.timer.unref();
    } else if (this.inFlight.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Erases the lines drawn last (cursor up, clear to the end of the screen). */
  clear(): void {
    if (this.drawn > 0) this.io.out(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  draw(): void {
    const lines = [...this.inFlight].map(([partition, f]) => {
      const secs = ((Date.now() - f.since) / 1000).toFixed(0);
      return `  ${this.s.dim('…')} ${partition}: ${f.step} ${this.s.dim(`${secs}s`)}${f.bytes ? ` ${f.bytes}` : ''}`;
    });
    if (lines.length === 0) return;
    this.io.out(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
