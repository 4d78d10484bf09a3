// `vman apply [PLANFILE]`: a fresh plan (approved on a terminal) or exactly a saved plan, run
// under the lock from planning to the end, so what is approved is what runs.
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { openContext } from '../context.js';
import { planAgainst, hasChanges, staleness } from '../planning.js';
import { renderPlan, planJson, appliedLine } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { readSavedPlan, planOf } from '../saved-plan.js';
import { asWriter, approve, runPlan, applyError } from '../writer.js';
import type { Plan } from '../../plan/types.js';

const strings = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);

const apply: Command = async (inv, io) => {
  const ctx = await openContext(inv, io);
  const file = inv.positionals[0];
  const saved = file ? await readSavedPlan(resolve(ctx.cwd, file)) : undefined;
  if (saved && (strings(inv.flags.target).length || strings(inv.flags.replace).length)) {
    throw new VmanError('usage', 'a saved plan is applied exactly as made; --target and --replace go with `vman plan`');
  }
  return asWriter(ctx, 'apply', async (live, lock) => {
    let plan: Plan;
    const s = styleFor(io.outStream);
    if (saved) {
      const now = await planAgainst(ctx, live.state, {
        targets: saved.fingerprint.options.targets,
        replace: saved.fingerprint.options.replace,
      });
      const why = staleness(saved.fingerprint, now.fingerprint);
      if (why.length)
        throw new VmanError(
          'stale',
          `Saved plan is stale: ${why.join('; ')} since it was made. Run \`vman plan --out ${file}\` again.`,
        );
      plan = planOf(saved);
    } else {
      const req = { targets: strings(inv.flags.target), replace: strings(inv.flags.replace) };
      plan = (await planAgainst(ctx, live.state, req)).plan;
      if (!ctx.json) io.out(renderPlan(plan, live.state, s));
      if (!hasChanges(plan)) {
        if (ctx.json) io.out(`${JSON.stringify({ ...planJson(plan), applied: true, steps_run: [] })}\n`);
        return 0;
      }
      await approve(ctx, inv.flags['auto-approve'] === true, '\nDo you want to perform these actions?');
    }
    const result = await runPlan(ctx, live, plan, lock, 'apply');
    if (!result.ok) throw applyError(result);
    if (ctx.json) io.out(`${JSON.stringify({ ...planJson(plan), applied: true, steps_run: result.done })}\n`);
    else io.out(`\n${s.green(s.bold('Apply complete!'))} ${appliedLine(plan)}\n`);
    return 0;
  });
};

export default apply;
