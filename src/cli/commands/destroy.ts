// `vman destroy [NAME…]`: plan and apply the destruction of the named (or all) live partitions.
// Needs no valid manifests: it only tears down what the monitor holds.
import type { Command } from '../run.js';
import { applied } from '../../engine/index.js';
import { reviewer } from '../approve.js';
import { renderPlan, planJson, appliedLine } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { whileWriting, writerEngine } from '../writing.js';

const destroy: Command<'destroy'> = async (inv, io) => {
  const f = inv.flags;
  const json = f.json === true;
  const engine = await writerEngine(f, io);
  const s = styleFor(io.outStream, io.env);
  const question = '\nDo you really want to destroy these partitions?';
  const review = reviewer(io, { json, autoApprove: f['auto-approve'] === true, question }, (r) =>
    io.out(renderPlan(r.plan, r.live, s)),
  );
  const out = applied(await whileWriting(io, (signal) => engine.destroy(inv.positionals, { review, signal })));
  if (json) io.out(`${JSON.stringify({ ...planJson(out.plan), applied: true, steps_run: out.result?.done ?? [] })}\n`);
  else if (out.result) io.out(`\n${s.green(s.bold('Destroy complete!'))} ${appliedLine(out.plan)}\n`);
  return 'ok';
};

export default destroy;
