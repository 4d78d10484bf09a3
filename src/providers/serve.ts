// `vman provider serve sim|qemu`: a built-in backend behind the provider protocol, on stdin/stdout,
// so the protocol is proven against the real QEMU backend and a provider's author has a reference
// to compare with. Each request becomes the backend's step (or read), checked by the same safety
// rules; what the backend throws becomes the protocol's error code.
import { createHash } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import type { Board } from '../board/model.js';
import type { Step, StepKind } from '../plan/types.js';
import { VmanError } from '../errors.js';
import { openMonitor } from '../backends/index.js';
import type { LiveState, Monitor, PowerState, StepContext } from '../backends/types.js';
import {
  ErrorCode,
  PROTOCOL_VERSIONS,
  STEP_KINDS,
  type Capabilities,
  type InitializeResult,
} from '../backends/provider/protocol.js';
import { LinePeer, PeerGone, RpcError } from '../backends/provider/rpc.js';
import { vmanVersion } from '../cli/version.js';
import { KeyedSerial } from '../state/serial.js';

export interface ServeOptions {
  readonly backend: 'sim' | 'qemu';
  readonly stateDir: string;
  readonly stdin: NodeJS.ReadableStream;
  /** Writes to stdout (whole lines). */
  readonly out: (s: string) => void;
  /** Writes to stderr, the provider's log. */
  readonly log: (s: string) => void;
}

/** How often the monitor is read for state changes nobody asked for (a guest that powered off). */
const WATCH_MS = 2000;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// Field readers for params: a wrong or missing field is -32602 naming it.
function invalid(field: string, what: string): RpcError {
  return new RpcError(ErrorCode.invalidParams, `params.${field} must be ${what}`);
}
function str(p: Json, field: string): string {
  const v = p[field];
  if (typeof v !== 'string' || v === '') throw invalid(field, 'a non-empty string');
  return v;
}
function int(p: Json, field: string): number {
  const v = p[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(field, 'an integer ≥ 0');
  return v;
}
function ints(p: Json, field: string): number[] {
  const v = p[field];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0))
    throw invalid(field, 'an array of integers ≥ 0');
  return v as number[];
}
function strs(p: Json, field: string): string[] {
  const v = p[field];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(field, 'an array of strings');
  return v as string[];
}
function range(p: Json, field: string): { base: number; size: number } {
  const v = p[field];
  if (!isObject(v)) throw invalid(field, 'an object {base, size}');
  return { base: int(v, 'base'), size: int(v, 'size') };
}

/** The protocol's code for what a backend threw. */
function rpcErrorOf(err: unknown, method: string): RpcError {
  if (err instanceof RpcError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof VmanError)) return new RpcError(ErrorCode.failed, message, { retryable: false });
  switch (err.reason) {
    case 'no-such-partition':
      return new RpcError(ErrorCode.noSuchPartition, message);
    case 'refused':
    case 'wrong-state':
      // A partition with nothing to wait for (stopped, paused) did not become ready: the doc's -32012.
      if (method === 'waitReady') return new RpcError(ErrorCode.notReady, message);
      return new RpcError(ErrorCode.refused, message);
    case 'input-changed':
      return new RpcError(ErrorCode.inputChanged, message);
    case 'unsupported':
      return new RpcError(ErrorCode.unsupported, message, { retryable: false, reason: message });
    default:
      if (method === 'waitReady') return new RpcError(ErrorCode.notReady, message);
      return new RpcError(ErrorCode.failed, message, { retryable: false });
  }
}

