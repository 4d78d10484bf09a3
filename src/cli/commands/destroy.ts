// `vman destroy [NAME…] [--cascade]`: plan and apply the destruction of the named (or all) live
// partitions. Needs no valid manifests: it only tears down what the monitor holds, and the manifests
// stay (the next apply brings the partitions back). Live partitions that depend on a named one keep
// running, with a warning naming them; --cascade destroys them too, dependants first.
import type { Command } from '../run.js';
import { applied, type DependencyWarning } from '../../engine/index.js';
import { reviewer } from '../approve.js';
import { renderPlan, planJson, appliedLine } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { warningsJson } from '../render/warnings.js';
import { whileWriting, writerEngine } from '../writing.js';

const destroy: Command<'destroy'> = async (inv, io) => {
  const f = inv.flags;
  const json = f.json === true;
  const engine = await writerEngine(f, io);
  const s = styleFor(io.outStream, io.env);
  const cascade = f.cascade === true;
  const question = '\nDo you really want to destroy these partitions?';
  const hint = (w: DependencyWarning) =>
    `\`vman destroy ${w.partition} --cascade\` destroys what depends on it too (dependants first).`;
  const review = reviewer(io, { json, autoApprove: f['auto-approve'] === true, question, hint }, (r) =>
    io.out(renderPlan(r.plan, r.live, s)),
  );
  const out = applied(await whileWriting(io, (signal) => engine.destroy(inv.positionals, { review, signal, cascade })));
  if (json) {
    const doc = { ...planJson(out.plan), applied: true, steps_run: out.result?.done ?? [] };
    io.out(`${JSON.stringify({ ...doc, warnings: warningsJson(out.warnings) })}\n`);
  } else if (out.result) io.out(`\n${s.green(s.bold('Destroy complete!'))} ${appliedLine(out.plan)}\n`);
  return 'ok';
};

export default destroy;
