// The one error type of src/fdt: a stable code, a message that says what and where, and,
// when it applies, the blob offset, the overlay file and the overlay fragment.

/** What went wrong, as a stable code. */
export type FdtErrorCode =
  /** The blob does not start with 0xd00dfeed. */
  | 'bad-magic'
  /** A header version other than 16 or 17. */
  | 'bad-version'
  /** The blob is shorter than its header or its blocks say. */
  | 'truncated'
  /** Offsets, tokens, names or nesting are wrong. */
  | 'malformed'
  /** A tree that cannot be written as a blob (a value out of range, a NUL in a name, …). */
  | 'unencodable'
  /** An overlay that cannot be applied to its base. */
  | 'bad-overlay'
  /** A property value of the wrong shape for the reader or builder asked to handle it. */
  | 'bad-value';

/** Where an error happened, for the fields that apply. */
export interface FdtErrorDetails {
  /** Byte offset in the blob (decoding). */
  readonly offset?: number;
  /** The overlay's source (its file name), as given to applyOverlay. */
  readonly overlay?: string;
  /** The overlay fragment (`fragment@1`) or special node (`__fixups__`) at fault. */
  readonly fragment?: string;
  readonly cause?: unknown;
}

/** A malformed blob, an unencodable tree, a bad overlay or a mis-shaped value. */
export class FdtError extends Error {
  override readonly name = 'FdtError';
  readonly code: FdtErrorCode;
  readonly offset?: number;
  readonly overlay?: string;
  readonly fragment?: string;

  constructor(code: FdtErrorCode, message: string, details: FdtErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.offset !== undefined) this.offset = details.offset;
    if (details.overlay !== undefined) this.overlay = details.overlay;
    if (details.fragment !== undefined) this.fragment = details.fragment;
  }
}

/** `0x1f4`: how offsets and sizes appear in messages. */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}
