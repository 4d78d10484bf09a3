// `vman agent --kubeconfig FILE --node NAME`: the fleet agent (src/fleet). This module checks the
// flags, connects, renders the agent's events (JSON lines or text) and handles SIGTERM/SIGINT as
// `vman watch` does: the first finishes the running step and exits 0, a second exits at once.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { durationFlag, engineOptions, restartTiming } from '../engine.js';
import { summarize } from '../../plan/types.js';
import type { EngineEvent, Reporter } from '../../engine/index.js';
import { connectFleet } from '../../fleet/kube.js';
import { runFleetAgent, type FleetEvent } from '../../fleet/agent.js';
import { renderPlan } from '../render/plan.js';
import { terminalReporter } from '../render/progress.js';
import { interruptible } from '../signals.js';
import { styleFor, type Style } from '../render/style.js';
import type { CommandIO } from '../io.js';

/** The default resync: relist and reconcile every 30 s (a change missed while offline is applied within it). */
const DEFAULT_RESYNC_MS = 30_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)}s`;
}

/** One event as a line for people, or undefined for events shown otherwise. */
function humanLine(e: FleetEvent, s: Style): string | undefined {
  const at = s.dim(new Date().toTimeString().slice(0, 8));
  switch (e.event) {
    case 'ready':
      return (
        `Agent for node ${s.bold(e.node)}: Partitions labelled vman.dev/node=${e.node} in namespace ` +
        `${e.namespace} at ${e.server}; state ${e.stateDir}; resync ${secs(e.resyncMs)}. Stop with Ctrl-C.`
      );
    case 'connected':
      return `${at} ${s.green('Connected')}: ${e.partitions} partition(s) listed.`;
    case 'disconnected':
      return `${at} ${s.yellow('Cannot reach the API server')}: ${e.error}; retrying in ${secs(e.retryInMs)}.`;
    case 'offline':
      return (
        `${at} Offline: going on from the desired state saved ${e.listedAt ?? 'earlier'} ` +
        `(${e.partitions} partition(s)).`
      );
    case 'desired':
      return `${at} Partition ${e.partition} ${e.change}.`;
    case 'reconcile-started':
      return `${at} ${s.bold('Reconciling')} (${e.trigger})…`;
    case 'reconcile-finished': {
      const head = `${at} Reconcile (${e.trigger}) finished in ${secs(e.ms)}: `;
      if (e.result === 'converged')
        return `${head}${s.green(e.stepsRun ? `converged, ${e.stepsRun} step(s) run` : 'no changes')}.`;
      if (e.result === 'invalid') return `${head}${s.yellow(`nothing changed: ${e.problems} problem(s)`)}.`;
      if (e.result === 'failed') return `${head}${s.red('failed')}: ${e.error ?? ''}`;
      return `${head}interrupted after ${e.stepsRun} step(s).`;
    }
    case 'problem':
      return `${at} ${s.yellow(e.partition ? `${e.partition}:` : 'device:')} ${e.message}`;
    case 'status':
      return `${at} Status of ${e.partition}: Ready ${e.ready} (${e.reason}), generation ${e.observedGeneration}.`;
    case 'partition-ended':
    case 'partition-restart':
      return `${at} ${e.message}`;
    case 'stopped':
      return `${at} Stopped.`;
    case 'error':
      return undefined;
  }
}

// The engine's step events: printed as `vman apply` prints them; under --json, the agent's own events say enough.
function agentReporter(io: CommandIO, json: boolean): Reporter {
  const progress = terminalReporter(io, false, { live: false });
  return (e: EngineEvent) => {
    if (!json) progress(e);
  };
}

const agentCommand: Command<'agent'> = async (inv, io) => {
  const f = inv.flags;
  const json = f.json === true;
  if (!f.kubeconfig) throw new VmanError('usage', 'vman agent needs --kubeconfig FILE (the device kubeconfig)');
  if (!f.node) throw new VmanError('usage', 'vman agent needs --node NAME (the vman.dev/node label of its partitions)');
  if (!DNS_LABEL.test(f.node))
    throw new VmanError('usage', `--node ${f.node}: give a DNS label (lower-case letters, digits and '-', at most 63)`);
  if (f['config-dir'] !== undefined || io.env.VMAN_CONFIG_DIR)
    throw new VmanError(
      'usage',
      'vman agent takes its partitions from Kubernetes only: -C / VMAN_CONFIG_DIR (a local partitions.d/) ' +
        'is refused; run `vman watch` on a state directory of its own for local manifests',
    );
  const resyncMs = durationFlag(f.resync, '--resync', DEFAULT_RESYNC_MS);
  if (resyncMs <= 0) throw new VmanError('usage', `--resync ${f.resync}: give a duration above 0 (30s)`);
  const timing = restartTiming(io.env);
  const kubeconfig = resolve(io.cwd, f.kubeconfig);
  if (!existsSync(kubeconfig)) throw new VmanError('usage', `--kubeconfig ${f.kubeconfig}: no such file`);
  let api;
  try {
    api = await connectFleet({ kubeconfig, node: f.node, ...(f.namespace ? { namespace: f.namespace } : {}) });
  } catch (err) {
    throw new VmanError('usage', `--kubeconfig ${f.kubeconfig}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const engine = engineOptions(f, io, { report: agentReporter(io, json) });
  const stateDir = resolve(io.cwd, engine.stateDir ?? '.vman');
  const out = styleFor(io.outStream, io.env);
  const err = styleFor(io.errStream, io.env);
  const emit = (e: FleetEvent) => {
    if (json) {
      io.out(`${JSON.stringify(Object.assign({ event: e.event, time: new Date().toISOString() }, e))}\n`);
      return;
    }
    if (e.event === 'error') io.err(`${err.red('Error:')} ${e.message}\n`);
    else {
      const line = humanLine(e, out);
      if (line !== undefined) io.out(`${line}\n`);
    }
  };
  await interruptible(
    (stop) =>
      runFleetAgent({
        node: f.node as string,
        api,
        stateDir,
        engine,
        pathBase: engine.imageRoot ? resolve(io.cwd, engine.imageRoot) : io.cwd,
        resyncMs,
        restartTiming: timing,
        stop,
        emit,
        review: async (v) => {
          if (!json) io.out(renderPlan(v.plan, v.live, out));
          else {
            const changes = v.plan.changes
              .filter((c) => c.action !== 'noop')
              .map((c) => ({ partition: c.partition, action: c.action, reasons: c.reasons }));
            const time = new Date().toISOString();
            io.out(`${JSON.stringify({ event: 'plan', time, summary: summarize(v.plan), changes })}\n`);
          }
        },
      }),
    {
      onFirst: (signal) =>
        io.err(`\n${signal}: finishing the running step, then stopping. Send it again to stop at once.\n`),
      onSecond: (signal) => io.err(`\n${signal} again: stopping now; the next run recovers from the journal.\n`),
    },
  );
  return 'ok';
};

export default agentCommand;
