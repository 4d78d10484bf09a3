// A two-pass assembler for fixed-width (32-bit) instruction streams: the first pass places
// labels, the second resolves PC-relative operands. Output is little-endian, as all vman boards run.

/** A label definition in an instruction stream. */
export interface Label {
  readonly label: string;
}

/** An instruction whose encoding needs its own address and the labels' (both byte offsets from the start). */
export type Relative = (here: number, at: (label: string) => number) => number;

/** Padding with zero bytes up to a multiple of `align` bytes (for data that must be aligned). */
export interface Align {
  readonly align: number;
}

export type Item = number | Label | Align | Relative;

export function label(name: string): Label {
  return { label: name };
}

export function align(bytes: number): Align {
  if (!Number.isInteger(bytes) || bytes < 4 || (bytes & (bytes - 1)) !== 0)
    throw new RangeError(`alignment ${bytes} is not a power of two of at least 4`);
  return { align: bytes };
}

function alignUp(pc: number, bytes: number): number {
  return Math.ceil(pc / bytes) * bytes;
}

const INSN_BYTES = 4;

/** Encode `items` as little-endian 32-bit words; a label takes no space, an alignment pads with zeros. */
export function assemble(items: readonly (Item | readonly Item[])[]): Uint8Array {
  const flat = items.flat();
  const labels = new Map<string, number>();
  let pc = 0;
  for (const item of flat) {
    if (typeof item !== 'object') pc += INSN_BYTES;
    else if ('align' in item) pc = alignUp(pc, item.align);
    else if (labels.has(item.label)) throw new Error(`label "${item.label}" defined twice`);
    else labels.set(item.label, pc);
  }
  const at = (name: string): number => {
    const offset = labels.get(name);
    if (offset === undefined) throw new Error(`label "${name}" is not defined`);
    return offset;
  };
  const out = new Uint8Array(pc);
  const view = new DataView(out.buffer);
  pc = 0;
  for (const item of flat) {
    if (typeof item === 'object') {
      if ('align' in item) pc = alignUp(pc, item.align);
      continue;
    }
    const word = typeof item === 'number' ? item : item(pc, at);
    view.setUint32(pc, word >>> 0, true);
    pc += INSN_BYTES;
  }
  return out;
}
