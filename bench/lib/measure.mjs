// Timing on a shared, noisy machine: every figure that matters is a ratio against a peer timed
// in the same run, interleaved (peer, vman, peer, vman…), and reduced to a median.
import { spawn } from 'node:child_process';

/** The median of a list of numbers (the mean of the two middle ones for an even count). */
export function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds since an arbitrary origin, sub-microsecond resolution. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Runs a command to completion and returns its wall time in ms (spawn to exit), its exit code
 * and its output. `onLine(line, ms)` sees each stdout line with its arrival time since spawn.
 * Throws when the command fails and `check` is not false, with its stderr in the message.
 */
export function runTimed(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const start = nowMs();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      if (opts.keepOutput !== false) out += chunk;
      if (!opts.onLine) return;
      const t = nowMs() - start;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) opts.onLine(l, t);
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = nowMs() - start;
      if (opts.check !== false && code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${err.trim().slice(0, 2000)}`));
        return;
      }
      resolve({ ms, code, stdout: out, stderr: err });
    });
  });
}

/**
 * Interleaves several timed tasks `rounds` times (a, b, c, a, b, c, …), alternating which one goes
 * first each round so neither always runs on a cache the other warmed; with `reverse: false` the
 * order stays (a, b, a, b, …), so every run of a task follows the same other task. Each task is
 * `async () => ms`. Returns the samples of each task, by key.
 */
export async function interleave(tasks, rounds, { warmup = 1, reverse = true } = {}) {
  const keys = Object.keys(tasks);
  for (let w = 0; w < warmup; w++) for (const k of keys) await tasks[k]();
  const samples = Object.fromEntries(keys.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = reverse && r % 2 ? [...keys].reverse() : keys;
    for (const k of order) samples[k].push(await tasks[k]());
  }
  return samples;
}

/**
 * Times an in-process function: `batch` calls per sample (so each sample is long enough for the
 * clock), `samples` samples after `warmup` calls; returns the per-call times in ms.
 */
export async function timeInProcess(fn, { samples, batch = 1, warmup = 3 }) {
  for (let i = 0; i < warmup; i++) await fn();
  const out = [];
  for (let s = 0; s < samples; s++) {
    const t = nowMs();
    for (let i = 0; i < batch; i++) await fn();
    out.push((nowMs() - t) / batch);
  }
  return out;
}

/** The ratio of two medians, rounded for display. */
export function ratioOf(mine, peer) {
  return median(mine) / median(peer);
}

/** Rounds for reporting: 3 significant digits. */
export function round(x) {
  if (!Number.isFinite(x)) return x;
  if (x === 0) return 0;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return Number(x.toFixed(Math.min(digits, 6)));
}
