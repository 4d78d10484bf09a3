// The provider protocol, version 1 (docs/provider-protocol.md): the messages vman and a provider
// exchange, as types, and the tables both sides share. Pure data; the JSON Schemas of the same
// messages are in schemas/provider/.
import type { Board, MemRange } from '../../board/model.js';
import type { LoadItem, StepKind } from '../../plan/types.js';
import type { LoadedImage, Orphan, PowerState } from '../types.js';

/** The versions this vman speaks, newest first. */
export const PROTOCOL_VERSIONS = ['1'] as const;

/** Error codes (docs/provider-protocol.md "Errors"). */
export const ErrorCode = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  version: -32001,
  notInitialized: -32002,
  refused: -32010,
  inputChanged: -32011,
  notReady: -32012,
  unsupported: -32013,
  noSuchPartition: -32014,
  busy: -32020,
  failed: -32030,
  cancelled: -32800,
} as const;

/** What an error's `data` says besides its code. */
export interface ErrorData {
  readonly retryable: boolean;
  readonly reason?: string;
}

/** What a provider says it can do, once, in its answer to `initialize`. */
export interface Capabilities {
  readonly steps: readonly StepKind[];
  readonly placesMemory: 'vman';
  readonly buildsDeviceTree: false;
  readonly console: { readonly read: boolean; readonly follow: boolean };
  readonly powerOff: boolean;
  readonly liveDtb: boolean;
  /** Requests for different partitions may be in flight at once (never two for one partition). */
  readonly concurrent?: boolean;
}

export interface InitializeParams {
  readonly protocolVersions: readonly string[];
  readonly client: { readonly name: string; readonly version: string };
  /** vman's board model (what `vman board --json` prints, before rendering). */
  readonly board: Board;
}

export interface InitializeResult {
  readonly protocolVersion: string;
  readonly provider: { readonly name: string; readonly version: string };
  readonly capabilities: Capabilities;
}

/** A partition as `inspect` reports it. */
export interface InspectedPartition {
  readonly name: string;
  readonly state: PowerState;
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  readonly devices: readonly string[];
  readonly loaded: readonly LoadedImage[];
  readonly bootDigest?: string;
  readonly entry?: number;
}

export interface InspectResult {
  readonly partitions: readonly InspectedPartition[];
  readonly orphans: readonly Orphan[];
}

/** The params of each method; every partition method names its partition. */
export interface Params {
  initialize: InitializeParams;
  inspect: Record<string, never>;
  allocate: { partition: string; cpus: readonly number[]; memory: MemRange; devices: readonly string[] };
  buildFdt: { partition: string; dtb: string; sha256: string; size: number };
  load: {
    partition: string;
    items: readonly LoadItem[];
    bootDigest: string;
    entry: number;
    bootCpu: number;
    dtbAddr: number;
  };
  releaseCores: { partition: string; bootCpu: number; entry: number; dtbAddr: number };
  waitReady: { partition: string; console?: string; timeoutMs: number };
  stopCores: { partition: string };
  scrubMemory: { partition: string; memory: MemRange };
  releaseResources: { partition: string };
  liveDtb: { partition: string };
  consoleLog: { partition: string };
  powerOff: { partition: string };
  shutdown: Record<string, never>;
}

/** The result of each method. */
export interface Results {
  initialize: InitializeResult;
  inspect: InspectResult;
  allocate: Record<string, never>;
  buildFdt: Record<string, never>;
  load: Record<string, never>;
  releaseCores: Record<string, never>;
  waitReady: Record<string, never>;
  stopCores: Record<string, never>;
  scrubMemory: Record<string, never>;
  releaseResources: Record<string, never>;
  liveDtb: { dtb: string | null };
  consoleLog: { text: string | null };
  powerOff: Record<string, never>;
  shutdown: Record<string, never>;
}

export type Method = keyof Params;

/** Notifications a provider sends, and vman's one (`cancel`). */
export interface Notifications {
  progress: { partition: string; message: string };
  partitionState: { partition: string; state: PowerState };
  cancel: { id: number };
}

/** The method that carries out each step kind. */
export const STEP_METHODS = {
  allocate: 'allocate',
  'build-fdt': 'buildFdt',
  load: 'load',
  'release-cores': 'releaseCores',
  'wait-ready': 'waitReady',
  'stop-cores': 'stopCores',
  'scrub-memory': 'scrubMemory',
  'release-resources': 'releaseResources',
} as const satisfies Record<StepKind, Method>;

export type StepMethod = (typeof STEP_METHODS)[StepKind];

/** Every step kind, in the order of a bring-up then a teardown. */
export const STEP_KINDS = [
  'allocate',
  'build-fdt',
  'load',
  'release-cores',
  'wait-ready',
  'stop-cores',
  'scrub-memory',
  'release-resources',
] as const satisfies readonly StepKind[];

/** How long vman waits for each method's answer (wait-ready: its own timeout, plus this). */
export const METHOD_TIMEOUT_MS: Record<Method, number> = {
  initialize: 10_000,
  inspect: 30_000,
  allocate: 60_000,
  buildFdt: 60_000,
  load: 300_000,
  releaseCores: 60_000,
  waitReady: 10_000,
  stopCores: 60_000,
  scrubMemory: 120_000,
  releaseResources: 60_000,
  liveDtb: 30_000,
  consoleLog: 30_000,
  powerOff: 30_000,
  shutdown: 5_000,
};

/** The longest line either side accepts. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
