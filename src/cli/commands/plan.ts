// `vman plan`: diff desired against live state and print the ordered plan; `--out` saves it.
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { hasChanges } from '../../engine/index.js';
import { openEngine } from '../engine.js';
import { renderPlan, planJson, partialPlanWarning } from '../render/plan.js';
import { styleFor } from '../render/style.js';

const plan: Command<'plan'> = async (inv, io) => {
  const f = inv.flags;
  const engine = await openEngine(f, io);
  const planned = await engine.plan({ targets: f.target ?? [], replace: f.replace ?? [] }, { trees: !f.json });
  const out = f.out !== undefined ? resolve(io.cwd, f.out) : undefined;
  if (out) await engine.savePlan(out, planned);
  const targets = f.target ?? [];
  if (f.json) {
    io.out(`${JSON.stringify(planJson(planned.plan))}\n`);
    io.err(partialPlanWarning(targets, styleFor(io.errStream, io.env)).trimStart());
  } else {
    const style = styleFor(io.outStream, io.env);
    io.out(renderPlan(planned.plan, planned.live, style, { trees: planned.trees ?? [], targets }));
    if (out) io.out(`\nSaved the plan to ${out}. Run \`vman apply ${f.out}\` to apply exactly it.\n`);
  }
  return f['detailed-exitcode'] && hasChanges(planned.plan) ? 'changes' : 'ok';
};

export default plan;
