// libvirt's RPC messages (src/rpc/virnetprotocol.x, virnetmessage.c): a 4-byte length word that
// counts itself, a 24-byte header, then an XDR body. Pure: a frame reader that splits a byte
// stream into messages, the header and error-body codecs, the program and keepalive constants.
import { LibvirtError, VIR_ERR_ERROR } from './errors.js';
import { XdrReader, XdrWriter } from './xdr.js';

/** Bytes of the length word (VIR_NET_MESSAGE_LEN_MAX); the length it holds includes these 4. */
export const VIR_NET_MESSAGE_LEN_MAX = 4;
/** Bytes of the serialised header (VIR_NET_MESSAGE_HEADER_MAX): six 4-byte words. */
export const VIR_NET_MESSAGE_HEADER_MAX = 24;
/** Largest header + body libvirt accepts (VIR_NET_MESSAGE_MAX), not counting the length word. */
export const VIR_NET_MESSAGE_MAX = 16777216;
/** Largest body (VIR_NET_MESSAGE_PAYLOAD_MAX = VIR_NET_MESSAGE_MAX - header). */
export const VIR_NET_MESSAGE_PAYLOAD_MAX = 16777192;
/** Stream data per STREAM message that every client accepts (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX). */
export const VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX = 262144;
/** Longest string in virNetMessageError (VIR_NET_MESSAGE_STRING_MAX). */
export const VIR_NET_MESSAGE_STRING_MAX = 4194304;
/** Smallest valid length word: the length word and a header, no body. */
export const MIN_FRAME_LENGTH = VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_HEADER_MAX;

/** virNetMessageType. */
export const VIR_NET_CALL = 0;
export const VIR_NET_REPLY = 1;
export const VIR_NET_MESSAGE = 2;
export const VIR_NET_STREAM = 3;
export const VIR_NET_CALL_WITH_FDS = 4;
export const VIR_NET_REPLY_WITH_FDS = 5;
export const VIR_NET_STREAM_HOLE = 6;
export const MESSAGE_TYPES = [
  VIR_NET_CALL,
  VIR_NET_REPLY,
  VIR_NET_MESSAGE,
  VIR_NET_STREAM,
  VIR_NET_CALL_WITH_FDS,
  VIR_NET_REPLY_WITH_FDS,
  VIR_NET_STREAM_HOLE,
] as const;

/** virNetMessageStatus. */
export const VIR_NET_OK = 0;
export const VIR_NET_ERROR = 1;
export const VIR_NET_CONTINUE = 2;
export const MESSAGE_STATUSES = [VIR_NET_OK, VIR_NET_ERROR, VIR_NET_CONTINUE] as const;

/** The remote program (src/remote/remote_protocol.x): every libvirt API call. */
export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;

/** The keepalive program (src/rpc/virkeepaliveprotocol.x): empty MESSAGE-type PING and PONG. */
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const KEEPALIVE_PROTOCOL_VERSION = 1;
export const KEEPALIVE_PROC_PING = 1;
export const KEEPALIVE_PROC_PONG = 2;

/** virNetMessageHeader: six XDR words. */
export interface Header {
  /** Program number (REMOTE_PROGRAM, KEEPALIVE_PROGRAM). */
  readonly prog: number;
  /** Program version. */
  readonly vers: number;
  /** Procedure within the program (an XDR int). */
  readonly proc: number;
  /** A virNetMessageType. */
  readonly type: number;
  /** Set by the client on a CALL, echoed in its REPLY and STREAM messages; 0 on MESSAGE. */
  readonly serial: number;
  /** A virNetMessageStatus. */
  readonly status: number;
}

/** One message: its header and its body (the bytes after the header). */
export interface Message {
  readonly header: Header;
  readonly body: Uint8Array;
}

/** A byte stream that is not a sequence of libvirt messages. */
export type FrameErrorCode = 'length-too-small' | 'length-too-large' | 'bad-header';

