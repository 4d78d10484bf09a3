// Names and the strings block. Node and property names are kept byte for byte, one char per
// byte (code points 0–255), so every blob's names survive a round trip whatever their bytes.

/** fromCharCode takes its bytes as arguments; this many at a time stays far below engine limits. */
const CHUNK = 0x2000;

/** The name held in bytes[start, end), one char per byte. */
export function bytesToName(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= CHUNK) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  const parts: string[] = [];
  for (let p = start; p < end; p += CHUNK) parts.push(bytesToName(bytes, p, Math.min(end, p + CHUNK)));
  return parts.join('');
}

/**
 * A value holding exactly one NUL-terminated string (a path, a label), read byte for byte like names; else undefined.
 */
export function valueToName(value: Uint8Array | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.indexOf(0) !== value.length - 1) return undefined;
  return bytesToName(value, 0, value.length - 1);
}

/** A NUL, or a character that is not one byte. */
// eslint-disable-next-line no-control-regex -- a DTB name byte may be any of U+0001–U+00FF, controls included
const UNWRITABLE = /[^\u0001-\u00ff]/;

/** Why `name` cannot be written as a DTB name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (!UNWRITABLE.test(name)) return undefined;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0) return `a NUL at index ${i}`;
    if (c > 0xff) return `character U+${c.toString(16).padStart(4, '0')} at index ${i}, outside 0x00–0xff`;
  }
  return undefined;
}

/** Writes `name` and its terminating NUL at `pos`; the caller has checked it with nameProblem. Returns the end. */
export function writeName(out: Uint8Array, pos: number, name: string): number {
  for (let i = 0; i < name.length; i++) out[pos + i] = name.charCodeAt(i);
  out[pos + name.length] = 0;
  return pos + name.length + 1;
}

const HASH_MULTIPLIER = 31;

/** Up to this many stored strings, find() scans them instead of indexing suffixes. */
const SCAN_LIMIT = 128;

/** A hash of the last `length` chars of `s`, read from its end. */
function tailHash(s: string, length: number): number {
  let h = 0;
  for (let i = s.length - 1; i >= s.length - length; i--) h = (Math.imul(h, HASH_MULTIPLIER) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The strings block being written (5.5). Like dtc and libfdt, a name that is a suffix of a
 * string already stored ("names" inside "interrupt-names") reuses it, at its first occurrence.
 * It starts from a decoded blob's block, kept whole, and appends what is new.
 *
 * A small table is scanned. A large one indexes suffixes only at the lengths names are looked
 * up with, by a hash of the last chars: storing a string costs its length plus one map update
 * per such length, and no allocation. A hash collision is detected and answered by a scan.
 */
export class StringTable {
  /** Names already answered (stored whole or found as a suffix) → offset. */
  private readonly known = new Map<string, number>();
  /** By suffix length: hash of a stored string's last chars → where that suffix first occurs. */
  private readonly tails: (Map<number, number> | undefined)[] = [];
  /** Every stored string and its offset, in block order. */
  private readonly stored: string[] = [];
  private readonly starts: number[] = [];
  private readonly added: string[] = [];
  private readonly baseNames = new Map<number, string | null>();
  private baseIndexed: boolean;
  /** Where the empty name is: the first string's NUL. */
  private firstNul = -1;
  size: number;

  constructor(private readonly base: Uint8Array = new Uint8Array(0)) {
    this.size = base.length;
    this.baseIndexed = base.length === 0;
  }

  /** The name the base block holds at `offset`, or undefined when none ends inside it. */
  baseNameAt(offset: number): string | undefined {
    let name = this.baseNames.get(offset);
    if (name === undefined) {
      const nul = offset < this.base.length ? this.base.indexOf(0, offset) : -1;
      name = nul < 0 ? null : bytesToName(this.base, offset, nul);
      this.baseNames.set(offset, name);
    }
    return name ?? undefined;
  }

  /** Where a stored string ends with `name`: its first occurrence, as dtc and libfdt pick it. */
  find(name: string): number | undefined {
    if (!this.baseIndexed) this.indexBase();
    const known = this.known.get(name);
    if (known !== undefined) return known;
    if (name === '') return this.firstNul < 0 ? undefined : this.firstNul;
    let found: number | undefined;
    // A partition's own tree stores a few dozen names: scanning them (native endsWith) beats
    // building a suffix index per length, which is worth it only for large blobs.
    if (this.stored.length <= SCAN_LIMIT) found = this.scan(name);
    else {
      const candidate = this.tailIndex(name.length).get(tailHash(name, name.length));
      if (candidate === undefined) return undefined;
      found = this.holds(candidate, name) ? candidate : this.scan(name);
    }
    if (found !== undefined) this.known.set(name, found);
    return found;
  }

  /** Appends `name`, which find() did not know and nameProblem() accepts; returns its offset. */
  add(name: string): number {
    const offset = this.size;
    this.added.push(name);
    this.size += name.length + 1;
    this.store(name, offset);
    return offset;
  }

  /** Writes the block at `pos`. */
  write(out: Uint8Array, pos: number): void {
    out.set(this.base, pos);
    let p = pos + this.base.length;
    for (const name of this.added) p = writeName(out, p, name);
  }

  private store(s: string, offset: number): void {
    this.stored.push(s);
    this.starts.push(offset);
    if (!this.known.has(s)) this.known.set(s, offset);
    if (this.firstNul < 0) this.firstNul = offset + s.length;
    const tails = this.tails;
    let h = 0;
    for (let length = 1; length <= s.length && length < tails.length; length++) {
      h = (Math.imul(h, HASH_MULTIPLIER) + s.charCodeAt(s.length - length)) | 0;
      const index = tails[length];
      if (index !== undefined && !index.has(h)) index.set(h, offset + s.length - length);
    }
  }

  /** The index of suffixes of this length, built from the strings stored so far on first use. */
  private tailIndex(length: number): Map<number, number> {
    let index = this.tails[length];
    if (index === undefined) {
      index = new Map();
      for (let k = 0; k < this.stored.length; k++) {
        const s = this.stored[k]!;
        if (s.length < length) continue;
        const h = tailHash(s, length);
        if (!index.has(h)) index.set(h, this.starts[k]! + s.length - length);
      }
      this.tails[length] = index;
    }
    return index;
  }

  /** Whether the stored string around `at` holds exactly `name` from `at` to its end. */
  private holds(at: number, name: string): boolean {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    const t = this.stored[lo]!;
    const pos = at - this.starts[lo]!;
    return t.length - pos === name.length && t.startsWith(name, pos);
  }

  /** The first stored string ending with `name`, by a scan (small tables, and after a hash collision). */
  private scan(name: string): number | undefined {
    for (let k = 0; k < this.stored.length; k++) {
      const t = this.stored[k]!;
      if (t.endsWith(name)) return this.starts[k]! + t.length - name.length;
    }
    return undefined;
  }

  private indexBase(): void {
    this.baseIndexed = true;
    const strings = bytesToName(this.base, 0, this.base.length).split('\0');
    let offset = 0;
    // The last piece follows the last NUL: it is not a terminated string.
    for (let i = 0; i < strings.length - 1; i++) {
      const s = strings[i]!;
      this.store(s, offset);
      offset += s.length + 1;
    }
  }
}
