// The libvirt RPC endpoint: listens on a unix socket (0600, or 0660 for a named group) or on
// loopback TCP, splits each connection into messages, answers keepalive and the connection-level
// procedures itself, and hands every other CALL of the remote program to a Dispatcher. One
// connection's faults (oversized, malformed, stalled, silent) close that connection only; the
// server never prints, it reports through onEvent.
import { chmodSync, chownSync, lstatSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  LibvirtError,
  noSupport,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_RPC,
  VIR_FROM_NONE,
  VIR_FROM_RPC,
  VIR_FROM_STREAMS,
} from './errors.js';
import {
  REMOTE_AUTH_NONE,
  REMOTE_PROC_AUTH_LIST,
  REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
  VIR_DRV_FEATURE_PROGRAM_KEEPALIVE,
  apiName,
  authList,
  connectSupportsFeature,
} from './procedures.js';
import {
  encodeMessage,
  encodeRemoteError,
  type FrameError,
  FrameReader,
  type Header,
  KEEPALIVE_PROC_PING,
  KEEPALIVE_PROC_PONG,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  type Message,
  MIN_FRAME_LENGTH,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  remoteErrorOf,
  VIR_NET_CALL,
  VIR_NET_CALL_WITH_FDS,
  VIR_NET_CONTINUE,
  VIR_NET_ERROR,
  VIR_NET_MESSAGE,
  VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX,
  VIR_NET_MESSAGE_MAX,
  VIR_NET_OK,
  VIR_NET_REPLY,
  VIR_NET_STREAM,
  VIR_NET_STREAM_HOLE,
} from './rpc.js';
import { XdrError } from './xdr.js';

/** One CALL of the remote program. */
export interface Call {
  readonly procedure: number;
  readonly serial: number;
  /** The XDR-encoded arguments (decode with the procedure's codec in procedures.ts). */
  readonly body: Uint8Array;
}

/** What a client sends on a stream (virsh console's keystrokes, its end or abort). */
export interface StreamSink {
  /** Bytes from the client (a STREAM message with status CONTINUE). */
  data(bytes: Uint8Array): void;
  /** The client finished the stream (status OK); the server has confirmed it. */
  finish(): void;
  /** The client aborted the stream (status ERROR), or the connection went away. */
  abort(): void;
}

/** The server's end of a stream opened by a CALL (DOMAIN_OPEN_CONSOLE's readstream). */
export interface Stream {
  /** Sends bytes to the client (STREAM messages of at most 256 KiB, status CONTINUE). */
  send(bytes: Uint8Array): void;
  /** End of data (an empty CONTINUE): the client sees EOF and then finishes the stream. */
  end(): void;
  /** Ends the stream with an error (STREAM, status ERROR). */
  fail(error: LibvirtError): void;
  /** Whether the stream is over (finished, aborted, failed, or the connection closed). */
  readonly closed: boolean;
}

/** A connected client, as the dispatcher sees it. */
export interface Client {
  readonly id: number;
  /** Pushes a MESSAGE of the remote program (a domain event) to this client. */
  event(procedure: number, body: Uint8Array): void;
  /**
   * Opens a stream tied to `call` (its procedure and serial). Call it while dispatching that call;
   * data sent before the call's reply is held until the reply has gone out.
   */
  openStream(call: Call, sink: StreamSink): Stream;
  /** Closes the connection (after what is already queued to it). */
  close(): void;
}

/** What the lead's handlers implement. */
export interface Dispatcher {
  /**
   * Resolves with the REPLY body, or rejects with a LibvirtError that becomes an error REPLY.
   * An XdrError (arguments that do not decode) answers VIR_ERR_RPC; anything else answers
   * VIR_ERR_INTERNAL_ERROR and is reported as a 'dispatch-failed' event.
   */
  dispatch(call: Call, client: Client): Promise<Uint8Array>;
  /** The client went away (drop its event registrations). */
  closed?(client: Client): void;
}

