// `vman delete NAME`: removes that partition's document from partitions.d/ (only that document),
// then destroys the partition if it is live.
import type { Command } from '../run.js';
import { applied, type Declaration } from '../../engine/index.js';
import { displayName } from '../../manifest/load.js';
import { reviewer } from '../approve.js';
import { renderPlan, planJson } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { whileWriting, writerEngine } from '../writing.js';

function removal(name: string, d: Declaration, cwd: string): string {
  const others = d.count - 1;
  const rest =
    others === 0
      ? ' (the file goes with it)'
      : ` (the file's ${others} other document${others > 1 ? 's stay' : ' stays'})`;
  return `The document declaring \`${name}\` will be removed from ${displayName(d.file, cwd)}${rest}.\n\n`;
}

const del: Command<'delete'> = async (inv, io) => {
  const f = inv.flags;
  const name = inv.positionals[0] ?? '';
  const json = f.json === true;
  const engine = await writerEngine(f, io);
  const s = styleFor(io.outStream, io.env);
  const review = reviewer(
    io,
    { json, autoApprove: f['auto-approve'] === true, question: `\nDelete partition \`${name}\`?`, always: true },
    (r) => {
      if (r.declaration) io.out(removal(name, r.declaration, io.cwd));
      if (r.plan.changes.length) io.out(renderPlan(r.plan, r.live, s));
    },
  );
  const out = applied(await whileWriting(io, (signal) => engine.delete(name, { review, signal })));
  if (json) {
    const removed = out.declaration ? displayName(out.declaration.file, io.cwd) : null;
    io.out(`${JSON.stringify({ ...planJson(out.plan), applied: true, removed, steps_run: out.result?.done ?? [] })}\n`);
  } else io.out(`\n${s.green(s.bold('Deleted'))} \`${name}\`.\n`);
  return 'ok';
};

export default del;