/** A framing error: the connection it came from cannot be read further. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  readonly code: FrameErrorCode;
  /** Offset in the stream (bytes received before the bad item). */
  readonly offset: number;

  constructor(code: FrameErrorCode, message: string, offset: number) {
    super(message);
    this.code = code;
    this.offset = offset;
  }
}

/** Encodes a whole frame: length word, header, body. Throws XdrError for a header value out of range. */
export function encodeMessage(header: Header, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const total = MIN_FRAME_LENGTH + body.length;
  const out = new Uint8Array(total);
  const w = new XdrWriter(MIN_FRAME_LENGTH);
  w.uint(total).uint(header.prog).uint(header.vers).int(header.proc).enum(header.type).uint(header.serial);
  w.enum(header.status);
  out.set(w.finish(), 0);
  // Stream data is raw bytes, not XDR: no padding is added (virNetMessageEncodePayloadRaw).
  out.set(body, MIN_FRAME_LENGTH);
  return out;
}

/** Decodes the 24 header bytes; type and status must be declared values. */
export function decodeHeader(bytes: Uint8Array, base = VIR_NET_MESSAGE_LEN_MAX): Header {
  const r = new XdrReader(bytes.subarray(0, VIR_NET_MESSAGE_HEADER_MAX), base);
  return {
    prog: r.uint(),
    vers: r.uint(),
    proc: r.int(),
    type: r.enum(MESSAGE_TYPES, 'message type'),
    serial: r.uint(),
    status: r.enum(MESSAGE_STATUSES, 'message status'),
  };
}

/** Options of a FrameReader. */
export interface FrameReaderOptions {
  /** Largest header + body accepted (the length word minus 4); default VIR_NET_MESSAGE_MAX. */
  readonly maxMessage?: number;
}

/**
 * Splits a byte stream into messages. push() returns the messages completed by a chunk and
 * throws FrameError for a length word below the header size or above the limit, or a header
 * with an undeclared type or status; the stream is unusable after that.
 */
export class FrameReader {
  private readonly maxMessage: number;
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Bytes consumed as complete messages, for error offsets. */
  private consumed = 0;
  private failed = false;

  constructor(options: FrameReaderOptions = {}) {
    this.maxMessage = options.maxMessage ?? VIR_NET_MESSAGE_MAX;
  }

  /** Bytes of an incomplete message held back (0 between messages). */
  get pending(): number {
    return this.size;
  }

  /** Adds received bytes; returns every message now complete, in order. */
  push(chunk: Uint8Array): Message[] {
    if (this.failed) throw new FrameError('bad-header', 'the stream already failed', this.consumed);
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    const out: Message[] = [];
    for (;;) {
      if (this.size < VIR_NET_MESSAGE_LEN_MAX) break;
      const length = this.peekLength();
      if (length < MIN_FRAME_LENGTH) {
        this.failed = true;
        throw new FrameError(
          'length-too-small',
          `message length ${length} at byte ${this.consumed} is below ${MIN_FRAME_LENGTH} (length word and header)`,
          this.consumed,
        );
      }
      if (length - VIR_NET_MESSAGE_LEN_MAX > this.maxMessage) {
        this.failed = true;
        throw new FrameError(
          'length-too-large',
          `message length ${length} at byte ${this.consumed} exceeds the limit ` +
            `${this.maxMessage + VIR_NET_MESSAGE_LEN_MAX}`,
          this.consumed,
        );
      }
      if (this.size < length) break;
      const frame = this.take(length);
      let header: Header;
      try {
        header = decodeHeader(frame.subarray(VIR_NET_MESSAGE_LEN_MAX), this.consumed + VIR_NET_MESSAGE_LEN_MAX);
      } catch (e) {
        this.failed = true;
        throw new FrameError('bad-header', (e as Error).message, this.consumed);
      }
      out.push({ header, body: frame.subarray(MIN_FRAME_LENGTH) });
      this.consumed += length;
    }
    return out;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    const head = first.length >= 4 ? first : this.concat(4);
    return ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  }