/** The step a partition method asks for, and the context the backend needs beyond it. */
function stepOf(kind: StepKind, p: Json): { step: Step; ctx: Pick<StepContext, 'dtb' | 'boot'> } {
  const partition = str(p, 'partition');
  const base = { id: `${partition}/${kind}`, partition, after: [] };
  switch (kind) {
    case 'allocate':
      return {
        step: { ...base, kind, cpus: ints(p, 'cpus'), memory: range(p, 'memory'), devices: strs(p, 'devices') },
        ctx: {},
      };
    case 'build-fdt': {
      const dtb = Buffer.from(str(p, 'dtb'), 'base64');
      const sha256 = str(p, 'sha256');
      const size = int(p, 'size');
      // The bytes must be the ones named: vman's check compares the planned bytes' digest with the step's.
      const got = createHash('sha256').update(dtb).digest('hex');
      if (got !== sha256 || dtb.length !== size)
        throw new RpcError(
          ErrorCode.refused,
          `the monitor refused build-fdt for \`${partition}\`: the DTB sent is ${dtb.length} bytes with ` +
            `sha256 ${got.slice(0, 12)}…, not the ${size} bytes with ${sha256.slice(0, 12)}… named`,
        );
      return { step: { ...base, kind, dtbSha256: sha256, size }, ctx: { dtb } };
    }
    case 'load': {
      const items = p.items;
      if (!Array.isArray(items) || !items.every(isObject)) throw invalid('items', 'an array of load items');
      const boot = { bootDigest: str(p, 'bootDigest'), entry: int(p, 'entry'), bootCpu: int(p, 'bootCpu') };
      return {
        step: {
          ...base,
          kind,
          items: items.map((i, n) => {
            const what = i.what;
            if (what !== 'kernel' && what !== 'initrd' && what !== 'dtb' && what !== 'image' && what !== 'segment')
              throw invalid(`items[${n}].what`, 'kernel, initrd, dtb, image or segment');
            return {
              what,
              ...(i.file !== undefined ? { file: str(i, 'file') } : {}),
              offset: int(i, 'offset'),
              size: int(i, 'size'),
              addr: int(i, 'addr'),
              ...(i.zero !== undefined ? { zero: int(i, 'zero') } : {}),
              sha256: str(i, 'sha256'),
            };
          }),
        },
        ctx: { boot: { ...boot, dtbAddr: int(p, 'dtbAddr') } },
      };
    }
    case 'release-cores':
      return {
        step: { ...base, kind, bootCpu: int(p, 'bootCpu'), entry: int(p, 'entry'), dtbAddr: int(p, 'dtbAddr') },
        ctx: {},
      };
    case 'wait-ready':
      return {
        step: {
          ...base,
          kind,
          ...(p.console !== undefined ? { console: str(p, 'console') } : {}),
          timeoutMs: int(p, 'timeoutMs'),
        },
        ctx: {},
      };
    case 'stop-cores':
    case 'release-resources':
      return { step: { ...base, kind }, ctx: {} };
    case 'scrub-memory':
      return { step: { ...base, kind, memory: range(p, 'memory') }, ctx: {} };
  }
}

const METHOD_KINDS = new Map<string, StepKind>([
  ['allocate', 'allocate'],
  ['buildFdt', 'build-fdt'],
  ['load', 'load'],
  ['releaseCores', 'release-cores'],
  ['waitReady', 'wait-ready'],
  ['stopCores', 'stop-cores'],
  ['scrubMemory', 'scrub-memory'],
  ['releaseResources', 'release-resources'],
]);

/** The `inspect` answer: live state as the backend reads it (vman's records are vman's, not the monitor's). */
function inspected(live: LiveState): Json {
  return {
    partitions: live.partitions.map((p) => ({
      name: p.name,
      state: p.state,
      cpus: p.cpus,
      memory: { base: p.memory.base, size: p.memory.size },
      devices: p.devices,
      loaded: p.loaded.map((l) => ({ what: l.what, addr: l.addr, size: l.size, sha256: l.sha256 })),
      ...(p.bootDigest !== undefined ? { bootDigest: p.bootDigest } : {}),
      ...(p.entry !== undefined ? { entry: p.entry } : {}),
    })),
    orphans: live.orphans,
  };
}

/** A minimal check that `board` is vman's board model (the backends trust it). */
function boardOf(v: unknown): Board {
  if (!isObject(v) || typeof v.name !== 'string' || !Array.isArray(v.cpus) || !Array.isArray(v.memory))
    throw invalid('board', "vman's board model (name, arch, cpus, memory, reserved, devices)");
  if (!Array.isArray(v.reserved) || !Array.isArray(v.devices) || typeof v.arch !== 'string')
    throw invalid('board', "vman's board model (name, arch, cpus, memory, reserved, devices)");
  return v as unknown as Board;
}