/** Why a connection ended. */
export type DisconnectReason =
  /** The client closed it (or reset it). */
  | 'client-closed'
  /** Server.close(). */
  | 'server-closed'
  /** Client.close() by the dispatcher. */
  | 'dispatcher-closed'
  /** A length word above the limit. */
  | 'oversized'
  /** A length word below the header size, a bad header, a message type a client never sends. */
  | 'protocol-error'
  /** A CALL of the remote program with another protocol version. */
  | 'version-mismatch'
  /** No first message, or part of a message and not the rest, within messageTimeoutMs. */
  | 'stalled'
  /** Keepalive on, and the client answered none of keepaliveCount PINGs. */
  | 'keepalive-timeout'
  /** More than maxOutputBytes waiting to be sent: the client does not read. */
  | 'output-overflow'
  /** A socket error other than a reset. */
  | 'socket-error';

/** What the server reports (it never prints). */
export type ServerEvent =
  | { readonly kind: 'listening'; readonly address: string }
  | { readonly kind: 'connected'; readonly client: number; readonly peer: string }
  | {
      readonly kind: 'disconnected';
      readonly client: number;
      readonly reason: DisconnectReason;
      readonly detail?: string;
    }
  | { readonly kind: 'refused'; readonly peer: string; readonly reason: 'too-many-connections' }
  | {
      readonly kind: 'call';
      readonly client: number;
      /** The program: REMOTE_PROGRAM, or another one (answered VIR_ERR_NO_SUPPORT). */
      readonly program: number;
      readonly procedure: number;
      readonly serial: number;
      /** The arguments, undecoded. */
      readonly body: Uint8Array;
    }
  | {
      readonly kind: 'dispatch-failed';
      readonly client: number;
      readonly procedure: number;
      readonly serial: number;
      readonly error: unknown;
    }
  | { readonly kind: 'keepalive-started'; readonly client: number }
  | { readonly kind: 'server-error'; readonly error: unknown };

/** Options of startLibvirtServer. */
export interface ServerOptions {
  /** A unix socket path, or `tcp://127.0.0.1:PORT` / `tcp://[::1]:PORT` (loopback only; port 0 picks one). */
  readonly listen: string;
  readonly dispatcher: Dispatcher;
  /** Make the unix socket 0660 and owned by this group (a name, or a numeric gid); default 0600. */
  readonly group?: string;
  /** Where group names are looked up; default /etc/group. */
  readonly groupFile?: string;
  /** Concurrent connections; one more is closed at once. Default 128. */
  readonly maxClients?: number;
  /** Largest message (header + body) a client may send; default VIR_NET_MESSAGE_MAX (16 MiB). */
  readonly maxMessage?: number;
  /** Calls of one client queued before its socket stops being read (libvirtd's max_client_requests). Default 5. */
  readonly maxClientRequests?: number;
  /**
   * A connection's first message must arrive, and every started message be complete, within this
   * many ms (default 30000): connecting and sending nothing, or part of a message, cannot hold a
   * connection slot.
   */
  readonly messageTimeoutMs?: number;
  /** Keepalive, once the client asks for it: PING after this many ms of silence (libvirtd: 5 s). */
  readonly keepaliveIntervalMs?: number;
  /** Keepalive: unanswered PINGs before the connection is closed (libvirtd: 5). */
  readonly keepaliveCount?: number;
  /** Unsent output a client may accumulate before it is dropped; default 64 MiB. */
  readonly maxOutputBytes?: number;
  readonly onEvent?: (event: ServerEvent) => void;
}

/** Where the server listens. */
export type ListenAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** A running server. */
export interface LibvirtServer {
  /** The bound address (for tcp with port 0, the port picked). */
  readonly address: ListenAddress;
  /** Open connections. */
  readonly connections: number;
  /** Stops listening, closes every connection, removes the socket file. */
  close(): Promise<void>;
}

