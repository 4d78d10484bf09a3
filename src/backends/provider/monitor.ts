// A monitor that is another program: the client side of the provider protocol
// (docs/provider-protocol.md). One provider process serves this vman command; a provider that dies
// or breaks the protocol during a call fails that call (the step is interrupted, and the executor
// rolls the partition back), and the next call starts a fresh one, which reads the monitor's state
// from scratch (`inspect`).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Board } from '../../board/model.js';
import type { Step } from '../../plan/types.js';
import { VmanError, type ErrorReason } from '../../errors.js';
import { vmanCommand, vmanVersion } from '../../cli/version.js';
import type { LiveState, Monitor, MonitorOptions, StepContext, StepReporter } from '../types.js';
import { locateProvider, type ProviderCommand } from './locate.js';
import {
  ErrorCode,
  METHOD_TIMEOUT_MS,
  PROTOCOL_VERSIONS,
  STEP_KINDS,
  STEP_METHODS,
  type Capabilities,
  type Method,
  type Params,
  type Results,
} from './protocol.js';
import { LinePeer, PeerGone, RpcError } from './rpc.js';
import { KeyedSerial, Serial } from '../../state/serial.js';
import { checkNotification, checkResult } from './validate.js';

/** How long a provider has to exit after `shutdown` and the end of its stdin. */
const EXIT_GRACE_MS = 5000;
/** Waits before retrying a call the provider called retryable (busy). */
const RETRY_DELAYS_MS = [500, 1000, 2000];

/** One running provider process. */
interface Session {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  readonly peer: LinePeer;
  readonly capabilities: Capabilities;
  readonly exited: Promise<void>;
  /** Where `progress` notifications go: the reporter of the call running for that partition. */
  readonly progress: Map<string, StepReporter>;
}

