// JSON-RPC 2.0, one message a line, over a pair of streams: the wire both ends of the provider
// protocol share (vman's client over a child's stdio, `vman provider serve` over its own).
import type { Readable, Writable } from 'node:stream';
import { ErrorCode, MAX_LINE_BYTES, type ErrorData } from './protocol.js';

/** An error answer: the code says what kind, `data.retryable` whether the same call may succeed later. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: ErrorData = { retryable: false },
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Why a peer stopped talking: the other end closed, broke the protocol, or took too long. */
export class PeerGone extends Error {
  constructor(
    message: string,
    readonly why: 'closed' | 'protocol' | 'timeout' | 'aborted',
  ) {
    super(message);
    this.name = 'PeerGone';
  }
}

/** What a peer does with what the other end sends besides answers. */
export interface PeerHandlers {
  /** Answers a request; a thrown RpcError becomes its error answer. */
  readonly request?: (method: string, params: unknown, id: number | string) => Promise<unknown>;
  readonly notification?: (method: string, params: unknown) => void;
  /** The other end sent something that is not JSON-RPC (the peer stops reading). */
  readonly broken?: (why: string) => void;
}

interface Pending {
  readonly method: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A printable excerpt of a line that broke the protocol. */
function excerpt(line: string): string {
  const s = JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line);
  return s;
}

export class LinePeer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private gone: PeerGone | undefined;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly handlers: PeerHandlers,
    /** Whose lines these are, for messages ("the provider", "vman"). */
    private readonly other: string,
    /** The owner calls end() itself when the input ends (it knows more: how a child process exited). */
    ownerEnds = false,
  ) {
    input.on('data', (chunk: Buffer) => this.receive(chunk));
    if (!ownerEnds) input.on('end', () => this.end(new PeerGone(`${other} closed its output`, 'closed')));
    input.on('error', (err) => this.end(new PeerGone(`${other}'s output failed: ${err.message}`, 'closed')));
    output.on('error', () => undefined);
  }

  /** Sends a request and resolves with its result; rejects with RpcError or PeerGone. */
  request(method: string, params: unknown, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => this.notify('cancel', { id });
      const done = (): void => {
        if (timer) clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        method,
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
      });
      if (o.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const secs = Math.round(o.timeoutMs! / 100) / 10;
          this.pending
            .get(id)
            ?.reject(new PeerGone(`${this.other} did not answer ${method} within ${secs} s`, 'timeout'));
        }, o.timeoutMs);
      }
      o.signal?.addEventListener('abort', onAbort, { once: true });
      this.write({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    if (!this.gone) this.write({ jsonrpc: '2.0', method, params });
  }

  /** Stops: every request still waiting is rejected with `why`. */
  end(why: PeerGone): void {
    if (this.gone) return;
    this.gone = why;
    for (const p of [...this.pending.values()]) p.reject(why);
    this.input.removeAllListeners('data');
  }

  get closed(): PeerGone | undefined {
    return this.gone;
  }

  private write(msg: Json): void {
    this.output.write(`${JSON.stringify(msg)}\n`);
  }

  private receive(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1 && !this.gone; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      const line = this.buffered.length ? Buffer.concat([...this.buffered, piece]) : piece;
      this.buffered = [];
      this.bufferedBytes = 0;
      start = nl + 1;
      this.line(line.toString('utf8'));
    }
    if (this.gone || start >= chunk.length) return;
    this.buffered.push(chunk.subarray(start));
    this.bufferedBytes += chunk.length - start;
    if (this.bufferedBytes > MAX_LINE_BYTES) this.broken(`a line longer than ${MAX_LINE_BYTES} bytes`);
  }

  private line(text: string): void {
    if (text.trim() === '') return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      if (this.handlers.request) this.answerError(null, new RpcError(ErrorCode.parse, 'not JSON'));
      else this.broken(`a line that is not JSON: ${excerpt(text)}`);
      return;
    }
    if (!isObject(msg) || msg.jsonrpc !== '2.0') {
      if (this.handlers.request) this.answerError(null, new RpcError(ErrorCode.invalidRequest, 'not JSON-RPC 2.0'));
      else this.broken(`a line that is not a JSON-RPC 2.0 message: ${excerpt(text)}`);
      return;
    }
    if (typeof msg.method === 'string') this.incoming(msg, msg.method);
    else this.answer(msg, text);
  }

  private incoming(msg: Json, method: string): void {
    const id = msg.id;
    if (id === undefined) {
      this.handlers.notification?.(method, msg.params);
      return;
    }
    if (typeof id !== 'number' && typeof id !== 'string') {
      this.answerError(null, new RpcError(ErrorCode.invalidRequest, 'an id must be a number or a string'));
      return;
    }
    const handle = this.handlers.request;
    if (!handle) {
      this.broken(`a request (${method}) where only answers and notifications may come`);
      return;
    }
    handle(method, msg.params ?? {}, id).then(
      (result) => this.write({ jsonrpc: '2.0', id, result: result ?? {} }),
      (err: unknown) => this.answerError(id, err),
    );
  }

  private answer(msg: Json, text: string): void {
    const id = msg.id;
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p) {
      this.broken(`an answer to no request it was sent: ${excerpt(text)}`);
      return;
    }
    if ('result' in msg && !('error' in msg)) {
      p.resolve(msg.result);
      return;
    }
    const e = msg.error;
    if (!isObject(e) || typeof e.code !== 'number' || typeof e.message !== 'string') {
      this.broken(`an answer to ${p.method} with neither a result nor an error object: ${excerpt(text)}`);
      return;
    }
    const d = isObject(e.data) ? e.data : {};
    const data: ErrorData = {
      retryable: d.retryable === true,
      ...(typeof d.reason === 'string' ? { reason: d.reason } : {}),
    };
    p.reject(new RpcError(e.code, e.message, data));
  }

  private answerError(id: number | string | null, err: unknown): void {
    const e =
      err instanceof RpcError
        ? err
        : new RpcError(ErrorCode.failed, err instanceof Error ? err.message : String(err), { retryable: false });
    this.write({ jsonrpc: '2.0', id, error: { code: e.code, message: e.message, data: e.data } });
  }

  private broken(why: string): void {
    const gone = new PeerGone(`${this.other} broke the protocol: it sent ${why}`, 'protocol');
    this.handlers.broken?.(gone.message);
    this.end(gone);
  }
}
