// `vman create -f FILE`: adds the file's one Partition as partitions.d/NAME.yaml (relative paths
// made absolute), then reconciles that partition. If the manifest is invalid, or the change is
// declined, the file is taken back out: nothing changes.
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { applied } from '../../engine/index.js';
import { displayName } from '../../manifest/load.js';
import { reviewer } from '../approve.js';
import { renderPlan, planJson, appliedLine } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { whileWriting, writerEngine } from '../writing.js';

const create: Command<'create'> = async (inv, io) => {
  const f = inv.flags;
  if (f.file === undefined) throw new VmanError('usage', 'usage: vman create -f FILE [--auto-approve]');
  const given = f.file;
  const json = f.json === true;
  const engine = await writerEngine(f, io);
  const s = styleFor(io.outStream, io.env);
  const review = reviewer(
    io,
    { json, autoApprove: f['auto-approve'] === true, question: '\nDo you want to perform these actions?' },
    (r) => io.out(renderPlan(r.plan, r.live, s)),
  );
  const out = applied(await whileWriting(io, (signal) => engine.create(given, { review, signal })));
  const file = displayName(out.file, io.cwd);
  if (json) {
    const steps = out.result?.done ?? [];
    io.out(`${JSON.stringify({ ...planJson(out.plan), applied: true, file, steps_run: steps })}\n`);
    return 'ok';
  }
  io.out(`\nAdded ${file}.`);
  io.out(out.result ? ` ${s.green(s.bold('Apply complete!'))} ${appliedLine(out.plan)}\n` : '\n');
  return 'ok';
};

export default create;
