// The monitor interface every backend satisfies: read live state, carry out each step kind.
import type { Board, MemRange } from '../board/model.js';
import type { AppliedRecord, LoadItem, Step, Target } from '../plan/types.js';

/** Power state as SPEC's `status --json` names it. */
export type PowerState = 'running' | 'stopped' | 'paused' | 'shutdown' | 'crashed';

/** What the monitor says was loaded into a partition. */
export interface LoadedImage {
  readonly what: LoadItem['what'];
  readonly addr: number;
  readonly size: number;
  readonly sha256: string;
}

/** A partition as the monitor holds it now. */
export interface LivePartition {
  readonly name: string;
  readonly state: PowerState;
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  readonly devices: readonly string[];
  /** What is in its memory; empty when scrubbed or never loaded. */
  readonly loaded: readonly LoadedImage[];
  /** The digest of the whole boot (Target.bootDigest) once a load completed; absent otherwise. */
  readonly bootDigest?: string;
  readonly entry?: number;
  /** The manifest fields recorded when it was last brought up (absent after drift or a crash). */
  readonly record?: AppliedRecord;
}

/** Something the monitor holds that belongs to no partition it knows (after a crash, say). */
export interface Orphan {
  /** The owner tag the monitor holds it under. */
  readonly owner: string;
  readonly cpus: readonly number[];
  readonly memory: readonly MemRange[];
  readonly devices: readonly string[];
  readonly detail: string;
}

export interface LiveState {
  readonly partitions: readonly LivePartition[];
  readonly orphans: readonly Orphan[];
}

/** Progress a long step reports (console lines while waiting for readiness, say). */
export type StepReporter = (message: string) => void;

/** How far a step that moves bytes (a load) has got: `done` of `total` bytes. */
export type ByteReporter = (done: number, total: number) => void;

/** How what a load puts in memory is entered: fixed by the load, compared at the release. */
export interface BootEntry {
  /** Target.bootDigest of the load. */
  readonly bootDigest: string;
  readonly entry: number;
  /** Logical id of the core released at `entry`. */
  readonly bootCpu: number;
  readonly dtbAddr: number;
}

/** What one step needs besides its own fields (from the plan's Target, for bring-up steps). */
export interface StepContext {
  /** build-fdt: the planned DTB's bytes. */
  readonly dtb?: Uint8Array;
  /** load: how what it loads is entered. */
  readonly boot?: BootEntry;
  readonly report: StepReporter;
  /** Bytes moved so far, for a step that moves many (a load); optional for both sides. */
  readonly bytes?: ByteReporter;
  /** Aborts a long step (wait-ready) when the user interrupts. */
  readonly signal: AbortSignal;
}

/** The step context's bring-up fields for a desired partition. */
export function plannedFor(t: Target | undefined): Pick<StepContext, 'dtb' | 'boot'> {
  if (!t) return {};
  return { dtb: t.dtb, boot: { bootDigest: t.bootDigest, entry: t.entry, bootCpu: t.bootCpu, dtbAddr: t.dtbAddr } };
}

/** One monitor. A backend refuses what would break isolation, even when asked. */
export interface Monitor {
  readonly name: string;
  readonly board: Board;
  /** Reads the live state (cheap; called by plan and status). */
  read(): Promise<LiveState>;
  /** Carries out one step. Safe to repeat: a step that already took effect succeeds again. */
  execute(step: Step, ctx: StepContext): Promise<void>;
  /** The DTB the monitor built for a live partition, if it has one. */
  liveDtb(name: string): Promise<Uint8Array | undefined>;
  /** The console output of a partition so far, if the backend keeps one. */
  consoleLog?(name: string): Promise<string | undefined>;
  /**
   * Streams a partition's console from its start: `write` gets each new chunk until the partition's
   * process ends or `signal` aborts. False when there is no such partition.
   */
  followConsole?(name: string, write: (chunk: string) => void, signal: AbortSignal): Promise<boolean>;
  /**
   * The console of the partition's previous boot: the boot before the one running now, or, once the
   * partition is gone (destroyed, or rolled back after a failed boot), its last one. Undefined when no
   * earlier boot left one.
   */
  previousConsoleLog?(name: string): Promise<string | undefined>;
  /**
   * Attaches to a running partition's console: streams it from its start as followConsole does, and
   * `send` types into the partition's UART. Throws a `backend` VmanError (reason `unsupported`) when
   * this partition's console takes no input.
   */
  attachConsole?(name: string, write: (chunk: string) => void, signal: AbortSignal): Promise<ConsoleSession>;
  /**
   * Asks a running partition's OS to power itself off (a power button press), and returns at once;
   * the partition shows `shutdown` once its OS has done so. Throws a `backend` VmanError with reason
   * `unsupported` when this partition has no way to receive the request. Absent: no backend support.
   */
  powerOff?(name: string): Promise<void>;
  /** Releases handles (sockets, timers). */
  close(): Promise<void>;
}

/** A console attached to: what is typed goes to the partition's UART until the session is done. */
export interface ConsoleSession {
  /** Bytes for the partition's UART (keystrokes). */
  send(bytes: Uint8Array): void;
  /** Settles when the session's signal aborted (`detached`) or the partition's process ended (`ended`). */
  readonly done: Promise<'detached' | 'ended'>;
}

/** How a backend is opened. */
export interface MonitorOptions {
  readonly board: Board;
  readonly stateDir: string;
  /** Where a provider runs and relative paths in its `--backend` value resolve (default: the process's). */
  readonly cwd?: string;
  /** A provider's environment (default: the process's). */
  readonly env?: NodeJS.ProcessEnv;
}
