// `vman delete NAME`: removes that partition's document from partitions.d/ (only that document),
// then destroys the partition if it is live.
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { makePlan } from '../../plan/plan.js';
import { openContext } from '../context.js';
import { renderPlan, planJson } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { displayName } from '../../manifest/load.js';
import { asWriter, approve, runPlan, applyError } from '../writer.js';
import { findDeclaration, removeDeclaration } from '../manifest-files.js';

const del: Command = async (inv, io) => {
  const ctx = await openContext(inv, io);
  const name = inv.positionals[0] ?? '';
  return asWriter(ctx, 'delete', async (live, lock) => {
    const decl = await findDeclaration(ctx.configDir, name);
    const isLive =
      live.state.partitions.some((p) => p.name === name) || live.state.orphans.some((o) => o.owner === name);
    if (!decl && !isLive)
      throw new VmanError(
        'usage',
        `no partition is called \`${name}\`: no manifest declares it and nothing live has that name`,
      );
    const plan = isLive ? makePlan([], live.state, { targets: [name] }) : { changes: [], steps: [], targets: {} };
    const s = styleFor(io.outStream);
    if (!ctx.json) {
      if (decl)
        io.out(
          `The document declaring \`${name}\` will be removed from ${displayName(decl.file, ctx.cwd)}${decl.count === 1 ? ' (the file goes with it)' : ` (the file's ${decl.count - 1} other document${decl.count > 2 ? 's stay' : ' stays'})`}.\n\n`,
        );
      if (isLive) io.out(renderPlan(plan, live.state, s));
    }
    await approve(ctx, inv.flags['auto-approve'] === true, `\nDelete partition \`${name}\`?`);
    if (decl) await removeDeclaration(decl);
    const result = isLive ? await runPlan(ctx, live, plan, lock, 'delete') : undefined;
    if (result && !result.ok) throw applyError(result);
    if (ctx.json)
      io.out(
        `${JSON.stringify({ ...planJson(plan), applied: true, removed: decl ? displayName(decl.file, ctx.cwd) : null, steps_run: result?.done ?? [] })}\n`,
      );
    else io.out(`\n${s.green(s.bold('Deleted'))} \`${name}\`.\n`);
    return 0;
  });
};

export default del;
