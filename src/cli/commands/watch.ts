// `vman watch [--settle D] [--resync D]`: the file-drop agent. src/watch decides when to
// reconcile; the engine reconciles (plan, then apply without asking, under the lock only while it
// runs); this module renders events (JSON lines or text) and handles SIGTERM/SIGINT: the first
// finishes the running step and exits 0, a second exits at once (the journal tells the next run).
import type { Command } from '../run.js';
import type { CommandIO } from '../io.js';
import type { Diagnostic } from '../../rules/diagnostic.js';
import type { EngineEvent, Reporter } from '../../engine/index.js';
import { engineOptions, durationFlag, openEngine, restartTiming } from '../engine.js';
import { reconcileOnce } from '../../engine/index.js';
import { summarize } from '../../plan/types.js';
import { coreConfig, DEFAULT_RESYNC_MS, DEFAULT_SETTLE_MS } from '../../watch/core.js';
import { runAgent } from '../../watch/agent.js';
import type { Emit, EventBody, WatchEvent } from '../../watch/events.js';
import { renderPlan } from '../render/plan.js';
import { renderDiagnostic } from '../render/diagnostics.js';
import { lookupSource } from '../render/source.js';
import { terminalReporter } from '../render/progress.js';
import { interruptible } from '../signals.js';
import { VmanError } from '../../errors.js';
import type { EngineOptions } from '../../engine/index.js';
import { Endpoint } from '../../libvirt/endpoint.js';
import { DEFAULT_LIBVIRT_SOCKET, ServerSetupError, startLibvirtServer } from '../../libvirt/server.js';
import { vmanVersion } from '../version.js';
import { styleFor, type Style } from '../render/style.js';

// The engine's events as the agent's: JSON events under --json; for people, steps and recovery
// as `vman apply` prints them, the lock as the agent's own lines.
function watchReporter(emit: Emit, io: CommandIO, json: boolean): Reporter {
  // Watch's log is read later as much as watched: lines only, no live view.
  const progress = terminalReporter(io, false, { live: false });
  return (e) => {
    const body = watchEvent(e);
    if (body && (json || body.event === 'lock-wait' || body.event === 'lock-takeover')) emit(body);
    else if (!json) progress(e);
  };
}

function watchEvent(e: EngineEvent): EventBody | undefined {
  switch (e.type) {
    case 'lock-wait':
    case 'lock-takeover': {
      const h = e.holder;
      return { event: e.type, holder: { pid: h.pid, operation: h.operation, since: h.since } };
    }
    case 'recovered': {
      const j = e.interrupted;
      return { event: 'recovered', operation: j.operation, pid: j.pid, inFlight: j.inFlight };
    }
    case 'step-start':
      return { event: 'step-started', step: e.step.id, partition: e.step.partition, kind: e.step.kind };
    case 'step-done': {
      const st = e.step;
      return { event: 'step-done', step: st.id, partition: st.partition, kind: st.kind, ms: Math.round(e.ms) };
    }
    case 'step-failed': {
      const st = e.step;
      const ms = Math.round(e.ms);
      return { event: 'step-failed', step: st.id, partition: st.partition, kind: st.kind, ms, error: e.error };
    }
    case 'step-skipped': {
      const st = e.step;
      return { event: 'step-skipped', step: st.id, partition: st.partition, kind: st.kind, because: e.because };
    }
    case 'rollback':
      return {
        event: 'rollback',
        partition: e.partition,
        ok: e.ok,
        ...(e.error !== undefined ? { error: e.error } : {}),
      };
    case 'note':
      return { event: 'note', partition: e.partition, message: e.message };
    case 'step-bytes':
      // A load's byte count is for a terminal's live view; the step's own events say the rest.
      return undefined;
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
      return (
        `Watching ${e.watching.join(', ')}; settle ${duration(e.settleMs)}, ` +
        `resync ${e.resyncMs ? duration(e.resyncMs) : 'off'}. Stop with Ctrl-C.`
      );
    case 'file':
      return `${at} ${e.path} ${FILE_CHANGE[e.change]}`;
    case 'resync':
      return `${at} Resync: reading the live state.`;
    case 'reconcile-started':
      return `${at} ${s.bold('Reconciling')} (${e.trigger}${e.files.length ? `: ${e.files.join(', ')}` : ''})…`;
    case 'lock-wait': {
      const h = e.holder;
      return `${at} Waiting for the lock: locked by PID ${h.pid} (${h.operation}, since ${h.since})`;
    }
    case 'lock-takeover': {
      const h = e.holder;
      return `${at} Took over the lock of PID ${h.pid} (${h.operation}, since ${h.since}), which is no longer running.`;
    }
    case 'problems-cleared':
      return `${at} ${s.green('The manifests are valid again.')}`;
    case 'reconcile-finished': {
      const head = `${at} Reconcile (${e.trigger}) finished in ${secs(e.ms)}: `;
      if (e.result === 'converged')
        return `${head}${s.green(e.stepsRun ? `converged, ${e.stepsRun} step(s) run` : 'no changes')}.`;
      if (e.result === 'invalid')
        return (
          `${head}${s.yellow(`nothing changed: ${e.problems} problem(s) in the inputs`)}; ` +
          'waiting for files to change.'
        );
      if (e.result === 'failed') {
        const retry = e.retryInMs === undefined ? '' : `; retrying in ${secs(e.retryInMs)}`;
        return `${head}${s.red('failed')}: ${e.error}${retry}`;
      }
      return `${head}interrupted after ${e.stepsRun} step(s).`;
    }
    case 'partition-ended':
      return `${at} ${e.reason === 'CrashLoop' ? s.yellow(e.message) : e.message}${
        e.restartInMs === null ? '' : ` (in ${secs(e.restartInMs)})`
      }`;
    case 'partition-restart':
      return (
        `${at} ${s.bold('Restarting')} ${e.partition} (${e.ended === 'crashed' ? 'crashed' : 'powered off'}; ` +
        `restartPolicy ${e.restartPolicy}; restart ${e.restarts}).`
      );
    case 'stopped':
      return `${at} Stopped.`;
    default:
      return undefined;
  }
}

