// A small client for the QEMU Machine Protocol (docs/interop/qmp-spec.rst): one JSON object per
// line over a unix socket; a greeting, `qmp_capabilities` to leave negotiation mode, then commands
// answered in order (matched here by `id`) with asynchronous events in between.
import { connect, type Socket } from 'node:net';

/** An asynchronous event (qmp-spec.rst "Asynchronous events"). */
export interface QmpEvent {
  readonly event: string;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly timestamp?: { readonly seconds: number; readonly microseconds: number };
}

/** The server's greeting (qmp-spec.rst "Server Greeting"). */
export interface QmpGreeting {
  readonly version?: {
    readonly qemu?: { readonly major: number; readonly minor: number; readonly micro: number };
    readonly package?: string;
  };
  readonly capabilities?: readonly string[];
}

/** Why a QMP exchange failed: the server's error class, a timeout, or the connection. */
export class QmpError extends Error {
  /** The error class QEMU answered with (e.g. "GenericError", "CommandNotFound"), when it answered one. */
  readonly errorClass: string | undefined;
  readonly timedOut: boolean;
  /** The connection closed (QEMU exited, or was never there) before the answer came. */
  readonly closed: boolean;

  constructor(message: string, o: { errorClass?: string; timedOut?: boolean; closed?: boolean; cause?: unknown } = {}) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = 'QmpError';
    this.errorClass = o.errorClass;
    this.timedOut = o.timedOut ?? false;
    this.closed = o.closed ?? false;
  }
}

interface Pending {
  readonly command: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: QmpError) => void;
  readonly timer: NodeJS.Timeout;
}

/** Default wait for connecting, the greeting, and each command's answer. */
export const QMP_TIMEOUT_MS = 5_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(e: QmpEvent) => void>();
  private closedError: QmpError | undefined;
  private greetingResolve: ((g: QmpGreeting) => void) | undefined;
  private greeted = false;
  private closeResolve!: () => void;
  /** Settles when the connection has closed, for whatever reason. */
  readonly closed: Promise<void>;
  greeting: QmpGreeting = {};

  private constructor(private readonly socket: Socket) {
    this.closed = new Promise((res) => (this.closeResolve = res));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) =>
      this.shut(new QmpError(`QMP connection failed: ${err.message}`, { closed: true, cause: err })),
    );
    socket.on('close', () => this.shut(new QmpError('QMP connection closed', { closed: true })));
  }

  /** Connects to the socket at `path`, reads the greeting and negotiates capabilities. */
  static async connect(path: string, o: { timeoutMs?: number } = {}): Promise<QmpClient> {
    const timeoutMs = o.timeoutMs ?? QMP_TIMEOUT_MS;
    const socket = connect(path);
    const client = new QmpClient(socket);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((res, rej) => {
          socket.once('connect', () => res());
          socket.once('error', (err) =>
            rej(new QmpError(`cannot connect to QMP socket ${path}: ${err.message}`, { closed: true, cause: err })),
          );
        }).then(() => client.waitGreeting()),
        new Promise<never>((_, rej) => {
          timer = setTimeout(
            () => rej(new QmpError(`QMP socket ${path} did not greet within ${timeoutMs} ms`, { timedOut: true })),
            timeoutMs,
          );
        }),
      ]);
      clearTimeout(timer);
      await client.execute('qmp_capabilities', undefined, { timeoutMs });
      return client;
    } catch (err) {
      clearTimeout(timer);
      client.close();
      throw err;
    }
  }

  private waitGreeting(): Promise<QmpGreeting> {
    if (this.greeted) return Promise.resolve(this.greeting);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((res, rej) => {
      this.greetingResolve = res;
      void this.closed.then(() => rej(this.closedError));
    });
  }

  /** Sends a command and resolves with its `return` value; rejects with a QmpError on `error`, timeout or close. */
  execute<T = unknown>(
    command: string,
    args?: Readonly<Record<string, unknown>>,
    o: { timeoutMs?: number } = {},
  ): Promise<T> {
    if (this.closedError)
      return Promise.reject(new QmpError(`cannot run ${command}: ${this.closedError.message}`, { closed: true }));
    const id = `vman-${this.nextId++}`;
    const timeoutMs = o.timeoutMs ?? QMP_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpError(`QMP command ${command} got no answer within ${timeoutMs} ms`, { timedOut: true }));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: (v) => resolve(v as T), reject, timer });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** Calls `listener` for every event from now on; returns the function that stops it. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next event named `name` (and matching `where`), or a QmpError after `timeoutMs` or on close. */
  waitEvent(name: string, timeoutMs: number, where: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        off();
      };
      const off = this.onEvent((e) => {
        if (e.event !== name || !where(e)) return;
        done();
        resolve(e);
      });
      const timer = setTimeout(() => {
        off();
        reject(new QmpError(`no ${name} event within ${timeoutMs} ms`, { timedOut: true }));
      }, timeoutMs);
      void this.closed.then(() => {
        done();
        reject(new QmpError(`no ${name} event: the connection closed`, { closed: true }));
      });
    });
  }

  /** Whether the connection still stands (commands can be sent). */
  get open(): boolean {
    return this.closedError === undefined;
  }

  /** Closes the connection; pending commands fail with `closed`. */
  close(): void {
    this.socket.destroy();
    this.shut(new QmpError('QMP connection closed by vman', { closed: true }));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.socket.destroy();
      this.shut(new QmpError(`QMP sent a line that is not JSON: ${line.slice(0, 80)}`, { closed: true }));
      return;
    }
    if (!isObject(msg)) return;
    if (isObject(msg.QMP)) {
      this.greeting = msg.QMP as QmpGreeting;
      this.greeted = true;
      this.greetingResolve?.(this.greeting);
      this.greetingResolve = undefined;
      return;
    }
    if (typeof msg.event === 'string') {
      const e = msg as unknown as QmpEvent;
      for (const l of [...this.listeners]) l(e);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (isObject(msg.error)) {
      const cls = typeof msg.error.class === 'string' ? msg.error.class : 'GenericError';
      const desc = typeof msg.error.desc === 'string' ? msg.error.desc : JSON.stringify(msg.error);
      p.reject(new QmpError(`QMP ${p.command} failed: ${desc}`, { errorClass: cls }));
    } else p.resolve(msg.return);
  }

  private shut(err: QmpError): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new QmpError(`QMP ${p.command} got no answer: ${err.message}`, { closed: true, cause: err }));
    }
    this.closeResolve();
  }
}
