// `vman plan`: diff desired against live state and print the ordered plan; `--out` saves it. Never takes
// the lock: a writer holding it meanwhile is named (stderr; `lock` in --json).
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { hasChanges } from '../../engine/index.js';
import { openEngine } from '../engine.js';
import { renderPlan, planJson, partialPlanWarning } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { activityJson, activityNote } from '../render/activity.js';
import { dependencyWarningLine, warningsJson } from '../render/warnings.js';

const plan: Command<'plan'> = async (inv, io) => {
  const f = inv.flags;
  const engine = await openEngine(f, io);
  // A writer at work meanwhile: its partitions are half-done in what this plan sees. Say who it is, first.
  const activity = await engine.activity();
  if (activity && !f.json) io.err(activityNote(activity, styleFor(io.errStream, io.env)));
  const planned = await engine.plan({ targets: f.target ?? [], replace: f.replace ?? [] }, { trees: !f.json });
  const out = f.out !== undefined ? resolve(io.cwd, f.out) : undefined;
  if (out) await engine.savePlan(out, planned);
  const targets = f.target ?? [];
  if (f.json) {
    const doc = { ...planJson(planned.plan), lock: activityJson(activity) };
    io.out(`${JSON.stringify({ ...doc, warnings: warningsJson(planned.warnings) })}\n`);
    io.err(partialPlanWarning(targets, styleFor(io.errStream, io.env)).trimStart());
  } else {
    const shown = { trees: planned.trees ?? [], targets };
    io.out(renderPlan(planned.plan, planned.live, styleFor(io.outStream, io.env), shown));
    if (out) io.out(`\nSaved the plan to ${out}. Run \`vman apply ${f.out}\` to apply exactly it.\n`);
    const style = styleFor(io.errStream, io.env);
    for (const w of planned.warnings) io.err(dependencyWarningLine(w, style));
  }
  return f['detailed-exitcode'] && hasChanges(planned.plan) ? 'changes' : 'ok';
};

export default plan;
