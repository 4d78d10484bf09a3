// `vman plan`: diff desired against live state and print the ordered plan; `--out` saves it.
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { openContext } from '../context.js';
import { readLive } from '../live.js';
import { planAgainst, hasChanges } from '../planning.js';
import { renderPlan, planJson } from '../render/plan.js';
import { styleFor } from '../render/style.js';

const strings = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);

const plan: Command = async (inv, io) => {
  const ctx = await openContext(inv, io);
  const live = await readLive(ctx);
  try {
    const req = { targets: strings(inv.flags.target), replace: strings(inv.flags.replace) };
    const { plan: p, fingerprint } = await planAgainst(ctx, live.state, req);
    const out = typeof inv.flags.out === 'string' ? resolve(ctx.cwd, inv.flags.out) : undefined;
    if (out)
      await (
        await import('../saved-plan.js')
      ).writeSavedPlan(out, p, {
        configDir: ctx.configDir,
        stateDir: ctx.stateDir,
        board: ctx.board.name,
        backend: ctx.backend,
        fingerprint,
        live: live.state,
      });
    if (ctx.json) io.out(`${JSON.stringify(planJson(p))}\n`);
    else {
      io.out(renderPlan(p, live.state, styleFor(io.outStream)));
      if (out)
        io.out(`\nSaved the plan to ${out}. Run \`vman apply ${inv.flags.out as string}\` to apply exactly it.\n`);
    }
    return inv.flags['detailed-exitcode'] === true && hasChanges(p) ? 2 : 0;
  } finally {
    await live.monitor.close();
  }
};

export default plan;
