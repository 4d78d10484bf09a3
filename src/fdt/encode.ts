// Fdt → DTB, after the Devicetree Specification v0.4, chapter 5: a size pass, then one write
// pass into a single buffer through a big-endian DataView.
//
// A decoded tree that still fits its layout is written over a copy of the original blob, so
// an unchanged tree comes back byte for byte (gaps, free space, NOPs and unused strings
// included). Anything else is laid out as dtc does: header, reservations at 0x28, structure,
// strings; a decoded tree keeps its version, its strings block (new names appended) and, when
// the content still fits, its total size.
import { FdtError, hex } from './errors.js';
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_LAST_COMP_VERSION,
  FDT_MAGIC,
  FDT_NOP,
  FDT_OLDEST_READ_VERSION,
  FDT_PROP,
  FDT_VERSION,
  HDR_BOOT_CPUID_PHYS,
  HDR_LAST_COMP_VERSION,
  HDR_MAGIC,
  HDR_OFF_DT_STRINGS,
  HDR_OFF_DT_STRUCT,
  HDR_OFF_MEM_RSVMAP,
  HDR_SIZE_DT_STRINGS,
  HDR_SIZE_DT_STRUCT,
  HDR_TOTALSIZE,
  HDR_VERSION,
  HEADER_SIZE_V16,
  HEADER_SIZE_V17,
  PROP_HEADER_SIZE,
  RSV_ALIGN,
  RSV_ENTRY_SIZE,
  TOKEN_ALIGN,
  alignUp,
} from './format.js';
import { StringTable, nameProblem, writeName } from './strings.js';
import type { Fdt, FdtLayout, FdtNode, FdtReservation } from './types.js';
import { flatten, pathIn, type Flat } from './walk.js';

const U32_MAX = 0xffffffff;
const U64_LIMIT = 1n << 64n;
const NONE = new Uint32Array(0);
const NO_PADS: ReadonlyMap<number, Uint8Array> = new Map();
const SHORT_VALUE = 32;

/** Where the header says the blocks are. */
interface Placement {
  readonly version: number;
  readonly lastCompVersion: number;
  readonly totalSize: number;
  readonly memRsvOffset: number;
  readonly structOffset: number;
  readonly structSize: number;
  readonly stringsOffset: number;
  readonly stringsSize: number;
}

/** Encodes a tree as a DTB. Throws FdtError when a name, value or header field cannot be written. */
export function encodeFdt(fdt: Fdt): Uint8Array {
  checkHeaderValues(fdt);
  const layout = usableLayout(fdt.layout);
  const strings = new StringTable(
    layout?.original.subarray(layout.stringsOffset, layout.stringsOffset + layout.stringsSize),
  );
  const flat = flatten(fdt.root);
  const { structSize, nameOffsets } = measure(flat, fdt.root, strings, layout);
  if (
    layout !== undefined &&
    structSize + 4 * layout.nops.length === layout.structSize &&
    strings.size === layout.stringsSize &&
    fdt.reservations.length === layout.reservationCount
  ) {
    return writeInPlace(fdt, layout, flat, nameOffsets);
  }
  return writeCanonical(fdt, layout, strings, flat, structSize, nameOffsets);
}

function checkHeaderValues(fdt: Fdt): void {
  const cpu = fdt.bootCpuidPhys;
  if (!Number.isInteger(cpu) || cpu < 0 || cpu > U32_MAX) {
    throw new FdtError(
      'unencodable',
      `Cannot encode bootCpuidPhys ${String(cpu)}: it must be an integer from 0 to 2 ** 32 - 1`,
    );
  }
  fdt.reservations.forEach((r, i) => {
    for (const key of ['address', 'size'] as const) {
      const v: unknown = r[key];
      if (typeof v !== 'bigint' || v < 0n || v >= U64_LIMIT) {
        throw new FdtError(
          'unencodable',
          `Cannot encode reservation ${i}: ${key} ${String(v)} is not a bigint from 0 to 2n ** 64n - 1n`,
        );
      }
    }
    if (r.size === 0n)
      throw new FdtError(
        'unencodable',
        `Cannot encode reservation ${i}: its size is 0, which would end the list (5.3.2)`,
      );
  });
}

