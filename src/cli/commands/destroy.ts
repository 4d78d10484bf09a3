// `vman destroy [NAME…]`: plan and apply the destruction of the named (or all) live partitions.
// Needs no valid manifests: it only tears down what the monitor holds.
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { makePlan } from '../../plan/plan.js';
import { didYouMean } from '../../rules/suggest.js';
import { openContext } from '../context.js';
import { renderPlan, planJson, appliedLine } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { asWriter, approve, runPlan, applyError } from '../writer.js';

const destroy: Command = async (inv, io) => {
  const ctx = await openContext(inv, io);
  return asWriter(ctx, 'destroy', async (live, lock) => {
    const known = [...live.state.partitions.map((p) => p.name), ...live.state.orphans.map((o) => o.owner)];
    for (const n of inv.positionals) {
      if (!known.includes(n)) {
        const fix = didYouMean(n, known);
        throw new VmanError(
          'usage',
          `no live partition is called \`${n}\`${fix ? `; ${fix}` : known.length ? `; live: ${known.join(', ')}` : ' (nothing is live)'}`,
        );
      }
    }
    const plan = makePlan([], live.state, inv.positionals.length ? { targets: inv.positionals } : {});
    const s = styleFor(io.outStream);
    if (!ctx.json) io.out(renderPlan(plan, live.state, s));
    if (!plan.changes.length) {
      if (ctx.json) io.out(`${JSON.stringify({ ...planJson(plan), applied: true, steps_run: [] })}\n`);
      return 0;
    }
    await approve(ctx, inv.flags['auto-approve'] === true, '\nDo you really want to destroy these partitions?');
    const result = await runPlan(ctx, live, plan, lock, 'destroy');
    if (!result.ok) throw applyError(result);
    if (ctx.json) io.out(`${JSON.stringify({ ...planJson(plan), applied: true, steps_run: result.done })}\n`);
    else io.out(`\n${s.green(s.bold('Destroy complete!'))} ${appliedLine(plan)}\n`);
    return 0;
  });
};

export default destroy;
