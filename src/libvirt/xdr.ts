// XDR, the External Data Representation of RFC 4506, as libvirt's RPC uses it: big-endian 4-byte
// units, lengths before variable data, zero padding to the next unit. Pure: no node:* imports.
//
// The writer grows one buffer (doubling) and writes through a big-endian DataView; the reader is
// bounded by its slice and by the maximum lengths the .x files declare, and throws one XdrError
// (a code, the byte offset, what was being read) at the first malformed item.

/** RFC 4506 §3: every item occupies a multiple of this many bytes. */
export const XDR_UNIT = 4;

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const INITIAL_CAPACITY = 256;
const NUL = 0;

/** What went wrong, as a stable code. */
export type XdrErrorCode =
  /** The input ends before the item does. */
  | 'truncated'
  /** A length or count above the declared maximum. */
  | 'too-long'
  /** Non-zero bytes in the padding after opaque data or a string (RFC 4506 §4.9-4.11). */
  | 'bad-padding'
  /** A value outside its type: a bool other than 0/1, an undeclared enum value, a string that is not UTF-8. */
  | 'bad-value'
  /** Bytes left over after the last item. */
  | 'trailing-bytes'
  /** A value the writer cannot represent (out of range, too long, the wrong size). */
  | 'unencodable';

/** A malformed XDR item (reading) or an unrepresentable value (writing). */
export class XdrError extends Error {
  override readonly name = 'XdrError';
  readonly code: XdrErrorCode;
  /** Byte offset of the item in the buffer being read or written. */
  readonly offset: number;

  constructor(code: XdrErrorCode, message: string, offset: number) {
    super(message);
    this.code = code;
    this.offset = offset;
  }
}