// A layout is a hint: one that does not describe a well-formed blob is ignored.
function usableLayout(layout: FdtLayout | undefined): FdtLayout | undefined {
  if (layout === undefined) return undefined;
  const { version, totalSize: total } = layout;
  const headerSize = version === FDT_VERSION ? HEADER_SIZE_V17 : HEADER_SIZE_V16;
  const fits = (offset: number, size: number): boolean =>
    Number.isInteger(offset) && Number.isInteger(size) && offset >= headerSize && size >= 0 && offset + size <= total;
  const ok =
    (version === FDT_VERSION || version === FDT_OLDEST_READ_VERSION) &&
    Number.isInteger(layout.lastCompVersion) &&
    layout.original instanceof Uint8Array &&
    total <= layout.original.length &&
    layout.memRsvOffset % RSV_ALIGN === 0 &&
    layout.structOffset % TOKEN_ALIGN === 0 &&
    fits(layout.memRsvOffset, RSV_ENTRY_SIZE * (layout.reservationCount + 1)) &&
    fits(layout.structOffset, layout.structSize) &&
    fits(layout.stringsOffset, layout.stringsSize) &&
    layout.nameOffsets instanceof Uint32Array &&
    layout.nops instanceof Uint32Array &&
    Array.isArray(layout.pads);
  return ok ? layout : undefined;
}

// The size pass: checks names, sizes the structure block and picks each property name's offset.
function measure(
  flat: Flat,
  root: FdtNode,
  strings: StringTable,
  layout: FdtLayout | undefined,
): { structSize: number; nameOffsets: Uint32Array } {
  const nameOffsets = new Uint32Array(flat.props);
  const recorded = layout?.nameOffsets ?? NONE;
  let size = 4; // FDT_END
  let i = 0;
  // Indexed loops: they run well before the JIT warms up, and a tree is encoded once.
  const order = flat.order;
  for (let k = 0; k < order.length; k++) {
    const node = order[k]!;
    if (node === null) {
      size += 4;
      continue;
    }
    const nodeProblem = nameProblem(node.name);
    if (nodeProblem !== undefined)
      throw new FdtError('unencodable', `Cannot encode node "${pathIn(root, node)}": its name contains ${nodeProblem}`);
    size += 4 + alignUp(node.name.length + 1, TOKEN_ALIGN);
    const props = node.props;
    for (let j = 0; j < props.length; j++) {
      const { name, value } = props[j]!;
      if (!(value instanceof Uint8Array)) {
        throw new FdtError(
          'unencodable',
          `Cannot encode property "${name}" of node "${pathIn(root, node)}": its value is not a Uint8Array`,
        );
      }
      // The offset the decoded blob used, while it still holds this name: keeps the bytes exact.
      let offset = i < recorded.length && strings.baseNameAt(recorded[i]!) === name ? recorded[i] : strings.find(name);
      if (offset === undefined) {
        const problem = nameProblem(name);
        if (problem !== undefined) {
          throw new FdtError(
            'unencodable',
            `Cannot encode property ${JSON.stringify(name)} of node "${pathIn(root, node)}": ` +
              `its name contains ${problem}`,
          );
        }
        offset = strings.add(name);
      }
      nameOffsets[i++] = offset;
      size += PROP_HEADER_SIZE + alignUp(value.length, TOKEN_ALIGN);
    }
  }
  return { structSize: size, nameOffsets };
}

function writeInPlace(fdt: Fdt, layout: FdtLayout, flat: Flat, nameOffsets: Uint32Array): Uint8Array {
  const out = layout.original.slice();
  const view = new DataView(out.buffer);
  writeHeader(view, fdt.bootCpuidPhys, layout);
  writeReservations(view, layout.memRsvOffset, fdt.reservations);
  const pads = new Map(layout.pads.map((p) => [p.token, p.bytes]));
  writeStructure(out, view, layout.structOffset, flat, nameOffsets, layout.nops, pads);
  // The strings block is the original's, already in place: no name was added.
  return out;
}

function writeCanonical(
  fdt: Fdt,
  layout: FdtLayout | undefined,
  strings: StringTable,
  flat: Flat,
  structSize: number,
  nameOffsets: Uint32Array,
): Uint8Array {
  const version = layout?.version ?? FDT_VERSION;
  const headerSize = version === FDT_VERSION ? HEADER_SIZE_V17 : HEADER_SIZE_V16;
  const memRsvOffset = alignUp(headerSize, RSV_ALIGN);
  const structOffset = memRsvOffset + RSV_ENTRY_SIZE * (fdt.reservations.length + 1);
  const stringsOffset = structOffset + structSize;
  const totalSize = Math.max(stringsOffset + strings.size, layout?.totalSize ?? 0);
  if (totalSize > U32_MAX)
    throw new FdtError(
      'unencodable',
      `Cannot encode the tree: it needs ${hex(totalSize)} bytes, more than totalsize can say`,
    );
  const out = new Uint8Array(totalSize);
  const view = new DataView(out.buffer);
  const placement: Placement = {
    version,
    lastCompVersion: layout?.lastCompVersion ?? FDT_LAST_COMP_VERSION,
    totalSize,
    memRsvOffset,
    structOffset,
    structSize,
    stringsOffset,
    stringsSize: strings.size,
  };
  writeHeader(view, fdt.bootCpuidPhys, placement);
  writeReservations(view, memRsvOffset, fdt.reservations);
  writeStructure(out, view, structOffset, flat, nameOffsets, NONE, NO_PADS);
  strings.write(out, stringsOffset);
  return out;
}

