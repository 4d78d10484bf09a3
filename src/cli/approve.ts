// Approval, as Terraform asks for it: the plan is shown under the lock, then `yes` on a terminal;
// without a terminal the command refuses unless --auto-approve was given.
import { createInterface } from 'node:readline';
import { VmanError } from '../errors.js';
import type { DependencyWarning, PlanReview, Review } from '../engine/index.js';
import { dependencyWarningLine } from './render/warnings.js';
import { styleFor } from './render/style.js';
import type { CommandIO } from './io.js';

/** Asks for `yes` on a terminal; without one, refuses unless auto-approved. */
export async function approve(io: CommandIO, autoApprove: boolean, question: string): Promise<void> {
  if (autoApprove) return;
  if (!io.stdin.isTTY) {
    throw new VmanError(
      'refused',
      'no terminal to ask for approval on; run again with --auto-approve (or apply a saved plan)',
    );
  }
  const rl = createInterface({ input: io.stdin, output: process.stdout });
  const answer = await new Promise<string>((res) =>
    rl.question(`${question}\n  Only 'yes' will be accepted.\n\n  Enter a value: `, res),
  );
  rl.close();
  if (answer.trim() !== 'yes')
    throw new VmanError('refused', 'apply cancelled: the answer was not `yes`; nothing was changed');
}

/**
 * The review a writing command gives the engine: `show` prints the plan (unless --json), then each
 * warning goes to stderr (a partition others depend on goes away; `hint` says how to take them too);
 * when the plan changes something (or `always`), approval is asked.
 */
export function reviewer(
  io: CommandIO,
  o: {
    json: boolean;
    autoApprove: boolean;
    question: string;
    always?: boolean;
    hint?: (w: DependencyWarning) => string | undefined;
  },
  show: (r: PlanReview) => Promise<void> | void,
): Review {
  return async (r) => {
    if (!o.json) await show(r);
    const style = styleFor(io.errStream, io.env);
    for (const w of r.warnings) io.err(dependencyWarningLine(w, style, o.hint?.(w)));
    const changes = r.plan.changes.some((c) => c.action !== 'noop');
    if (changes || o.always) await approve(io, o.autoApprove, o.question);
  };
}
