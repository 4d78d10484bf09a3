// Bounds-checked integer reads for header parsers. A read past the end gives undefined,
// so parsers of hostile input decide what a short file means instead of catching RangeError.

export class ByteReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian = true,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Whether [offset, offset + size) lies inside the bytes. */
  has(offset: number, size: number): boolean {
    return offset >= 0 && size >= 0 && offset + size <= this.bytes.length;
  }

  u8(offset: number): number | undefined {
    return this.has(offset, 1) ? this.view.getUint8(offset) : undefined;
  }

  u16(offset: number): number | undefined {
    return this.has(offset, 2) ? this.view.getUint16(offset, this.littleEndian) : undefined;
  }

  u32(offset: number): number | undefined {
    return this.has(offset, 4) ? this.view.getUint32(offset, this.littleEndian) : undefined;
  }

  u64(offset: number): bigint | undefined {
    return this.has(offset, 8) ? this.view.getBigUint64(offset, this.littleEndian) : undefined;
  }

  /** Whether the bytes at `offset` equal `expected`. */
  matches(offset: number, expected: readonly number[]): boolean {
    if (!this.has(offset, expected.length)) return false;
    return expected.every((b, i) => this.bytes[offset + i] === b);
  }

  /** A NUL-terminated printable ASCII string of at most `max` bytes, or undefined. */
  cstring(offset: number, max: number): string | undefined {
    let s = '';
    for (let i = 0; i < max; i++) {
      const c = this.u8(offset + i);
      if (c === undefined) return undefined;
      if (c === 0) return s;
      if (c < 0x20 || c > 0x7e) return undefined;
      s += String.fromCharCode(c);
    }
    return undefined;
  }
}

/** `0x`-prefixed lowercase hex, the form addresses take in messages. */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** A bigint as a number when it is a safe integer, else undefined. */
export function toSafeNumber(n: bigint): number | undefined {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}
