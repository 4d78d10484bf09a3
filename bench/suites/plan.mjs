// plan.N_partitions_ms: the pure planning step of `vman plan`, in process, as src/cli/planning.ts
// does it (resolveDesired, then makePlan), on a synthetic 512-core, 128 GiB board, with nothing
// live yet. Loading the manifests (disk, YAML) is done once, outside the timing.
import { join } from 'node:path';
import { dist } from '../lib/env.mjs';
import { median, timeInProcess } from '../lib/measure.mjs';
import { result } from '../lib/report.mjs';
import { bigBoard, writeManifests } from '../lib/synthetic.mjs';

const SIZES = [1, 16, 64, 256];
async function planSizes({ quick, dir }) {
  const [{ loadDesired }, { resolveDesired }, { makePlan }, { sha256Hex }] = await Promise.all([
    dist('desired/load.js'),
    dist('desired/resolve.js'),
    dist('plan/plan.js'),
    dist('images/digest.js'),
  ]);
  const board = bigBoard();
  const live = { partitions: [], orphans: [] };
  const out = [];
  for (const n of SIZES) {
    const cfg = join(dir, `plan-${n}`);
    writeManifests(cfg, n);
    const inputs = await loadDesired({ configDir: cfg, cwd: cfg, board });
    if (inputs.problems.length)
      throw new Error(
        `synthetic manifests have problems: ${inputs.problems
          .slice(0, 3)
          .map((p) => `${p.code} ${p.message}`)
          .join('; ')}`,
      );
    const planOnce = () => {
      const set = resolveDesired(inputs, { existing: [], digest: sha256Hex });
      if (set.problems.length)
        throw new Error(
          `synthetic plan has problems: ${set.problems
            .slice(0, 3)
            .map((p) => `${p.code} ${p.message}`)
            .join('; ')}`,
        );
      return makePlan(set.resolved, live);
    };
    const plan = planOnce();
    const creates = plan.changes.filter((c) => c.action === 'create').length;
    if (creates !== n) throw new Error(`expected ${n} creates, got ${creates}`);
    const big = n >= 64;
    const per = await timeInProcess(planOnce, {
      samples: quick ? (big ? 5 : 9) : big ? 15 : 31,
      batch: big ? 1 : Math.ceil(64 / n),
      warmup: quick ? 2 : 3,
    });
    out.push(
      result(`plan.${n}_partitions_ms`, median(per), 'ms', null, n === 256 ? '<= 250' : 'report', {
        detail: { partitions: n, steps: plan.steps.length },
      }),
    );
  }
  return out;
}

export const MEASURES = [
  {
    names: SIZES.map((n) => `plan.${n}_partitions_ms`),
    unit: 'ms',
    target: Object.fromEntries(SIZES.map((n) => [`plan.${n}_partitions_ms`, n === 256 ? '<= 250' : 'report'])),
    run: planSizes,
  },
];