/** Why the server could not start. */
export type ServerSetupErrorCode =
  'bad-address' | 'not-loopback' | 'in-use' | 'not-a-socket' | 'unknown-group' | 'listen-failed';

/** The server could not start: a bad address, a live server on the socket, an unknown group. */
export class ServerSetupError extends Error {
  override readonly name = 'ServerSetupError';
  readonly code: ServerSetupErrorCode;

  constructor(code: ServerSetupErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/** Where `virsh -c vman:///system` looks (libvirt's per-driver daemon socket, when it exists). */
export const DEFAULT_LIBVIRT_SOCKET = '/run/libvirt/virtvmand-sock';

const DEFAULT_MAX_CLIENTS = 128;
const DEFAULT_MAX_CLIENT_REQUESTS = 5;
const DEFAULT_MESSAGE_TIMEOUT_MS = 30_000;
const DEFAULT_KEEPALIVE_INTERVAL_MS = 5_000;
const DEFAULT_KEEPALIVE_COUNT = 5;
const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const SOCKET_MODE = 0o600;
const GROUP_SOCKET_MODE = 0o660;
/** umask while binding, so the socket is never more open than 0600 before chmod. */
const BIND_UMASK = 0o177;
const PROBE_TIMEOUT_MS = 1_000;
/** After end(), how long a peer may keep its half of the connection open. */
const CLOSE_GRACE_MS = 2_000;
const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses `--libvirt`'s argument: a unix socket path or a loopback `tcp://HOST:PORT`. */
export function parseListenAddress(spec: string): ListenAddress {
  if (spec.startsWith('unix://')) return unixAddress(spec.slice('unix://'.length), spec);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) return unixAddress(spec, spec);
  let url: URL;
  try {
    url = new URL(spec);
  } catch (e) {
    throw new ServerSetupError('bad-address', `Cannot listen on "${spec}": not a URL`, e);
  }
  if (url.protocol !== 'tcp:') {
    throw new ServerSetupError(
      'bad-address',
      `Cannot listen on "${spec}": only tcp:// and unix socket paths are served`,
    );
  }
  if (url.username || url.password || (url.pathname && url.pathname !== '/') || url.search || url.hash) {
    throw new ServerSetupError('bad-address', `Cannot listen on "${spec}": expected tcp://HOST:PORT and nothing else`);
  }
  if (url.port === '') throw new ServerSetupError('bad-address', `Cannot listen on "${spec}": no port`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const v4 = IPV4_LOOPBACK.exec(host);
  const loopback = host === '::1' || (v4 !== null && v4.slice(1).every((n) => Number(n) <= 255));
  if (!loopback) {
    throw new ServerSetupError(
      'not-loopback',
      `Cannot listen on "${spec}": TCP is served on loopback only (127.0.0.1 or [::1]); ` +
        'remote orchestrators connect over SSH (vman+ssh://host/system?socket=PATH)',
    );
  }
  return { kind: 'tcp', host, port: Number(url.port) };
}

function unixAddress(path: string, spec: string): ListenAddress {
  if (path === '' || path.includes('\0')) throw new ServerSetupError('bad-address', `Cannot listen on "${spec}"`);
  return { kind: 'unix', path };
}

/** The gid of a group given by name or number, from an /etc/group-format file. */
export function lookupGroup(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch (e) {
    throw new ServerSetupError('unknown-group', `Cannot look up group "${group}": cannot read ${groupFile}`, e);
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new ServerSetupError(
    'unknown-group',
    `Cannot make the socket group-accessible: no group "${group}" in ${groupFile}`,
  );
}

/** Starts listening; resolves once the socket accepts connections. */
export async function startLibvirtServer(options: ServerOptions): Promise<LibvirtServer> {
  const address = parseListenAddress(options.listen);
  const gid = options.group === undefined ? undefined : lookupGroup(options.group, options.groupFile);
  if (address.kind === 'unix') {
    const dir = dirname(address.path);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ServerSetupError('listen-failed', `Cannot listen on ${address.path}: no directory ${dir}`);
    }
    await clearStaleSocket(address.path);
  }
  const endpoint = new Endpoint(options);
  await endpoint.listen(address, gid);
  return endpoint;
}

/** Removes a socket file no server listens on; refuses a live socket or a file that is not a socket. */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ServerSetupError('listen-failed', `Cannot listen on ${path}: ${(e as Error).message}`, e);
  }
  if (!isSocket) throw new ServerSetupError('not-a-socket', `Cannot listen on ${path}: it exists and is not a socket`);
  const live = await new Promise<boolean | Error>((resolve) => {
    const s = connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(true); // accepted nothing within the timeout, but the connect did not fail: someone holds it
    }, PROBE_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? false : e);
    });
  });
  if (live === true) {
    throw new ServerSetupError('in-use', `Cannot listen on ${path}: another server is listening there`);
  }
  if (live instanceof Error) throw new ServerSetupError('listen-failed', `Cannot probe ${path}: ${live.message}`, live);
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ServerSetupError('listen-failed', `Cannot remove the stale socket ${path}: ${(e as Error).message}`, e);
    }
  }
}

