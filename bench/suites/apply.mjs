// apply.sim_demo_ms: a whole `vman apply --auto-approve` of the demo on the sim backend, each run
// on a fresh state directory, with a breakdown by step kind. The breakdown is read from the
// progress lines the apply prints (`NAME: KIND…` then `NAME: KIND done 0.01s`), timed as they
// arrive on the pipe (sub-millisecond, finer than the printed hundredths).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT } from '../lib/env.mjs';
import { median, runTimed } from '../lib/measure.mjs';
import { result } from '../lib/report.mjs';

const START = /^(\S+): ([a-z-]+)(?: \(.*\))?…$/;
const DONE = /^(\S+): ([a-z-]+) done [\d.]+s$/;

async function applyOnce(state) {
  rmSync(state, { recursive: true, force: true });
  const started = new Map();
  const steps = {};
  let firstStep;
  const r = await runTimed(process.execPath, [CLI, 'apply', '--auto-approve', '-C', ROOT, '--state-dir', state], {
    env: { ...process.env, NO_COLOR: '1' },
    onLine: (line, ms) => {
      const s = START.exec(line);
      if (s) {
        started.set(`${s[1]}/${s[2]}`, ms);
        firstStep ??= ms;
        return;
      }
      const d = DONE.exec(line);
      const t0 = d && started.get(`${d[1]}/${d[2]}`);
      if (d && t0 !== undefined) steps[d[2]] = (steps[d[2]] ?? 0) + (ms - t0);
    },
  });
  if (!/Apply complete!/.test(r.stdout)) throw new Error(`apply did not complete: ${r.stdout.slice(-500)}`);
  return { ms: r.ms, steps, planMs: firstStep ?? NaN };
}

async function simDemo({ quick, dir }) {
  const state = join(dir, 'apply-state');
  await applyOnce(state);
  const runs = [];
  for (let i = 0; i < (quick ? 5 : 15); i++) runs.push(await applyOnce(state));
  rmSync(state, { recursive: true, force: true });
  const kinds = [...new Set(runs.flatMap((r) => Object.keys(r.steps)))];
  const breakdown = Object.fromEntries(
    kinds.map((k) => [k, Math.round(median(runs.map((r) => r.steps[k] ?? 0)) * 100) / 100]),
  );
  const before = Math.round(median(runs.map((r) => r.planMs)) * 10) / 10;
  const text = Object.entries(breakdown)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    result('apply.sim_demo_ms', median(runs.map((r) => r.ms)), 'ms', null, 'report', {
      note:
        `per step kind, ms summed over both partitions (median of ${runs.length}): ${text}; ` +
        `start-up and planning before the first step ${before} ms`,
      detail: { steps_ms: breakdown, before_first_step_ms: before, runs: runs.length },
    }),
  ];
}

export const MEASURES = [{ names: ['apply.sim_demo_ms'], unit: 'ms', target: 'report', run: simDemo }];
