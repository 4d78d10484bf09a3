// `vman validate`: every check that needs no live state; nothing is written.
import type { Command } from '../run.js';
import type { Diagnostic } from '../../rules/diagnostic.js';
import { openEngine } from '../engine.js';
import { renderDiagnostics, diagnosticJson } from '../render/diagnostics.js';
import { styleFor } from '../render/style.js';
import { lookupSource } from '../render/source.js';

const validate: Command<'validate'> = async (inv, io) => {
  const boardProblems: Diagnostic[] = [];
  const engine = await openEngine(inv.flags, io, { collectBoardProblems: boardProblems, readOnly: true });
  const { partitions, problems } = await engine.validate(boardProblems);
  if (inv.flags.json)
    io.out(`${JSON.stringify({ valid: problems.length === 0, problems: problems.map(diagnosticJson) })}\n`);
  if (problems.length) {
    io.err(renderDiagnostics(problems, styleFor(io.errStream, io.env), lookupSource));
    return 'problems';
  }
  if (!inv.flags.json) {
    io.out(`Valid: ${partitions} partition${partitions === 1 ? '' : 's'} on board ${engine.workspace.board.name}.\n`);
  }
  return 'ok';
};

export default validate;
