// apply.sim_demo_ms: a whole `vman apply --auto-approve` of the demo on the sim backend, each run
// on a fresh state directory, with a breakdown by step kind. The breakdown is read from the
// progress lines the apply prints (`NAME: KIND…` then `NAME: KIND done 0.01s`), timed as they
// arrive on the pipe (sub-millisecond, finer than the printed hundredths).
//
// apply.bringup_vs_critical_path: 8 independent partitions that each take 1 s to boot (sim's
// VMAN_SIM_BOOT_MS), the whole apply's wall time ÷ 1 s, the critical path (what a board whose
// partitions boot on their own cores at once cannot beat); apply.bringup_chain3_vs_critical_path:
// the same with a dependsOn chain of depth 3 among them, ÷ 3 s. The board is the built-in aarch64
// one with 16 cores under GICv3, so that 8 one-core partitions fit beside the management partition.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const BOOT_MS = 1000;

/** A config dir: a 16-core aarch64 board and 8 one-core partitions; `chain` makes p1 → p0, p2 → p1. */
function bringupConfig(dir, chain) {
  mkdirSync(join(dir, 'partitions.d'), { recursive: true });
  const cpus = Array.from({ length: 16 }, (_, i) => `    - {id: ${i}, hwid: ${i}, compatible: "arm,cortex-a57"}\n`);
  const board = readFileSync(join(ROOT, 'examples', 'boards', 'qemu-virt-aarch64.yaml'), 'utf8')
    .replace(/ {2}cpus:\n( {4}- .*\n)+/, `  cpus:\n${cpus.join('')}`)
    .replace(
      / {2}interruptController:\n( {4}.*\n)+/,
      '  interruptController:\n    kind: gicv3\n    compatible: arm,gic-v3\n' +
        '    distributor: {base: 0x8000000, size: 64Ki}\n    redistributor: {base: 0x80a0000, size: 0x200000}\n',
    )
    .replace('name: qemu-virt-aarch64', 'name: bench-16');
  writeFileSync(join(dir, 'board.yaml'), board);
  const image = join(dir, 'image.bin');
  writeFileSync(
    image,
    new Uint8Array(64 * 1024).map((_, i) => i & 0xff),
  );
  for (let i = 0; i < 8; i++) {
    const after = chain && i > 0 && i < 3 ? `  dependsOn: [p${i - 1}]\n` : '';
    writeFileSync(
      join(dir, 'partitions.d', `p${i}.yaml`),
      `apiVersion: vman.dev/v1alpha1\nkind: Partition\nmetadata: {name: p${i}}\n` +
        `spec:\n  cpus: 1\n  memory: 16Mi\n  boot:\n    image: ${image}\n${after}`,
    );
  }
}

async function bringup({ quick, dir }) {
  const out = [];
  for (const [name, chain, depth, target] of [
    ['apply.bringup_vs_critical_path', false, 1, '<= 1.3'],
    ['apply.bringup_chain3_vs_critical_path', true, 3, '<= 1.2'],
  ]) {
    const cfg = join(dir, name);
    bringupConfig(cfg, chain);
    const state = join(cfg, 'state');
    const runs = [];
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      rmSync(state, { recursive: true, force: true });
      const r = await runTimed(process.execPath, [CLI, 'apply', '--auto-approve', '-C', cfg, '--state-dir', state], {
        env: { ...process.env, NO_COLOR: '1', VMAN_SIM_BOOT_MS: String(BOOT_MS) },
      });
      if (!/8 created/.test(r.stdout)) throw new Error(`apply did not create 8 partitions: ${r.stdout.slice(-500)}`);
      runs.push(r.ms);
    }
    rmSync(cfg, { recursive: true, force: true });
    const critical = depth * BOOT_MS;
    out.push(
      result(name, median(runs) / critical, 'ratio', `critical path ${critical} ms`, target, {
        note:
          `8 partitions, ${BOOT_MS} ms simulated boot each${chain ? ', p0 → p1 → p2 chained' : ''}; ` +
          `median apply ${Math.round(median(runs))} ms of ${runs.length}`,
      }),
    );
  }
  return out;
}

export const MEASURES = [
  { names: ['apply.sim_demo_ms'], unit: 'ms', target: 'report', run: simDemo },
  {
    names: ['apply.bringup_vs_critical_path', 'apply.bringup_chain3_vs_critical_path'],
    unit: 'ratio',
    target: { 'apply.bringup_vs_critical_path': '<= 1.3', 'apply.bringup_chain3_vs_critical_path': '<= 1.2' },
    run: bringup,
  },
];
