// What the writing commands (apply, destroy, create, delete) share: progress on the terminal, and
// Ctrl-C that finishes the running step before stopping.
import type { Engine } from '../engine/index.js';
import type { GlobalFlags } from './args.js';
import type { CommandIO } from './io.js';
import { openEngine } from './engine.js';
import { interruptible } from './signals.js';
import { terminalReporter } from './render/progress.js';

/** Opens the engine with progress for people (under --json: lock and recovery notes only, on stderr). */
export function writerEngine(flags: GlobalFlags, io: CommandIO): Promise<Engine> {
  return openEngine(flags, io, { report: terminalReporter(io, flags.json === true) });
}

/** Runs a write with an AbortSignal that the first Ctrl-C aborts (the second stops the process). */
export function whileWriting<T>(io: CommandIO, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return interruptible(fn, {
    onFirst: () =>
      io.err('\nInterrupted: finishing the running step, then stopping. Interrupt again to stop at once.\n'),
  });
}
