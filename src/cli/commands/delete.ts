// `vman delete NAME [--cascade]`: removes that partition's document from partitions.d/ (only that
// document), then destroys the partition if it is live. Refused, with nothing changed, while other
// manifests depend on it (naming each dependsOn); --cascade deletes those too, dependants first.
import type { Command } from '../run.js';
import { applied, type PlanReview, type Removal, type Review } from '../../engine/index.js';
import { displayName } from '../../manifest/load.js';
import { reviewer } from '../approve.js';
import { renderPlan, planJson } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { warningsJson } from '../render/warnings.js';
import { whileWriting, writerEngine } from '../writing.js';

function removal(r: Removal, cwd: string): string {
  const others = r.declaration.count - 1;
  const rest =
    others === 0
      ? ' (the file goes with it)'
      : ` (the file's ${others} other document${others > 1 ? 's stay' : ' stays'})`;
  const file = displayName(r.declaration.file, cwd);
  return `The document declaring \`${r.partition}\` will be removed from ${file}${rest}.\n`;
}

const del: Command<'delete'> = async (inv, io) => {
  const f = inv.flags;
  const name = inv.positionals[0] ?? '';
  const json = f.json === true;
  const cascade = f.cascade === true;
  const engine = await writerEngine(f, io);
  const s = styleFor(io.outStream, io.env);
  const show = (r: PlanReview) => {
    const removals = r.removals ?? [];
    if (removals.length) io.out(`${removals.map((x) => removal(x, io.cwd)).join('')}\n`);
    if (r.plan.changes.length) io.out(renderPlan(r.plan, r.live, s));
  };
  // The question names the dependants --cascade takes too.
  const review: Review = (r) => {
    const n = (r.removals ?? []).filter((x) => x.partition !== name).length;
    const also = n ? ` and the ${n} partition${n > 1 ? 's' : ''} that depend on it` : '';
    const question = `\nDelete partition \`${name}\`${also}?`;
    return reviewer(io, { json, autoApprove: f['auto-approve'] === true, question, always: true }, show)(r);
  };
  const out = applied(await whileWriting(io, (signal) => engine.delete(name, { review, signal, cascade })));
  const cascaded = out.removals.filter((r) => r.partition !== name);
  if (json) {
    const removed = out.declaration ? displayName(out.declaration.file, io.cwd) : null;
    const doc = { ...planJson(out.plan), applied: true, removed, steps_run: out.result?.done ?? [] };
    const also = cascaded.map((r) => ({ partition: r.partition, removed: displayName(r.declaration.file, io.cwd) }));
    io.out(`${JSON.stringify({ ...doc, cascade: also, warnings: warningsJson(out.warnings) })}\n`);
  } else {
    const with_ = cascaded.length ? ` with ${cascaded.map((r) => `\`${r.partition}\``).join(', ')}` : '';
    io.out(`\n${s.green(s.bold('Deleted'))} \`${name}\`${with_}.\n`);
  }
  return 'ok';
};

export default del;