/** Bytes of zero padding after `length` bytes of opaque data (RFC 4506 §4.9). */
export function xdrPadding(length: number): number {
  return (XDR_UNIT - (length % XDR_UNIT)) % XDR_UNIT;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Appends XDR items to a growing big-endian buffer. Each method returns the writer, for chaining. */
export class XdrWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = INITIAL_CAPACITY) {
    this.buf = new Uint8Array(Math.max(XDR_UNIT, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** RFC 4506 §4.1: a signed 32-bit integer. */
  int(value: number): this {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw this.unencodable(`int ${value} is not an integer in [-2 ** 31, 2 ** 31 - 1]`);
    }
    const at = this.reserve(4);
    this.view.setInt32(at, value);
    return this;
  }

  /** RFC 4506 §4.2: an unsigned 32-bit integer. */
  uint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw this.unencodable(`unsigned int ${value} is not an integer in [0, 2 ** 32 - 1]`);
    }
    const at = this.reserve(4);
    this.view.setUint32(at, value);
    return this;
  }

  /** RFC 4506 §4.3: an enumeration, encoded as an int. */
  enum(value: number): this {
    return this.int(value);
  }

  /** RFC 4506 §4.4: a boolean, the int 0 or 1. */
  bool(value: boolean): this {
    return this.int(value ? 1 : 0);
  }

  /** RFC 4506 §4.5: a signed 64-bit integer. */
  hyper(value: bigint): this {
    if (value < INT64_MIN || value > INT64_MAX) throw this.unencodable(`hyper ${value} is out of range`);
    const at = this.reserve(8);
    this.view.setBigInt64(at, value);
    return this;
  }

  /** RFC 4506 §4.5: an unsigned 64-bit integer. */
  uhyper(value: bigint): this {
    if (value < 0n || value > UINT64_MAX) throw this.unencodable(`unsigned hyper ${value} is out of range`);
    const at = this.reserve(8);
    this.view.setBigUint64(at, value);
    return this;
  }

  /** RFC 4506 §4.7: an IEEE 754 double. */
  double(value: number): this {
    const at = this.reserve(8);
    this.view.setFloat64(at, value);
    return this;
  }

  /** RFC 4506 §4.9: exactly `size` bytes, zero-padded to a unit. */
  fixedOpaque(bytes: Uint8Array, size: number): this {
    if (bytes.length !== size) throw this.unencodable(`fixed opaque of ${bytes.length} bytes, expected ${size}`);
    return this.padded(bytes);
  }

  /** RFC 4506 §4.10: a length, then the bytes, zero-padded; at most `max` bytes. */
  opaque(bytes: Uint8Array, max: number): this {
    if (bytes.length > max) throw this.unencodable(`opaque of ${bytes.length} bytes exceeds the limit ${max}`);
    this.uint(bytes.length);
    return this.padded(bytes);
  }

  /** RFC 4506 §4.11: a string as UTF-8 (libvirt's strings are C strings), at most `max` bytes, no NUL. */
  string(value: string, max: number): this {
    const bytes = utf8.encode(value);
    if (bytes.length > max) throw this.unencodable(`string of ${bytes.length} bytes exceeds the limit ${max}`);
    if (bytes.includes(NUL)) throw this.unencodable('string contains a NUL byte');
    this.uint(bytes.length);
    return this.padded(bytes);
  }

  /** RFC 4506 §4.12: exactly `size` items, no count. */
  fixedArray<T>(items: readonly T[], size: number, item: (w: XdrWriter, value: T) => void): this {
    if (items.length !== size) throw this.unencodable(`fixed array of ${items.length} items, expected ${size}`);
    for (const v of items) item(this, v);
    return this;
  }

  /** RFC 4506 §4.13: a count, then the items; at most `max` items. */
  array<T>(items: readonly T[], max: number, item: (w: XdrWriter, value: T) => void): this {
    if (items.length > max) throw this.unencodable(`array of ${items.length} items exceeds the limit ${max}`);
    this.uint(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  /** RFC 4506 §4.19: an optional-data (pointer): the bool "present", then the value if present. */
  optional<T>(value: T | null | undefined, item: (w: XdrWriter, value: T) => void): this {
    if (value === null || value === undefined) return this.bool(false);
    this.bool(true);
    item(this, value);
    return this;
  }

  /** Appends bytes that are already XDR (a nested body); their length must be a whole number of units. */
  raw(bytes: Uint8Array): this {
    if (bytes.length % XDR_UNIT !== 0) throw this.unencodable(`raw XDR of ${bytes.length} bytes is not unit-aligned`);
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }

  /** The bytes written, as a copy the writer no longer touches. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private padded(bytes: Uint8Array): this {
    const at = this.reserve(bytes.length + xdrPadding(bytes.length));
    this.buf.set(bytes, at);
    // reserve() hands out zeroed bytes, so the padding is already zero.
    return this;
  }

  /** Makes room for `n` more bytes, returns where they start. */
  private reserve(n: number): number {
    const at = this.pos;
    const need = at + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.pos = need;
    return at;
  }

  private unencodable(message: string): XdrError {
    return new XdrError('unencodable', `Cannot encode at byte ${this.pos}: ${message}`, this.pos);
  }
}

/** Reads XDR items from a byte slice, refusing anything malformed with an XdrError. */
export class XdrReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos: number;
  private readonly end: number;
  /** Added to offsets in errors: where this slice sits in the whole message. */
  private readonly base: number;

  /** Reads `bytes`; `base` is the slice's offset in an enclosing message (for error offsets only). */
  constructor(bytes: Uint8Array, base = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.end = bytes.length;
    this.base = base;
  }

  /** Offset of the next item (from the start of the slice, plus `base`). */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** RFC 4506 §4.1. */
  int(): number {
    return this.view.getInt32(this.take(4, 'int'));
  }

  /** RFC 4506 §4.2. */
  uint(): number {
    return this.view.getUint32(this.take(4, 'unsigned int'));
  }

  /** RFC 4506 §4.3: an int that must be one of `allowed` (its declared values). */
  enum(allowed: readonly number[], what = 'enum'): number {
    const at = this.offset;
    const v = this.view.getInt32(this.take(4, what));
    if (!allowed.includes(v))
      throw this.fail('bad-value', at, `${what} value ${v} is not one of ${allowed.join(', ')}`);
    return v;
  }

  /** RFC 4506 §4.4: 0 or 1, nothing else. */
  bool(what = 'bool'): boolean {
    const at = this.offset;
    const v = this.view.getInt32(this.take(4, what));
    if (v !== 0 && v !== 1) throw this.fail('bad-value', at, `${what} value ${v} is neither 0 nor 1`);
    return v === 1;
  }

  /** RFC 4506 §4.5. */
  hyper(): bigint {
    return this.view.getBigInt64(this.take(8, 'hyper'));
  }

  /** RFC 4506 §4.5. */
  uhyper(): bigint {
    return this.view.getBigUint64(this.take(8, 'unsigned hyper'));
  }

  /** RFC 4506 §4.7. */
  double(): number {
    return this.view.getFloat64(this.take(8, 'double'));
  }

  /** RFC 4506 §4.9: `size` bytes and their zero padding. Returns a view into the input. */
  fixedOpaque(size: number, what = 'fixed opaque'): Uint8Array {
    return this.padded(size, what);
  }

  /** RFC 4506 §4.10: a length of at most `max`, the bytes, their zero padding. Returns a view into the input. */
  opaque(max: number, what = 'opaque'): Uint8Array {
    return this.padded(this.length(max, what), what);
  }

  /** RFC 4506 §4.11: at most `max` bytes of UTF-8 without NUL. */
  string(max: number, what = 'string'): string {
    const length = this.length(max, what);
    const at = this.offset;
    const bytes = this.padded(length, what);
    if (bytes.includes(NUL)) throw this.fail('bad-value', at, `${what} contains a NUL byte`);
    try {
      return utf8Strict.decode(bytes);
    } catch {
      throw this.fail('bad-value', at, `${what} is not valid UTF-8`);
    }
  }

  /** RFC 4506 §4.12: exactly `size` items. */
  fixedArray<T>(size: number, item: (r: XdrReader) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < size; i++) out.push(item(this));
    return out;
  }

  /** RFC 4506 §4.13: a count of at most `max`, then the items. */
  array<T>(max: number, item: (r: XdrReader) => T, what = 'array'): T[] {
    const count = this.length(max, what, 'count');
    // Every item takes at least one unit: a count the rest of the input cannot hold is truncation.
    if (count * XDR_UNIT > this.remaining) {
      throw this.fail(
        'truncated',
        this.offset,
        `${what} of ${count} items needs more than the ${this.remaining} bytes left`,
      );
    }
    return this.fixedArray(count, item);
  }

  /** RFC 4506 §4.19: the bool "present", then the value if present; null when absent. */
  optional<T>(item: (r: XdrReader) => T, what = 'optional'): T | null {
    return this.bool(`${what} presence flag`) ? item(this) : null;
  }

  /** Everything not yet read (raw stream data), as a view into the input. */
  rest(): Uint8Array {
    const out = this.bytes.subarray(this.pos, this.end);
    this.pos = this.end;
    return out;
  }

  /** Asserts that every byte has been read. */
  done(what = 'body'): void {
    if (this.pos !== this.end) {
      throw this.fail('trailing-bytes', this.offset, `${this.remaining} bytes left over after the ${what}`);
    }
  }

  private length(max: number, what: string, noun = 'length'): number {
    const at = this.offset;
    const n = this.view.getUint32(this.take(4, `${what} ${noun}`));
    if (n > max) throw this.fail('too-long', at, `${what} ${noun} ${n} exceeds the limit ${max}`);
    return n;
  }

  private padded(size: number, what: string): Uint8Array {
    const pad = xdrPadding(size);
    const at = this.take(size + pad, what);
    for (let i = at + size; i < at + size + pad; i++) {
      if (this.bytes[i] !== 0) throw this.fail('bad-padding', this.base + i, `non-zero padding after ${what}`);
    }
    return this.bytes.subarray(at, at + size);
  }

  /** Consumes `n` bytes, returns where they start; throws 'truncated' if the slice is shorter. */
  private take(n: number, what: string): number {
    const at = this.pos;
    if (n > this.end - at) {
      throw this.fail('truncated', this.offset, `${what} needs ${n} bytes, ${this.end - at} left`);
    }
    this.pos = at + n;
    return at;
  }

  private fail(code: XdrErrorCode, offset: number, message: string): XdrError {
    return new XdrError(code, `Cannot decode XDR at byte ${offset}: ${message}`, offset);
  }
}
