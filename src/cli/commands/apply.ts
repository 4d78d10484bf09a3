// `vman apply [PLANFILE]`: a fresh plan (approved on a terminal) or exactly a saved plan, run
// under the lock from planning to the end, so what is approved is what runs.
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { applied, readSavedPlan } from '../../engine/index.js';
import { reviewer } from '../approve.js';
import { renderPlan, planJson, appliedLine, partialApplyWarning } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { warningsJson } from '../render/warnings.js';
import { whileWriting, writerEngine } from '../writing.js';

const apply: Command<'apply'> = async (inv, io) => {
  const f = inv.flags;
  const json = f.json === true;
  const engine = await writerEngine(f, io);
  const file = inv.positionals[0];
  const saved = file ? { file, plan: await readSavedPlan(resolve(io.cwd, file)) } : undefined;
  const s = styleFor(io.outStream, io.env);
  const targets = f.target ?? [];
  // A saved plan was reviewed when it was made: it never asks.
  const review = saved
    ? undefined
    : reviewer(
        io,
        { json, autoApprove: f['auto-approve'] === true, question: '\nDo you want to perform these actions?' },
        async (r) => io.out(renderPlan(r.plan, r.live, s, { trees: await r.trees(), targets })),
      );
  const out = applied(
    await whileWriting(io, (signal) =>
      engine.apply({
        targets,
        replace: f.replace ?? [],
        ...(saved ? { saved } : {}),
        ...(review ? { review } : {}),
        signal,
      }),
    ),
  );
  if (json) {
    const doc = { ...planJson(out.plan), applied: true, steps_run: out.result?.done ?? [] };
    io.out(`${JSON.stringify({ ...doc, warnings: warningsJson(out.warnings) })}\n`);
    io.err(partialApplyWarning(targets, styleFor(io.errStream, io.env)).trimStart());
  } else if (out.result) {
    io.out(`\n${s.green(s.bold('Apply complete!'))} ${appliedLine(out.plan)}\n`);
    io.out(partialApplyWarning(targets, s));
  }
  return 'ok';
};

export default apply;