  /** The first `n` buffered bytes as one array (copying only when they span chunks). */
  private concat(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.chunks) {
      const part = c.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
      if (at === n) break;
    }
    return out;
  }

  /** Removes and returns the first `n` buffered bytes. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.length >= n) {
      out = first.subarray(0, n);
    } else {
      out = this.concat(n);
    }
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.size -= n;
    return out;
  }
}

/** A domain reference in an error body (remote_nonnull_domain); unused by current clients. */
export interface ErrorDomainRef {
  readonly name: string;
  readonly uuid: Uint8Array;
  readonly id: number;
}

/** A network reference in an error body (remote_nonnull_network); unused. */
export interface ErrorNetworkRef {
  readonly name: string;
  readonly uuid: Uint8Array;
}

/** virNetMessageError (= remote_error): the body of a REPLY or STREAM with status VIR_NET_ERROR. */
export interface RemoteError {
  readonly code: number;
  readonly domain: number;
  readonly message: string | null;
  readonly level: number;
  readonly dom: ErrorDomainRef | null;
  readonly str1: string | null;
  readonly str2: string | null;
  readonly str3: string | null;
  readonly int1: number;
  readonly int2: number;
  readonly net: ErrorNetworkRef | null;
}

const VIR_UUID_BUFLEN = 16;

/** The remote_error for a LibvirtError. */
export function remoteErrorOf(e: LibvirtError): RemoteError {
  return {
    code: e.code,
    domain: e.domain,
    message: e.message,
    level: e.level,
    dom: null,
    str1: e.str1,
    str2: e.str2,
    str3: e.str3,
    int1: e.int1,
    int2: e.int2,
    net: null,
  };
}

/** Encodes a virNetMessageError body. */
export function encodeRemoteError(e: RemoteError): Uint8Array {
  const w = new XdrWriter();
  const str = (x: XdrWriter, s: string): void => void x.string(s, VIR_NET_MESSAGE_STRING_MAX);
  w.int(e.code).int(e.domain).optional(e.message, str).int(e.level);
  w.optional(e.dom, (x, d) =>
    x.string(d.name, VIR_NET_MESSAGE_STRING_MAX).fixedOpaque(d.uuid, VIR_UUID_BUFLEN).int(d.id),
  );
  w.optional(e.str1, str).optional(e.str2, str).optional(e.str3, str).int(e.int1).int(e.int2);
  w.optional(e.net, (x, n) => x.string(n.name, VIR_NET_MESSAGE_STRING_MAX).fixedOpaque(n.uuid, VIR_UUID_BUFLEN));
  return w.finish();
}

/** Decodes a virNetMessageError body (what a server sent, or a client's stream abort). */
export function decodeRemoteError(body: Uint8Array, base = MIN_FRAME_LENGTH): RemoteError {
  const r = new XdrReader(body, base);
  const str = (x: XdrReader): string => x.string(VIR_NET_MESSAGE_STRING_MAX);
  const uuid = (x: XdrReader): Uint8Array => x.fixedOpaque(VIR_UUID_BUFLEN, 'uuid').slice();
  const e: RemoteError = {
    code: r.int(),
    domain: r.int(),
    message: r.optional(str, 'message'),
    level: r.int(),
    dom: r.optional((x) => ({ name: str(x), uuid: uuid(x), id: x.int() }), 'dom'),
    str1: r.optional(str, 'str1'),
    str2: r.optional(str, 'str2'),
    str3: r.optional(str, 'str3'),
    int1: r.int(),
    int2: r.int(),
    net: r.optional((x) => ({ name: str(x), uuid: uuid(x) }), 'net'),
  };
  r.done('remote_error');
  return e;
}

/** A LibvirtError from a decoded error body (for clients and tests). */
export function libvirtErrorOf(e: RemoteError): LibvirtError {
  return new LibvirtError(e.code, e.domain, e.message ?? '', {
    level: e.level ?? VIR_ERR_ERROR,
    str1: e.str1,
    str2: e.str2,
    str3: e.str3,
    int1: e.int1,
    int2: e.int2,
  });
}