// 5.2: version 16 has no size_dt_struct; its 36-byte header is padded to 40 by the 8-byte alignment.
function writeHeader(view: DataView, bootCpuidPhys: number, p: Placement): void {
  view.setUint32(HDR_MAGIC, FDT_MAGIC);
  view.setUint32(HDR_TOTALSIZE, p.totalSize);
  view.setUint32(HDR_OFF_DT_STRUCT, p.structOffset);
  view.setUint32(HDR_OFF_DT_STRINGS, p.stringsOffset);
  view.setUint32(HDR_OFF_MEM_RSVMAP, p.memRsvOffset);
  view.setUint32(HDR_VERSION, p.version);
  view.setUint32(HDR_LAST_COMP_VERSION, p.lastCompVersion);
  view.setUint32(HDR_BOOT_CPUID_PHYS, bootCpuidPhys);
  view.setUint32(HDR_SIZE_DT_STRINGS, p.stringsSize);
  if (p.version >= FDT_VERSION) view.setUint32(HDR_SIZE_DT_STRUCT, p.structSize);
}

// 5.3.2: the entries, then a terminating entry. Only its size word is written: size 0 ends
// the list, and the address word of a decoded blob stays as it was.
function writeReservations(view: DataView, offset: number, reservations: readonly FdtReservation[]): void {
  let p = offset;
  for (const r of reservations) {
    view.setBigUint64(p, r.address);
    view.setBigUint64(p + 8, r.size);
    p += RSV_ENTRY_SIZE;
  }
  view.setBigUint64(p + 8, 0n);
}

// 5.4: the token stream. `nops[k]` is the index of the token the k-th FDT_NOP precedes.
function writeStructure(
  out: Uint8Array,
  view: DataView,
  start: number,
  flat: Flat,
  nameOffsets: Uint32Array,
  nops: Uint32Array,
  pads: ReadonlyMap<number, Uint8Array>,
): number {
  let p = start;
  let token = 0;
  let nop = 0;
  let prop = 0;
  const order = flat.order;
  for (let k = 0; k < order.length; k++) {
    const node = order[k]!;
    while (nop < nops.length && nops[nop]! <= token) {
      view.setUint32(p, FDT_NOP);
      p += 4;
      nop++;
    }
    if (node === null) {
      view.setUint32(p, FDT_END_NODE);
      p += 4;
      token++;
      continue;
    }
    view.setUint32(p, FDT_BEGIN_NODE);
    p = writePadding(out, writeName(out, p + 4, node.name), pads.size === 0 ? undefined : pads.get(token));
    token++;
    const props = node.props;
    for (let j = 0; j < props.length; j++) {
      const value = props[j]!.value;
      while (nop < nops.length && nops[nop]! <= token) {
        view.setUint32(p, FDT_NOP);
        p += 4;
        nop++;
      }
      view.setUint32(p, FDT_PROP);
      view.setUint32(p + 4, value.length);
      view.setUint32(p + 8, nameOffsets[prop++]!);
      const at = p + PROP_HEADER_SIZE;
      const length = value.length;
      // A loop beats the builtin's call overhead for the short values most properties hold.
      if (length <= SHORT_VALUE) for (let i = 0; i < length; i++) out[at + i] = value[i]!;
      else out.set(value, at);
      p = writePadding(out, at + length, pads.size === 0 ? undefined : pads.get(token));
      token++;
    }
  }
  // Every NOP left goes before FDT_END.
  for (; nop < nops.length; nop++) {
    view.setUint32(p, FDT_NOP);
    p += 4;
  }
  view.setUint32(p, FDT_END);
  return p + 4;
}

/** Pads to the next token boundary with zeros, or with the bytes a decoded blob had there. */
function writePadding(out: Uint8Array, from: number, kept: Uint8Array | undefined): number {
  const to = alignUp(from, TOKEN_ALIGN);
  if (kept !== undefined && kept.length === to - from) out.set(kept, from);
  else for (let i = from; i < to; i++) out[i] = 0;
  return to;
}