/** Serves until stdin ends or vman sends `shutdown`. */
export async function serveProvider(o: ServeOptions): Promise<void> {
  let monitor: Monitor | undefined;
  // Requests for one partition run in order; different partitions' run at once (the backends keep
  // their own claims consistent). The watch for state changes takes its turn like a request.
  const partitions = new KeyedSerial();
  const inFlight = new Set<Promise<unknown>>();
  const running = new Map<number | string, AbortController>();
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  let watchTimer: NodeJS.Timeout | undefined;
  let known = new Map<string, PowerState>();
  /** Steps carried out so far (a look at the monitor that one overlapped says nothing by itself). */
  let steps = 0;

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    const forget = () => void inFlight.delete(p);
    p.then(forget, forget);
    return p;
  };

  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      o.out(chunk.toString('utf8'));
      cb();
    },
  });

  const end = async (): Promise<void> => {
    if (watchTimer) clearInterval(watchTimer);
    watchTimer = undefined;
    await Promise.allSettled([...inFlight]);
    await monitor?.close();
    monitor = undefined;
    finished();
  };

  // Power states the monitor reached by itself since the last look are announced as partitionState.
  const remember = (live: LiveState, announce: boolean): void => {
    const now = new Map(live.partitions.map((p) => [p.name, p.state]));
    if (announce)
      for (const [name, state] of now)
        if (known.has(name) && known.get(name) !== state) peer.notify('partitionState', { partition: name, state });
    known = now;
  };

  const initialize = async (p: Json): Promise<InitializeResult> => {
    if (monitor) throw new RpcError(ErrorCode.invalidRequest, 'initialize was already called');
    const offered = p.protocolVersions;
    const version = PROTOCOL_VERSIONS.find((v) => Array.isArray(offered) && offered.includes(v));
    if (!version) {
      setImmediate(() => void end());
      throw new RpcError(
        ErrorCode.version,
        `no protocol version in common: offered ${JSON.stringify(offered)}, ` +
          `this provider speaks ${PROTOCOL_VERSIONS.join(', ')}`,
      );
    }
    const opened = await openMonitor(o.backend, { board: boardOf(p.board), stateDir: o.stateDir });
    monitor = opened;
    remember(await opened.read(), false);
    watchTimer = setInterval(() => {
      if (inFlight.size > 0) return;
      // A look that a step overlapped is dropped: that step's change is not news.
      const before = steps;
      track(opened.read().then((live) => monitor === opened && before === steps && remember(live, true)));
    }, WATCH_MS);
    watchTimer.unref();
    const capabilities: Capabilities = {
      steps: [...STEP_KINDS],
      placesMemory: 'vman',
      buildsDeviceTree: false,
      console: { read: opened.consoleLog !== undefined, follow: false },
      powerOff: opened.powerOff !== undefined,
      liveDtb: true,
      concurrent: true,
    };
    return {
      protocolVersion: version,
      provider: { name: `vman-${o.backend}`, version: vmanVersion() },
      capabilities,
    };
  };

  const call = async (method: string, params: unknown, id: number | string): Promise<unknown> => {
    const p = isObject(params) ? params : {};
    if (method === 'initialize') return initialize(p);
    if (method === 'shutdown') {
      setImmediate(() => void end());
      return {};
    }
    const m = monitor;
    if (!m) throw new RpcError(ErrorCode.notInitialized, `${method} before initialize`);
    const kind = METHOD_KINDS.get(method);
    if (kind) {
      const { step, ctx } = stepOf(kind, p);
      const abort = new AbortController();
      running.set(id, abort);
      try {
        await m.execute(step, {
          ...ctx,
          report: (message) => peer.notify('progress', { partition: step.partition, message }),
          signal: abort.signal,
        });
      } finally {
        running.delete(id);
      }
      if (abort.signal.aborted) throw new RpcError(ErrorCode.cancelled, `${method} was cancelled`);
      // What a step changed is vman's doing, not news: the next look starts afresh for that partition.
      known.delete(step.partition);
      steps++;
      return {};
    }
    switch (method) {
      case 'inspect': {
        const live = await m.read();
        remember(live, false);
        return inspected(live);
      }
      case 'liveDtb': {
        const dtb = await m.liveDtb(str(p, 'partition'));
        return { dtb: dtb ? Buffer.from(dtb).toString('base64') : null };
      }
      case 'consoleLog': {
        if (!m.consoleLog) throw new RpcError(ErrorCode.methodNotFound, 'consoleLog: this backend keeps no console');
        return { text: (await m.consoleLog(str(p, 'partition'))) ?? null };
      }
      case 'powerOff': {
        if (!m.powerOff) throw new RpcError(ErrorCode.methodNotFound, 'powerOff: this backend has no power button');
        await m.powerOff(str(p, 'partition'));
        return {};
      }
      default:
        throw new RpcError(ErrorCode.methodNotFound, `no method ${method}`);
    }
  };

  const peer: LinePeer = new LinePeer(
    o.stdin as Readable,
    output,
    {
      // `cancel` reaches the running request at once.
      request: (method, params, id) => {
        const partition = isObject(params) && typeof params.partition === 'string' ? params.partition : undefined;
        const go = () => call(method, params, id);
        const answer = track(partition === undefined ? go() : partitions.run(partition, go));
        return answer.catch((err: unknown) => {
          const e = rpcErrorOf(err, method);
          if (e.code === ErrorCode.failed) o.log(`vman provider serve: ${method}: ${e.message}\n`);
          throw e;
        });
      },
      notification: (method, params) => {
        if (method === 'cancel' && isObject(params)) {
          const id = params.id;
          if (typeof id === 'number' || typeof id === 'string') running.get(id)?.abort();
        }
      },
    },
    'vman',
  );
  o.stdin.on('end', () => void end());
  await done;
  peer.end(new PeerGone('vman ended the session', 'closed'));
  // Nothing more is read: a vman that keeps stdin open after `shutdown` does not keep this process alive.
  (o.stdin as Readable).destroy();
}