/** The listening socket and its connections. */
class Endpoint implements LibvirtServer {
  address: ListenAddress = { kind: 'unix', path: '' };
  private readonly server: Server;
  private readonly conns = new Set<Connection>();
  private nextId = 1;
  private socketIdentity: { dev: number; ino: number } | undefined;
  private closing: Promise<void> | undefined;
  readonly settings: Settings;

  constructor(readonly options: ServerOptions) {
    this.settings = {
      maxMessage: options.maxMessage ?? VIR_NET_MESSAGE_MAX,
      maxClientRequests: Math.max(1, options.maxClientRequests ?? DEFAULT_MAX_CLIENT_REQUESTS),
      messageTimeoutMs: options.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
      keepaliveCount: options.keepaliveCount ?? DEFAULT_KEEPALIVE_COUNT,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    };
    this.server = createServer({ allowHalfOpen: false, pauseOnConnect: false }, (socket) => this.accept(socket));
    this.server.on('error', (error) => this.report({ kind: 'server-error', error }));
  }

  get connections(): number {
    return this.conns.size;
  }

  async listen(address: ListenAddress, gid: number | undefined): Promise<void> {
    const where = address.kind === 'unix' ? address.path : `${address.host} port ${address.port}`;
    await new Promise<void>((resolve, reject) => {
      const failed = (e: Error): void =>
        reject(new ServerSetupError('listen-failed', `Cannot listen on ${where}: ${e.message}`, e));
      this.server.once('error', failed);
      const done = (): void => {
        this.server.off('error', failed);
        resolve();
      };
      if (address.kind === 'unix') {
        const old = process.umask(BIND_UMASK);
        try {
          this.server.listen(address.path, done);
        } finally {
          process.umask(old);
        }
      } else {
        this.server.listen({ host: address.host, port: address.port, exclusive: true }, done);
      }
    });
    if (address.kind === 'unix') {
      try {
        if (gid !== undefined) chownSync(address.path, -1, gid);
        chmodSync(address.path, gid === undefined ? SOCKET_MODE : GROUP_SOCKET_MODE);
        const st = lstatSync(address.path);
        this.socketIdentity = { dev: st.dev, ino: st.ino };
      } catch (e) {
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        this.removeSocketFile(address.path);
        throw new ServerSetupError('listen-failed', `Cannot set up ${address.path}: ${(e as Error).message}`, e);
      }
      this.address = address;
      this.report({ kind: 'listening', address: address.path });
    } else {
      const bound = this.server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
      this.address = { kind: 'tcp', host: address.host, port };
      this.report({
        kind: 'listening',
        address: `tcp://${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}`,
      });
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const c of [...this.conns]) c.shutdown('server-closed');
      await stopped;
      if (this.address.kind === 'unix') this.removeSocketFile(this.address.path);
    })();
    return this.closing;
  }

  report(event: ServerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A failing logger must not take the server down.
    }
  }

  forget(conn: Connection): void {
    this.conns.delete(conn);
  }

  /** Removes the socket file if it is still the one this server created. */
  private removeSocketFile(path: string): void {
    try {
      const st = lstatSync(path);
      if (this.socketIdentity && (st.dev !== this.socketIdentity.dev || st.ino !== this.socketIdentity.ino)) return;
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  }

  private accept(socket: Socket): void {
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    if (this.closing || this.conns.size >= (this.options.maxClients ?? DEFAULT_MAX_CLIENTS)) {
      socket.destroy();
      this.report({ kind: 'refused', peer, reason: 'too-many-connections' });
      return;
    }
    const conn = new Connection(this.nextId++, socket, this);
    this.conns.add(conn);
    this.report({ kind: 'connected', client: conn.id, peer });
  }
}

