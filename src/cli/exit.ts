// vman's exit codes (SPEC "Exit codes"), in one place: run.ts maps every outcome and error to these,
// and a second Ctrl-C exits with the shell's code for the signal.
import { constants } from 'node:os';

export const EXIT = {
  ok: 0,
  /** Invalid input, a failed apply, a stale plan, a held lock: any error. */
  error: 1,
  /** `plan --detailed-exitcode` found changes. */
  changes: 2,
} as const;

/** What a command reports when it returns instead of throwing. */
export type CommandResult = 'ok' | 'changes' | 'problems';

/** The exit code of a command's result (`problems`: it printed them itself, as `validate` does). */
export function exitCode(r: CommandResult): number {
  return r === 'ok' ? EXIT.ok : r === 'changes' ? EXIT.changes : EXIT.error;
}

/** The exit code of a process that stops at once on a signal: 128 + its number, as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
