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

/** A NUL, or a character that is not one byte. */
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

/**
 * The strings block being written (5.5). Like dtc and libfdt, a name that is a suffix of a
 * string already stored ("names" inside "interrupt-names") reuses it, at its first occurrence.
 * It starts from a decoded blob's block, kept whole, and appends what is new.
 */
export class StringTable {
  /** Every suffix of every stored string → where it first occurs; the base block is indexed on first need. */
  private readonly first = new Map<string, number>();
  private readonly added: string[] = [];
  private baseIndexed: boolean;
  private readonly baseNames = new Map<number, string | null>();
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
    return this.first.get(name);
  }

  /** Appends `name`, which find() did not know and nameProblem() accepts; returns its offset. */
  add(name: string): number {
    const offset = this.size;
    this.added.push(name);
    this.size += name.length + 1;
    this.addSuffixes(name, offset);
    return offset;
  }

  /** Writes the block at `pos`. */
  write(out: Uint8Array, pos: number): void {
    out.set(this.base, pos);
    let p = pos + this.base.length;
    for (const name of this.added) p = writeName(out, p, name);
  }

  // Once one suffix is known, so are all shorter ones (they were indexed with it).
  private addSuffixes(name: string, offset: number): void {
    for (let i = 0; i <= name.length; i++) {
      const suffix = i === 0 ? name : name.slice(i);
      if (this.first.has(suffix)) return;
      this.first.set(suffix, offset + i);
    }
  }

  private indexBase(): void {
    this.baseIndexed = true;
    const strings = bytesToName(this.base, 0, this.base.length).split('\0');
    let offset = 0;
    // The last piece follows the last NUL: it is not a terminated string.
    for (let i = 0; i < strings.length - 1; i++) {
      const s = strings[i]!;
      this.addSuffixes(s, offset);
      offset += s.length + 1;
    }
  }
}
