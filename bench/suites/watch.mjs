// watch.reaction_ms: a manifest renamed into partitions.d/ → the first apply step starting, as
// `vman watch --json` reports it (`step-started`), median of 20 drops. Each drop changes the
// partition's bootargs, so each one is a real reconcile (a restart; the first a create).
// watch.idle_rss_mb: the resident memory of the same idle agent, after the drops.
// Events (src/watch/events.ts): one JSON object per line, `event` names the type.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI, ROOT } from '../lib/env.mjs';
import { median, nowMs } from '../lib/measure.mjs';
import { result } from '../lib/report.mjs';

const DROPS = 20;
/** How long the agent sits idle before its memory is read. */
const IDLE_MS = 2000;
/** Give up on one event after this long (the agent is broken, not slow). */
const EVENT_TIMEOUT_MS = 30_000;

function manifest(i) {
  return [
    'apiVersion: vman.dev/v1alpha1',
    'kind: Partition',
    'metadata: {name: dropped}',
    'spec:',
    '  cpus: 1',
    '  memory: 16Mi',
    '  boot:',
    `    image: ${join(ROOT, '.cache', 'demo', 'rtos-arm64.bin')}`,
    `    bootargs: "drop=${i}"`,
    '',
  ].join('\n');
}

/** The agent's event stream: waits for the next event matching a predicate, with its arrival time. */
class Events {
  constructor(child) {
    this.queue = [];
    this.waiters = [];
    this.lines = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      const at = nowMs();
      this.lines.push(line);
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      this.queue.push({ e, at });
      this.pump();
    });
    child.on('exit', (code, signal) => {
      this.exited = `exited ${code ?? signal}`;
      for (const w of this.waiters.splice(0))
        w.reject(
          new Error(
            `vman watch ${this.exited} while waiting for ${w.what}; last output: ${this.lines.slice(-5).join(' | ')}`,
          ),
        );
    });
  }

  pump() {
    for (const w of [...this.waiters]) {
      const i = this.queue.findIndex((x) => w.pred(x.e));
      if (i < 0) continue;
      const [hit] = this.queue.splice(0, i + 1).slice(-1);
      this.waiters.splice(this.waiters.indexOf(w), 1);
      clearTimeout(w.timer);
      w.resolve(hit);
    }
  }

  next(what, pred) {
    if (this.exited) return Promise.reject(new Error(`vman watch ${this.exited} before ${what}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(
          new Error(
            `no ${what} event from vman watch within ${EVENT_TIMEOUT_MS} ms; ` +
              `last output: ${this.lines.slice(-5).join(' | ')}`,
          ),
        );
      }, EVENT_TIMEOUT_MS);
      const w = { what, pred, resolve, reject, timer };
      this.waiters.push(w);
      this.pump();
    });
  }

  /** Forgets events already received (so the next wait sees only what follows). */
  drain() {
    this.queue.length = 0;
  }
}

function rssMiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function reaction({ dir }) {
  const cfg = join(dir, 'watch');
  const pd = join(cfg, 'partitions.d');
  const incoming = join(cfg, 'incoming');
  mkdirSync(pd, { recursive: true });
  mkdirSync(incoming, { recursive: true });
  const state = join(cfg, 'state');
  const child = spawn(process.execPath, [CLI, 'watch', '--json', '-C', cfg, '--state-dir', state], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const events = new Events(child);
  try {
    await events.next('ready', (e) => e.event === 'ready');
    await events.next('reconcile-finished (start-up)', (e) => e.event === 'reconcile-finished');
    await sleep(IDLE_MS);
    const freshRss = rssMiB(child.pid);
    const toStep = [];
    const toReconcile = [];
    for (let i = 0; i < DROPS; i++) {
      const tmp = join(incoming, 'dropped.yaml');
      writeFileSync(tmp, manifest(i));
      events.drain();
      const t0 = nowMs();
      renameSync(tmp, join(pd, 'dropped.yaml'));
      const started = await events.next('reconcile-started', (e) => e.event === 'reconcile-started');
      const step = await events.next(
        'step-started',
        (e) => e.event === 'step-started' || e.event === 'reconcile-finished',
      );
      if (step.e.event !== 'step-started') throw new Error(`drop ${i} ran no step: ${JSON.stringify(step.e)}`);
      const done = await events.next('reconcile-finished', (e) => e.event === 'reconcile-finished');
      if (done.e.result !== 'converged') throw new Error(`drop ${i} did not converge: ${JSON.stringify(done.e)}`);
      toReconcile.push(started.at - t0);
      toStep.push(step.at - t0);
    }
    await sleep(IDLE_MS);
    const rss = rssMiB(child.pid);
    const react = median(toStep);
    return [
      result('watch.reaction_ms', react, 'ms', null, '<= 300', {
        note:
          `drop → step-started, median of ${DROPS} drops ` +
          `(drop → reconcile-started ${median(toReconcile).toFixed(0)} ms; ` +
          `slowest drop ${Math.max(...toStep).toFixed(0)} ms)`,
        detail: {
          drops: DROPS,
          reconcile_started_ms: median(toReconcile),
          samples_ms: toStep.map((x) => Math.round(x)),
        },
      }),
      result('watch.idle_rss_mb', rss, 'MiB', null, '<= 80', {
        note:
          `VmRSS after ${DROPS} reconciles and ${IDLE_MS / 1000} s idle ` +
          `(right after start-up: ${freshRss.toFixed(1)} MiB)`,
        detail: { fresh_mib: freshRss },
      }),
    ];
  } catch (err) {
    if (stderr) err.message += `; stderr: ${stderr.slice(-500)}`;
    throw err;
  } finally {
    const exited = new Promise((r) =>
      child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r),
    );
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export const MEASURES = [
  {
    names: ['watch.reaction_ms', 'watch.idle_rss_mb'],
    unit: { 'watch.reaction_ms': 'ms', 'watch.idle_rss_mb': 'MiB' },
    target: { 'watch.reaction_ms': '<= 300', 'watch.idle_rss_mb': '<= 80' },
    run: reaction,
  },
];