interface Settings {
  readonly maxMessage: number;
  readonly maxClientRequests: number;
  readonly messageTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCount: number;
  readonly maxOutputBytes: number;
}

/** A stream opened by a call: (procedure, serial) identify its STREAM messages. */
class ServerStream implements Stream {
  closed = false;
  /** Frames held until the opening call's reply is sent. */
  private held: Uint8Array[] | undefined = [];

  constructor(
    private readonly conn: Connection,
    readonly procedure: number,
    readonly serial: number,
    readonly sink: StreamSink,
  ) {}

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    for (let at = 0; at < bytes.length; at += VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX) {
      this.emit(VIR_NET_CONTINUE, bytes.subarray(at, at + VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX));
    }
  }

  end(): void {
    if (this.closed) return;
    this.emit(VIR_NET_CONTINUE, new Uint8Array(0));
  }

  fail(error: LibvirtError): void {
    if (this.closed) return;
    this.emit(VIR_NET_ERROR, encodeRemoteError(remoteErrorOf(error)));
    this.close();
  }

  /** The opening call's reply went out: release what was held. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const f of held) this.conn.send(f);
  }

  close(): void {
    this.closed = true;
    this.conn.dropStream(this);
  }

  private emit(status: number, body: Uint8Array): void {
    const frame = encodeMessage(
      {
        prog: REMOTE_PROGRAM,
        vers: REMOTE_PROTOCOL_VERSION,
        proc: this.procedure,
        type: VIR_NET_STREAM,
        serial: this.serial,
        status,
      },
      body,
    );
    if (this.held) this.held.push(frame);
    else this.conn.send(frame);
  }
}

/** One client connection. */
class Connection implements Client {
  private readonly reader: FrameReader;
  private readonly queue: Message[] = [];
  private busy = false;
  private paused = false;
  private closed = false;
  private cleaned = false;
  private reason: DisconnectReason | undefined;
  private detail: string | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private keepaliveOn = false;
  /** A whole message has arrived. */
  private greeted = false;
  private lastReceived = Date.now();
  private countToDeath = 0;
  private readonly streams = new Map<string, ServerStream>();

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly endpoint: Endpoint,
  ) {
    this.reader = new FrameReader({ maxMessage: endpoint.settings.maxMessage });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') this.setReason('client-closed', e.message);
      else this.setReason('socket-error', e.message);
    });
    socket.on('close', () => this.cleanup());
    this.watchStall();
  }

  event(procedure: number, body: Uint8Array): void {
    this.send(
      encodeMessage(
        {
          prog: REMOTE_PROGRAM,
          vers: REMOTE_PROTOCOL_VERSION,
          proc: procedure,
          type: VIR_NET_MESSAGE,
          serial: 0,
          status: VIR_NET_OK,
        },
        body,
      ),
    );
  }

  openStream(call: Call, sink: StreamSink): Stream {
    const stream = new ServerStream(this, call.procedure, call.serial, sink);
    if (this.closed) {
      stream.closed = true;
      return stream;
    }
    this.streams.get(key(call.procedure, call.serial))?.close();
    this.streams.set(key(call.procedure, call.serial), stream);
    return stream;
  }

  close(): void {
    this.finish('dispatcher-closed');
  }

  /** Stops reading, sends what is queued, then closes; a peer that keeps its side open is cut after a grace period. */
  private finish(reason: DisconnectReason, detail?: string): void {
    this.setReason(reason, detail);
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Closes at once, for a reason. */
  shutdown(reason: DisconnectReason, detail?: string): void {
    this.setReason(reason, detail);
    this.socket.destroy();
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(frame);
    if (this.socket.writableLength > this.endpoint.settings.maxOutputBytes) {
      this.shutdown('output-overflow', `${this.socket.writableLength} bytes unsent`);
    }
  }

  dropStream(stream: ServerStream): void {
    const k = key(stream.procedure, stream.serial);
    if (this.streams.get(k) === stream) this.streams.delete(k);
  }

  private setReason(reason: DisconnectReason, detail?: string): void {
    if (this.reason === undefined) {
      this.reason = reason;
      this.detail = detail;
    }
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    let messages: Message[];
    try {
      messages = this.reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      const err = e as FrameError;
      this.shutdown(err.code === 'length-too-large' ? 'oversized' : 'protocol-error', err.message);
      return;
    }
    for (const m of messages) {
      if (this.closed) return;
      this.greeted = true;
      this.lastReceived = Date.now();
      this.countToDeath = this.endpoint.settings.keepaliveCount;
      this.route(m);
    }
    this.watchStall();
  }

  /**
   * The first message must arrive within messageTimeoutMs of connecting, and a partial message
   * complete within messageTimeoutMs of its first byte; not counted while the server itself has
   * stopped reading (too many calls queued).
   */
  private watchStall(): void {
    if ((this.greeted && this.reader.pending === 0) || this.paused) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
    } else if (this.stallTimer === undefined && !this.closed) {
      const ms = this.endpoint.settings.messageTimeoutMs;
      const what = this.greeted ? 'incomplete message' : 'no message';
      this.stallTimer = setTimeout(() => this.shutdown('stalled', `${what} for ${ms} ms`), ms);
      this.stallTimer.unref();
    }
  }

  private route(m: Message): void {
    const h = m.header;
    if (h.prog === KEEPALIVE_PROGRAM && h.type === VIR_NET_MESSAGE) {
      // virkeepalive.c: a PING gets a PONG; anything else on this program is ignored.
      if (h.vers === KEEPALIVE_PROTOCOL_VERSION && h.proc === KEEPALIVE_PROC_PING)
        this.sendKeepalive(KEEPALIVE_PROC_PONG);
      return;
    }
    if (h.type === VIR_NET_CALL || h.type === VIR_NET_CALL_WITH_FDS) {
      if (h.prog === REMOTE_PROGRAM && h.vers !== REMOTE_PROTOCOL_VERSION) {
        this.replyError(h, new LibvirtError(VIR_ERR_RPC, VIR_FROM_RPC, versionMismatch(h)));
        this.finish('version-mismatch', versionMismatch(h));
        return;
      }
      this.queue.push(m);
      if (this.queue.length >= this.endpoint.settings.maxClientRequests && !this.paused) {
        this.paused = true;
        this.socket.pause();
        this.watchStall();
      }
      void this.pump();
      return;
    }
    if (h.prog === REMOTE_PROGRAM && (h.type === VIR_NET_STREAM || h.type === VIR_NET_STREAM_HOLE)) {
      this.streamMessage(m);
      return;
    }
    this.shutdown('protocol-error', `unexpected message type ${h.type} for program 0x${h.prog.toString(16)}`);
  }

  /** Answers queued calls one at a time, in arrival order. */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        const m = this.queue.shift();
        if (m === undefined || this.closed) break;
        if (this.paused && this.queue.length < this.endpoint.settings.maxClientRequests) {
          this.paused = false;
          this.socket.resume();
          // Time spent not reading this client does not count against it.
          this.lastReceived = Date.now();
          this.watchStall();
        }
        await this.answer(m);
        if (this.socket.writableNeedDrain && !this.closed) await this.drained();
      }
    } catch (error) {
      // answer() catches the dispatcher's failures: this is a bug of the server itself.
      this.endpoint.report({ kind: 'server-error', error });
      this.shutdown('socket-error', `internal: ${(error as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private async answer(m: Message): Promise<void> {
    const h = m.header;
    const call: Call = { procedure: h.proc, serial: h.serial, body: m.body };
    this.endpoint.report({
      kind: 'call',
      client: this.id,
      program: h.prog,
      procedure: h.proc,
      serial: h.serial,
      body: m.body,
    });
    let body: Uint8Array;
    try {
      body = await this.result(h, call);
      if (!(body instanceof Uint8Array)) throw new TypeError('the dispatcher resolved with something other than bytes');
      if (MIN_FRAME_LENGTH - 4 + body.length > VIR_NET_MESSAGE_MAX) {
        throw new LibvirtError(VIR_ERR_RPC, VIR_FROM_RPC, `Unable to encode message payload (${body.length} bytes)`);
      }
    } catch (e) {
      this.streams.get(key(h.proc, h.serial))?.close();
      this.replyError(h, this.asLibvirtError(e, call));
      return;
    }
    this.send(encodeMessage({ ...h, type: VIR_NET_REPLY, status: VIR_NET_OK }, body));
    this.streams.get(key(h.proc, h.serial))?.release();
  }

  /** The connection-level calls the server answers itself; the rest go to the dispatcher. */
  private result(h: Header, call: Call): Promise<Uint8Array> {
    if (h.type === VIR_NET_CALL_WITH_FDS) return Promise.reject(noSupport('file descriptor passing', VIR_FROM_RPC));
    if (h.prog !== REMOTE_PROGRAM) {
      return Promise.reject(noSupport(`program 0x${h.prog.toString(16)} version ${h.vers}`, VIR_FROM_RPC));
    }
    if (h.status !== VIR_NET_OK) {
      return Promise.reject(new LibvirtError(VIR_ERR_RPC, VIR_FROM_RPC, `Unexpected message status ${h.status}`));
    }
    if (h.proc === REMOTE_PROC_AUTH_LIST) return Promise.resolve(authList.encodeRet({ types: [REMOTE_AUTH_NONE] }));
    if (h.proc === REMOTE_PROC_CONNECT_SUPPORTS_FEATURE) {
      const args = connectSupportsFeature.decodeArgs(call.body);
      if (args.feature === VIR_DRV_FEATURE_PROGRAM_KEEPALIVE) {
        this.startKeepalive();
        return Promise.resolve(connectSupportsFeature.encodeRet({ supported: 1 }));
      }
    }
    return Promise.resolve().then(() => this.endpoint.options.dispatcher.dispatch(call, this));
  }

  private asLibvirtError(e: unknown, call: Call): LibvirtError {
    if (e instanceof LibvirtError) return e;
    if (e instanceof XdrError) {
      return new LibvirtError(
        VIR_ERR_RPC,
        VIR_FROM_RPC,
        `Unable to decode arguments of ${apiName(call.procedure)}: ${e.message}`,
      );
    }
    this.endpoint.report({
      kind: 'dispatch-failed',
      client: this.id,
      procedure: call.procedure,
      serial: call.serial,
      error: e,
    });
    const why = e instanceof Error ? e.message : String(e);
    return new LibvirtError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, `internal error: ${why}`);
  }

  private replyError(h: Header, error: LibvirtError): void {
    let body: Uint8Array;
    try {
      body = encodeRemoteError(remoteErrorOf(error));
    } catch {
      body = encodeRemoteError(
        remoteErrorOf(new LibvirtError(error.code, error.domain, 'error message not encodable')),
      );
    }
    this.send(encodeMessage({ ...h, type: VIR_NET_REPLY, status: VIR_NET_ERROR }, body));
  }

  /** STREAM messages from the client: data, finish (OK), abort (ERROR); unknown streams are ignored (as libvirtd). */
  private streamMessage(m: Message): void {
    const h = m.header;
    const stream = this.streams.get(key(h.proc, h.serial));
    if (stream === undefined) return;
    if (h.type === VIR_NET_STREAM_HOLE) {
      stream.fail(new LibvirtError(VIR_ERR_RPC, VIR_FROM_STREAMS, 'Unexpected stream hole'));
      stream.sink.abort();
      return;
    }
    if (h.status === VIR_NET_CONTINUE) {
      this.safely(() => stream.sink.data(m.body));
      return;
    }
    // Finish (OK) or abort (ERROR): confirm with an empty OK, as daemonStreamHandleFinish/Abort do.
    stream.close();
    this.send(encodeMessage({ ...h, type: VIR_NET_STREAM, status: VIR_NET_OK }));
    this.safely(() => (h.status === VIR_NET_OK ? stream.sink.finish() : stream.sink.abort()));
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (error) {
      this.endpoint.report({ kind: 'server-error', error });
    }
  }

  private sendKeepalive(proc: number): void {
    this.send(
      encodeMessage({
        prog: KEEPALIVE_PROGRAM,
        vers: KEEPALIVE_PROTOCOL_VERSION,
        proc,
        type: VIR_NET_MESSAGE,
        serial: 0,
        status: VIR_NET_OK,
      }),
    );
  }

  /** virkeepalive.c: after interval of silence send a PING; after count unanswered PINGs, give up. */
  private startKeepalive(): void {
    const { keepaliveIntervalMs: interval, keepaliveCount: count } = this.endpoint.settings;
    if (this.keepaliveOn || interval <= 0) return;
    this.keepaliveOn = true;
    this.countToDeath = count;
    this.endpoint.report({ kind: 'keepalive-started', client: this.id });
    const tick = (): void => {
      if (this.closed) return;
      // While the server is not reading this client (its queue is full), its PONGs cannot arrive.
      if (this.paused) this.lastReceived = Date.now();
      const idle = Date.now() - this.lastReceived;
      if (idle < interval) {
        this.keepaliveTimer = setTimeout(tick, interval - idle);
      } else if (this.countToDeath === 0) {
        this.shutdown('keepalive-timeout', `no answer to ${count} keepalive messages in ${idle} ms`);
        return;
      } else {
        this.countToDeath--;
        this.sendKeepalive(KEEPALIVE_PROC_PING);
        this.keepaliveTimer = setTimeout(tick, interval);
      }
      this.keepaliveTimer.unref();
    };
    this.keepaliveTimer = setTimeout(tick, interval);
    this.keepaliveTimer.unref();
  }

  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    this.closed = true;
    clearTimeout(this.stallTimer);
    clearTimeout(this.keepaliveTimer);
    this.queue.length = 0;
    for (const s of [...this.streams.values()]) {
      s.close();
      this.safely(() => s.sink.abort());
    }
    this.endpoint.forget(this);
    try {
      this.endpoint.options.dispatcher.closed?.(this);
    } catch (error) {
      this.endpoint.report({ kind: 'server-error', error });
    }
    this.endpoint.report({
      kind: 'disconnected',
      client: this.id,
      reason: this.reason ?? 'client-closed',
      ...(this.detail === undefined ? {} : { detail: this.detail }),
    });
  }
}

function key(procedure: number, serial: number): string {
  return `${procedure}:${serial}`;
}

function versionMismatch(h: Header): string {
  return `version mismatch (actual ${h.vers.toString(16)}, expected ${REMOTE_PROTOCOL_VERSION.toString(16)})`;
}
