// `vman validate`: every check that needs no live state; nothing is written.
import type { Command } from '../run.js';
import type { Diagnostic } from '../../rules/diagnostic.js';
import { sortDiagnostics } from '../../rules/diagnostic.js';
import { openContext } from '../context.js';
import { desiredState } from '../desired.js';
import { renderDiagnostics, diagnosticJson } from '../render/diagnostics.js';
import { styleFor } from '../render/style.js';
import { lookupSource } from '../render/source.js';

const validate: Command = async (inv, io) => {
  const boardProblems: Diagnostic[] = [];
  const ctx = await openContext(inv, io, { collect: boardProblems });
  const { inputs, set } = await desiredState(ctx, { boardProblems, cache: false });
  const problems = sortDiagnostics([...inputs.problems, ...set.problems]);
  if (ctx.json) io.out(`${JSON.stringify({ valid: problems.length === 0, problems: problems.map(diagnosticJson) })}\n`);
  if (problems.length) {
    io.err(renderDiagnostics(problems, styleFor(io.errStream), lookupSource));
    return 1;
  }
  if (!ctx.json) {
    const n = inputs.specs.length;
    io.out(`Valid: ${n} partition${n === 1 ? '' : 's'} on board ${ctx.board.name}.\n`);
  }
  return 0;
};

export default validate;