const watchCommand: Command<'watch'> = async (inv, io) => {
  const f = inv.flags;
  const json = f.json === true;
  const settleMs = durationFlag(f.settle, '--settle', DEFAULT_SETTLE_MS);
  const resyncMs = durationFlag(f.resync, '--resync', DEFAULT_RESYNC_MS);
  const timing = restartTiming(io.env);
  // A bad board.yaml is reported by the first reconcile (and retried when it changes), not fatal here.
  const ws = (await openEngine(f, io, { collectBoardProblems: [] })).workspace;
  const out = styleFor(io.outStream, io.env);
  const err = styleFor(io.errStream, io.env);
  const emit: Emit = (e) => {
    // `time` right after `event`, for people reading the lines.
    const ev = Object.assign({ event: e.event, time: new Date().toISOString() }, e) as WatchEvent;
    if (json) {
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
  const options = engineOptions(f, io, { report: watchReporter(emit, io, json) });
  const libvirt =
    f.libvirt === undefined ? undefined : await serveLibvirt(f.libvirt, f['libvirt-group'], options, emit);
  // The endpoint looks at the partitions after each reconcile, so its clients hear of every change.
  const agentEmit: Emit = (e) => {
    emit(e);
    if (e.event === 'reconcile-finished') libvirt?.endpoint.changed();
  };
  try {
    await interruptible(
      (stop) =>
        runAgent({
          configDir: ws.configDir,
          stateDir: ws.stateDir,
          cwd: ws.cwd,
          config: coreConfig({ settleMs, resyncMs }),
          stop,
          emit: agentEmit,
          onProblem: (d: Diagnostic) => io.err(`${renderDiagnostic(d, err, lookupSource)}\n`),
          restartTiming: timing,
          reconcile: (r) =>
            reconcileOnce(options, {
              signal: r.signal,
              restarts: r.restarts,
              review: async (v) => {
                // What the plan corrects (a crashed partition about to start again) reaches libvirt clients first.
                await libvirt?.endpoint.refresh();
                if (!json) return io.out(renderPlan(v.plan, v.live, out));
                const summary = summarize(v.plan);
                const changes = v.plan.changes
                  .filter((c) => c.action !== 'noop')
                  .map((c) => ({ partition: c.partition, action: c.action, reasons: c.reasons }));
                r.emit({ event: 'plan', summary, changes });
              },
            }),
        }),
      {
        onFirst: (signal) => emit({ event: 'signal', signal, action: 'stopping' }),
        onSecond: (signal) => emit({ event: 'signal', signal, action: 'exiting' }),
      },
    );
  } finally {
    libvirt?.endpoint.close();
    await libvirt?.server.close();
  }
  return 'ok';
};

// `--libvirt [SOCKET|tcp://127.0.0.1:PORT]`: libvirt's RPC protocol on a socket, answered through the
// engine (src/libvirt/endpoint.ts). A socket that cannot be served stops the agent before it starts.
async function serveLibvirt(listen: string, group: string | undefined, engine: EngineOptions, emit: Emit) {
  const endpoint = new Endpoint({
    engine,
    version: vmanVersion(),
    onError: (e) => emit({ event: 'error', message: `libvirt: ${e instanceof Error ? e.message : String(e)}` }),
  });
  try {
    const server = await startLibvirtServer({
      listen: listen || DEFAULT_LIBVIRT_SOCKET,
      dispatcher: endpoint,
      ...(group ? { group } : {}),
      onEvent: (ev) => {
        if (ev.kind === 'listening') emit({ event: 'libvirt', what: 'listening', address: ev.address });
        else if (ev.kind === 'connected')
          emit({ event: 'libvirt', what: 'connected', client: ev.client, peer: ev.peer });
        else if (ev.kind === 'disconnected') {
          emit({ event: 'libvirt', what: 'disconnected', client: ev.client, reason: ev.reason });
        } else if (ev.kind === 'refused') emit({ event: 'libvirt', what: 'refused', peer: ev.peer, reason: ev.reason });
        else if (ev.kind === 'dispatch-failed' || ev.kind === 'server-error') {
          emit({
            event: 'error',
            message: `libvirt: ${ev.error instanceof Error ? ev.error.message : String(ev.error)}`,
          });
        }
      },
    });
    return { endpoint, server };
  } catch (err) {
    endpoint.close();
    if (err instanceof ServerSetupError) throw new VmanError('usage', `--libvirt: ${err.message}`);
    throw err;
  }
}

export default watchCommand;
