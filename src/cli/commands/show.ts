// `vman show PLANFILE`: a saved plan, as `plan` printed it (or its JSON).
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { planOf, readSavedPlan } from '../../engine/index.js';
import { renderPlan, planJson } from '../render/plan.js';
import { styleFor } from '../render/style.js';

const show: Command<'show'> = async (inv, io) => {
  const name = inv.positionals[0] ?? '';
  const doc = await readSavedPlan(resolve(io.cwd, name));
  const plan = planOf(doc);
  if (inv.flags.json) {
    io.out(`${JSON.stringify({ ...planJson(plan), created: doc.created, board: doc.board, backend: doc.backend })}\n`);
    return 'ok';
  }
  const header =
    `Saved plan ${name} (made ${doc.created} for board ${doc.board} on the ${doc.backend} backend, ` +
    `config ${doc.configDir})`;
  const targets = doc.fingerprint.options.targets;
  io.out(renderPlan(plan, doc.live, styleFor(io.outStream, io.env), { header, targets }));
  return 'ok';
};

export default show;
