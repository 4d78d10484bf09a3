// What `vman watch --json` prints: one JSON object per line, each with `event` (its type) and
// `time` (ISO 8601). Paths are shown as diagnostics show files: relative to the current
// directory when below it, else absolute. Sizes and durations are numbers (ms).
import type { DiagnosticJson } from '../rules/diagnostic.js';
import type { FileChange, Summary, Trigger } from './core.js';
import type { Ending } from '../engine/restarts.js';
import type { RestartPolicy } from '../manifest/types.js';

/** A problem as events and the status file carry it (the shape of `validate --json` problems). */
export type ProblemJson = DiagnosticJson;
export { diagnosticJson as problemJson } from '../rules/diagnostic.js';

interface LockHolder {
  readonly pid: number;
  readonly operation: string;
  readonly since: string;
}

interface StepRef {
  readonly step: string;
  readonly partition: string;
  readonly kind: string;
}

/** Every event, without its time (the agent stamps it when emitting). */
export type EventBody =
  | {
      readonly event: 'ready';
      readonly pid: number;
      readonly configDir: string;
      readonly stateDir: string;
      readonly settleMs: number;
      readonly resyncMs: number;
      readonly watching: readonly string[];
    }
  | { readonly event: 'file'; readonly path: string; readonly change: FileChange }
  | { readonly event: 'resync' }
  | { readonly event: 'reconcile-started'; readonly trigger: Trigger; readonly files: readonly string[] }
  | { readonly event: 'lock-wait'; readonly holder: LockHolder }
  | { readonly event: 'lock-takeover'; readonly holder: LockHolder }
  | {
      readonly event: 'recovered';
      readonly operation: string;
      readonly pid: number;
      readonly inFlight: readonly string[];
    }
  | {
      readonly event: 'plan';
      readonly summary: Summary;
      readonly changes: readonly {
        readonly partition: string;
        readonly action: string;
        readonly reasons: readonly string[];
      }[];
    }
  | ({ readonly event: 'step-started' } & StepRef)
  | ({ readonly event: 'step-done'; readonly ms: number } & StepRef)
  | ({ readonly event: 'step-failed'; readonly ms: number; readonly error: string } & StepRef)
  | ({ readonly event: 'step-skipped'; readonly because: string } & StepRef)
  | { readonly event: 'rollback'; readonly partition: string; readonly ok: boolean; readonly error?: string }
  | { readonly event: 'note'; readonly partition: string; readonly message: string }
  /**
   * A partition's OS ended by itself (crashed, or powered off), seen for the first time: what its restart
   * policy does. `reason` CrashLoop: restarted at `restartAt`, after backoff; Ended: left so.
   */
  | {
      readonly event: 'partition-ended';
      readonly partition: string;
      readonly state: Ending;
      readonly restartPolicy: RestartPolicy;
      readonly reason: 'CrashLoop' | 'Ended';
      /** Restarts so far. */
      readonly restarts: number;
      readonly restartAt: string | null;
      readonly restartInMs: number | null;
      readonly message: string;
    }
  /** The restart policy starts a partition that ended (its steps follow). */
  | {
      readonly event: 'partition-restart';
      readonly partition: string;
      /** How it had ended. */
      readonly ended: Ending;
      readonly restartPolicy: RestartPolicy;
      /** Restarts so far, this one included. */
      readonly restarts: number;
      readonly message: string;
    }
  | ({ readonly event: 'problem' } & ProblemJson)
  | { readonly event: 'problems-cleared'; readonly count: number }
  | {
      readonly event: 'reconcile-finished';
      readonly trigger: Trigger;
      readonly result: 'converged' | 'invalid' | 'failed' | 'interrupted';
      readonly ms: number;
      readonly summary: Summary | null;
      readonly stepsRun: number;
      readonly problems: number;
      readonly error?: string;
      readonly retryInMs?: number;
    }
  | { readonly event: 'signal'; readonly signal: string; readonly action: 'stopping' | 'exiting' }
  | { readonly event: 'stopped' }
  /** The libvirt endpoint (`--libvirt`): listening, a client connected or gone, a connection refused. */
  | {
      readonly event: 'libvirt';
      readonly what: 'listening' | 'connected' | 'disconnected' | 'refused';
      readonly address?: string;
      readonly client?: number;
      readonly peer?: string;
      readonly reason?: string;
    }
  | { readonly event: 'error'; readonly message: string };

export type WatchEvent = EventBody & { readonly time: string };

export type Emit = (e: EventBody) => void;
