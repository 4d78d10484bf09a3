// `vman start NAME` / `vman stop NAME`: the imperative habit, kept declarative. The command sets
// `spec.state` in the document that declares the partition (the rest of the file as written), then
// reconciles that partition as `create` does: the plan is shown and approved under the lock, and the
// edit is taken back when it is declined, cannot be planned, or a step fails.
import type { Flags } from './args.js';
import type { CommandIO } from './io.js';
import type { CommandResult } from './exit.js';
import { applied } from '../engine/index.js';
import { displayName } from '../manifest/load.js';
import { reviewer } from './approve.js';
import { renderPlan, planJson, appliedLine } from './render/plan.js';
import { styleFor } from './render/style.js';
import { whileWriting, writerEngine } from './writing.js';

/** Sets a partition's declared state to `state` and reconciles it; prints what it did. */
export async function setStateCommand(
  name: string,
  state: 'running' | 'stopped',
  f: Flags<'start'> | Flags<'stop'>,
  io: CommandIO,
): Promise<CommandResult> {
  const json = f.json === true;
  const engine = await writerEngine(f, io);
  const s = styleFor(io.outStream, io.env);
  const review = reviewer(
    io,
    { json, autoApprove: f['auto-approve'] === true, question: '\nDo you want to perform these actions?' },
    (r) => {
      if (r.declaration)
        io.out(`\`${name}\`: spec.state is \`${state}\` in ${displayName(r.declaration.file, io.cwd)}.\n\n`);
      io.out(renderPlan(r.plan, r.live, s));
    },
  );
  const out = applied(await whileWriting(io, (signal) => engine.setState(name, state, { review, signal })));
  const file = out.declaration ? displayName(out.declaration.file, io.cwd) : null;
  if (json) {
    io.out(
      `${JSON.stringify({ ...planJson(out.plan), applied: true, file, state, steps_run: out.result?.done ?? [] })}\n`,
    );
    return 'ok';
  }
  if (out.result) io.out(`\n${s.green(s.bold('Apply complete!'))} ${appliedLine(out.plan)}\n`);
  return 'ok';
}