/** What the provider's exit says, for messages. */
function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit status ${code}`;
}

const REASONS: Partial<Record<number, ErrorReason>> = {
  [ErrorCode.refused]: 'refused',
  [ErrorCode.inputChanged]: 'input-changed',
  [ErrorCode.unsupported]: 'unsupported',
  [ErrorCode.noSuchPartition]: 'no-such-partition',
};

export class ProviderMonitor implements Monitor {
  readonly name: string;
  private current: Session | undefined;
  private readonly oneAtATime = new Serial();
  private readonly perPartition = new KeyedSerial();
  private starting: Promise<Session> | undefined;
  consoleLog?: (name: string) => Promise<string | undefined>;
  powerOff?: (name: string) => Promise<void>;

  constructor(
    readonly board: Board,
    private readonly command: ProviderCommand,
    private readonly o: { readonly stateDir: string; readonly cwd: string; readonly env: NodeJS.ProcessEnv },
  ) {
    this.name = command.spec;
  }

  /** Starts the provider and agrees on a version and capabilities. */
  async start(): Promise<void> {
    const s = await this.session();
    if (s.capabilities.console.read) this.consoleLog = async (name) => (await this.consoleText(name)) ?? undefined;
    if (s.capabilities.powerOff)
      this.powerOff = async (name) => void (await this.call('powerOff', { partition: name }));
  }

  private session(): Promise<Session> {
    if (this.current && !this.current.peer.closed) return Promise.resolve(this.current);
    this.starting ??= this.spawn().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async spawn(): Promise<Session> {
    const [program = '', ...args] = this.command.argv;
    const child = spawn(program, args, {
      cwd: this.o.cwd,
      env: { ...this.o.env, VMAN_STATE_DIR: this.o.stateDir },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    // 'close' comes once the process has exited and its output is drained: then the peer ends, saying how.
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const failedToStart = new Promise<never>((_, reject) =>
      child.once('error', (err) =>
        reject(new VmanError('backend', `cannot run provider ${this.name}: ${err.message}`, { cause: err })),
      ),
    );
    failedToStart.catch(() => undefined);
    const peer: LinePeer = new LinePeer(
      child.stdout,
      child.stdin,
      {
        notification: (method, params) => this.notified(peer, method, params),
        broken: () => child.kill('SIGKILL'),
      },
      `provider ${this.name}`,
      true,
    );
    child.once('close', (code, signal) =>
      peer.end(new PeerGone(`provider ${this.name} exited (${exitText(code, signal)})`, 'closed')),
    );
    const initialize: Params['initialize'] = {
      protocolVersions: [...PROTOCOL_VERSIONS],
      client: { name: 'vman', version: vmanVersion() },
      board: this.board,
    };
    let result: unknown;
    try {
      result = await Promise.race([
        peer.request('initialize', initialize, { timeoutMs: METHOD_TIMEOUT_MS.initialize }),
        failedToStart,
      ]);
    } catch (err) {
      child.kill('SIGKILL');
      if (err instanceof RpcError && err.code === ErrorCode.version)
        throw new VmanError(
          'backend',
          `provider ${this.name} speaks no protocol version vman speaks ` +
            `(${PROTOCOL_VERSIONS.join(', ')}): ${err.message}`,
        );
      throw this.failure(err, 'initialize', undefined);
    }
    const capabilities = this.agreed(result, child);
    const s: Session = { child, peer, capabilities, exited, progress: new Map() };
    this.current = s;
    return s;
  }

  // The answer to initialize, checked: a version vman offered, every step kind, what version 1 defines.
  private agreed(result: unknown, child: Session['child']): Capabilities {
    // The version first: a provider of another version may answer in another shape.
    const version = typeof result === 'object' && result !== null ? Reflect.get(result, 'protocolVersion') : undefined;
    const offered = PROTOCOL_VERSIONS.join(', ');
    const problem = checkResult('initialize', result);
    const r = result as Results['initialize'];
    const missing = problem ? [] : STEP_KINDS.filter((k) => !r.capabilities.steps.includes(k));
    const why = !PROTOCOL_VERSIONS.some((v) => v === version)
      ? `it answered protocol version ${JSON.stringify(version)}, not one of those offered (${offered})`
      : (problem ??
        (missing.length > 0
          ? `it cannot carry out ${missing.join(', ')}; version 1 needs every step kind`
          : undefined));
    if (why) {
      child.kill('SIGKILL');
      throw new VmanError('backend', `provider ${this.name} cannot be used: ${why}`);
    }
    return r.capabilities;
  }

  private notified(peer: LinePeer, method: string, params: unknown): void {
    if (checkNotification(method, params) !== undefined) return;
    const s = this.current?.peer === peer ? this.current : undefined;
    if (method === 'progress' && s) {
      const p = params as { partition: string; message: string };
      s.progress.get(p.partition)?.(p.message);
    }
  }

  /** A call: started on a fresh provider when none runs; a retryable error is retried after a pause. */
  private async call<M extends Method>(
    method: M,
    params: Params[M],
    o: { timeoutMs?: number; signal?: AbortSignal; report?: StepReporter } = {},
  ): Promise<Results[M]> {
    const partition = 'partition' in params ? params.partition : undefined;
    // One request at a time, unless the provider takes concurrent ones; never two for one partition.
    const s = await this.session();
    const attempt = () => this.attempts(method, params, o, partition);
    if (s.capabilities.concurrent !== true) return this.oneAtATime.run(attempt);
    return partition === undefined ? attempt() : this.perPartition.run(partition, attempt);
  }

  private async attempts<M extends Method>(
    method: M,
    params: Params[M],
    o: { timeoutMs?: number; signal?: AbortSignal; report?: StepReporter },
    partition: string | undefined,
  ): Promise<Results[M]> {
    for (let attempt = 0; ; attempt++) {
      const s = await this.session();
      if (partition !== undefined && o.report) s.progress.set(partition, o.report);
      try {
        const result = await s.peer.request(method, params, {
          timeoutMs: o.timeoutMs ?? METHOD_TIMEOUT_MS[method],
          ...(o.signal ? { signal: o.signal } : {}),
        });
        const problem = checkResult(method, result);
        if (problem) {
          s.child.kill('SIGKILL');
          throw new VmanError(
            'backend',
            `provider ${this.name} answered ${method} with a malformed result: ${problem}`,
          );
        }
        return result as Results[M];
      } catch (err) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (err instanceof RpcError && err.data.retryable && delay !== undefined && !o.signal?.aborted) {
          o.report?.(`${method}: ${err.message}; trying again in ${delay / 1000} s`);
          await new Promise((r) => setTimeout(r, delay));
          continue;
        }
        if (err instanceof PeerGone) s.child.kill('SIGKILL');
        throw this.failure(err, method, partition);
      } finally {
        if (partition !== undefined) s.progress.delete(partition);
      }
    }
  }

  // What the user reads: the provider's own message for an error answer; for a provider that died,
  // hung or broke the protocol, which call it was in (the step was interrupted, and is rolled back).
  private failure(err: unknown, method: string, partition: string | undefined): Error {
    if (err instanceof VmanError) return err;
    if (err instanceof RpcError) {
      const reason = REASONS[err.code];
      return new VmanError(err.code === ErrorCode.inputChanged ? 'apply' : 'backend', err.message, {
        cause: err,
        ...(reason ? { reason } : {}),
      });
    }
    if (err instanceof PeerGone) {
      if (method === 'initialize')
        return new VmanError('backend', `${err.message} before it answered initialize`, { cause: err });
      const what = `${method}${partition !== undefined ? ` for \`${partition}\`` : ''}`;
      const after = err.why === 'timeout' ? '; it was killed' : '';
      return new VmanError('backend', `${err.message} during ${what}${after}; that call was interrupted`, {
        cause: err,
      });
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  async read(): Promise<LiveState> {
    const r = await this.call('inspect', {});
    return {
      partitions: r.partitions.map((p) => ({
        name: p.name,
        state: p.state,
        cpus: p.cpus,
        memory: p.memory,
        devices: p.devices,
        loaded: p.loaded,
        ...(p.bootDigest !== undefined ? { bootDigest: p.bootDigest } : {}),
        ...(p.entry !== undefined ? { entry: p.entry } : {}),
      })),
      orphans: r.orphans,
    };
  }

  async execute(step: Step, ctx: StepContext): Promise<void> {
    const partition = step.partition;
    const o = { signal: ctx.signal, report: ctx.report };
    switch (step.kind) {
      case 'allocate':
        await this.call(
          STEP_METHODS[step.kind],
          { partition, cpus: step.cpus, memory: step.memory, devices: step.devices },
          o,
        );
        return;
      case 'build-fdt': {
        const dtb = ctx.dtb;
        if (!dtb) throw new VmanError('apply', `build-fdt for \`${partition}\`: no device tree was planned`);
        const sha256 = createHash('sha256').update(dtb).digest('hex');
        await this.call(
          'buildFdt',
          { partition, dtb: Buffer.from(dtb).toString('base64'), sha256, size: dtb.length },
          o,
        );
        return;
      }
      case 'load': {
        const boot = ctx.boot;
        if (!boot) throw new VmanError('apply', `load for \`${partition}\`: no boot was planned`);
        await this.call('load', { partition, items: step.items, ...boot }, o);
        return;
      }
      case 'release-cores':
        await this.call(
          'releaseCores',
          { partition, bootCpu: step.bootCpu, entry: step.entry, dtbAddr: step.dtbAddr },
          o,
        );
        return;
      case 'wait-ready':
        await this.call(
          'waitReady',
          { partition, ...(step.console !== undefined ? { console: step.console } : {}), timeoutMs: step.timeoutMs },
          { ...o, timeoutMs: step.timeoutMs + METHOD_TIMEOUT_MS.waitReady },
        );
        return;
      case 'stop-cores':
        await this.call('stopCores', { partition }, o);
        return;
      case 'scrub-memory':
        await this.call('scrubMemory', { partition, memory: step.memory }, o);
        return;
      case 'release-resources':
        await this.call('releaseResources', { partition }, o);
        return;
    }
  }

  async liveDtb(name: string): Promise<Uint8Array | undefined> {
    if (!(await this.session()).capabilities.liveDtb) return undefined;
    const { dtb } = await this.call('liveDtb', { partition: name });
    return dtb === null ? undefined : new Uint8Array(Buffer.from(dtb, 'base64'));
  }

  private async consoleText(name: string): Promise<string | null> {
    return (await this.call('consoleLog', { partition: name })).text;
  }

  /** Ends the provider: `shutdown`, then the end of its stdin, then SIGKILL if it still runs. */
  async close(): Promise<void> {
    const s = this.current;
    this.current = undefined;
    if (!s) return;
    if (!s.peer.closed)
      await s.peer.request('shutdown', {}, { timeoutMs: METHOD_TIMEOUT_MS.shutdown }).catch(() => undefined);
    s.child.stdin.end();
    const timer = setTimeout(() => s.child.kill('SIGKILL'), EXIT_GRACE_MS);
    await s.exited;
    clearTimeout(timer);
  }
}

/** Opens the provider a `--backend` value names, and starts it. */
export async function openProvider(spec: string, o: MonitorOptions): Promise<Monitor> {
  const cwd = o.cwd ?? process.cwd();
  const env = o.env ?? process.env;
  const command = locateProvider(spec, { cwd, env, vman: vmanCommand() });
  const monitor = new ProviderMonitor(o.board, command, { stateDir: o.stateDir, cwd, env });
  await monitor.start();
  return monitor;
}
