// `vman show PLANFILE`: a saved plan, as `plan` printed it (or its JSON).
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { readSavedPlan, planOf } from '../saved-plan.js';
import { renderPlan, planJson } from '../render/plan.js';
import { styleFor } from '../render/style.js';

const show: Command = async (inv, io) => {
  const file = resolve(io.cwd, inv.positionals[0] ?? '');
  const doc = await readSavedPlan(file);
  const plan = planOf(doc);
  if (inv.flags.json === true) {
    io.out(`${JSON.stringify({ ...planJson(plan), created: doc.created, board: doc.board, backend: doc.backend })}\n`);
    return 0;
  }
  const header = `Saved plan ${inv.positionals[0]} (made ${doc.created} for board ${doc.board} on the ${doc.backend} backend, config ${doc.configDir})`;
  io.out(renderPlan(plan, doc.live, styleFor(io.outStream), header));
  return 0;
};

export default show;
