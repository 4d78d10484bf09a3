// Ctrl-C and SIGTERM for the commands that act: the first lets the running step finish and starts
// no other (the engine sees an aborted signal), a second stops the process at once (the journal
// tells the next run what was interrupted).
import { signalExitCode } from './exit.js';

/** Runs `fn` with an AbortSignal that the first SIGINT/SIGTERM aborts; `onFirst` says so to the user. */
export async function interruptible<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  hooks: { onFirst: (sig: NodeJS.Signals) => void; onSecond?: (sig: NodeJS.Signals) => void },
): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      hooks.onSecond?.(sig);
      process.exit(signalExitCode(sig));
    }
    controller.abort();
    hooks.onFirst(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
