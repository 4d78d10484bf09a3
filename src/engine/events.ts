// What the engine tells its front end while it works: the lock, recovery, and every step of an
// apply. The CLI renders these as lines, `vman watch --json` as JSON events; the engine itself
// never writes to a terminal.
import type { LockOwner } from '../apply/lock.js';
import type { Interrupted } from '../apply/journal.js';
import type { ApplyEvent } from '../apply/execute.js';

export type EngineEvent =
  /** A writer waits for the lock another process holds (told once per wait). */
  | { readonly type: 'lock-wait'; readonly holder: LockOwner; readonly timeoutMs: number }
  /** The lock of a process that no longer runs was taken over. */
  | { readonly type: 'lock-takeover'; readonly holder: LockOwner }
  /** An interrupted run's journal was found and retired; the plan that follows starts from live state. */
  | { readonly type: 'recovered'; readonly interrupted: Interrupted }
  | ApplyEvent;

/** Receives the engine's events; must not throw. */
export type Reporter = (e: EngineEvent) => void;

/** A reporter that drops everything. */
export const quiet: Reporter = () => undefined;
