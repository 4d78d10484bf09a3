// DTB → Fdt, after the Devicetree Specification v0.4, chapter 5. Every offset and size is
// checked before it is used; work is linear in the blob's size and nesting is iterative and
// capped, so a hostile blob costs bounded time and memory and ends in an FdtError.
import { FdtError, hex, type FdtErrorCode } from './errors.js';
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_MAGIC,
  FDT_NOP,
  FDT_OLDEST_READ_VERSION,
  FDT_PROP,
  FDT_VERSION,
  HDR_BOOT_CPUID_PHYS,
  HDR_LAST_COMP_VERSION,
  HDR_OFF_DT_STRINGS,
  HDR_OFF_DT_STRUCT,
  HDR_OFF_MEM_RSVMAP,
  HDR_SIZE_DT_STRINGS,
  HDR_SIZE_DT_STRUCT,
  HDR_TOTALSIZE,
  HDR_VERSION,
  HEADER_SIZE_V16,
  HEADER_SIZE_V17,
  MAX_DEPTH,
  PROP_HEADER_SIZE,
  RSV_ALIGN,
  RSV_ENTRY_SIZE,
  TOKEN_ALIGN,
  alignUp,
} from './format.js';
import { bytesToName } from './strings.js';
import type { Fdt, FdtLayout, FdtNode, FdtProperty, FdtReservation } from './types.js';

interface Header {
  readonly version: number;
  readonly lastCompVersion: number;
  readonly headerSize: number;
  readonly totalSize: number;
  readonly structOffset: number;
  /** Undefined for version 16, which does not record it. */
  readonly structSize: number | undefined;
  readonly stringsOffset: number;
  readonly stringsSize: number;
  readonly memRsvOffset: number;
  readonly bootCpuidPhys: number;
}

interface Block {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

function fail(code: FdtErrorCode, what: string, offset: number): never {
  throw new FdtError(code, `Malformed FDT: ${what}`, { offset });
}

/** Decodes a DTB. Throws FdtError when the blob is malformed; bytes past `totalsize` are kept in the layout. */
export function decodeFdt(bytes: Uint8Array): Fdt {
  // One private copy, a plain Uint8Array even from a Buffer (whose slice() would not copy):
  // values are views into it, and the layout keeps it for exact re-encoding.
  const original = new Uint8Array(bytes);
  const view = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const header = readHeader(original, view);
  const { reservations, end: memRsvEnd } = readReservations(view, header);
  const memRsv: Block = { name: 'memory reservation block', start: header.memRsvOffset, end: memRsvEnd };
  const strings: Block = {
    name: 'strings block',
    start: header.stringsOffset,
    end: header.stringsOffset + header.stringsSize,
  };
  if (header.structSize !== undefined) {
    checkDisjoint([
      memRsv,
      { name: 'structure block', start: header.structOffset, end: header.structOffset + header.structSize },
      strings,
    ]);
  }
  const structure = readStructure(original, view, header);
  if (header.structSize === undefined) {
    checkDisjoint([
      memRsv,
      { name: 'structure block', start: header.structOffset, end: header.structOffset + structure.size },
      strings,
    ]);
  }
  const layout: FdtLayout = {
    version: header.version,
    lastCompVersion: header.lastCompVersion,
    totalSize: header.totalSize,
    memRsvOffset: header.memRsvOffset,
    structOffset: header.structOffset,
    structSize: structure.size,
    stringsOffset: header.stringsOffset,
    stringsSize: header.stringsSize,
    reservationCount: reservations.length,
    nameOffsets: structure.nameOffsets,
    nops: Uint32Array.from(structure.nops),
    pads: structure.pads,
    original,
  };
  return { root: structure.root, reservations, bootCpuidPhys: header.bootCpuidPhys, layout };
}

// 5.2: the header, its version, and where the three blocks lie.
function readHeader(bytes: Uint8Array, view: DataView): Header {
  const length = bytes.length;
  if (length < 4) fail('truncated', `blob is ${length} bytes, too short to hold the header`, 0);
  const magic = view.getUint32(0);
  if (magic !== FDT_MAGIC) fail('bad-magic', `bad magic ${hex(magic)} at offset 0x0 (expected ${hex(FDT_MAGIC)})`, 0);
  if (length < HEADER_SIZE_V16)
    fail('truncated', `blob is ${length} bytes, shorter than the header (at least ${HEADER_SIZE_V16} bytes)`, 0);
  const version = view.getUint32(HDR_VERSION);
  if (version < FDT_OLDEST_READ_VERSION || version > FDT_VERSION) {
    throw new FdtError(
      'bad-version',
      `Unsupported FDT version ${version} at offset ${hex(HDR_VERSION)}: vman reads versions 16 and 17`,
      {
        offset: HDR_VERSION,
      },
    );
  }
  const lastCompVersion = view.getUint32(HDR_LAST_COMP_VERSION);
  if (lastCompVersion > version) {
    fail(
      'malformed',
      `last_comp_version ${lastCompVersion} at offset ${hex(HDR_LAST_COMP_VERSION)} is above version ${version}`,
      HDR_LAST_COMP_VERSION,
    );
  }
  const headerSize = version >= FDT_VERSION ? HEADER_SIZE_V17 : HEADER_SIZE_V16;
  if (length < headerSize)
    fail('truncated', `blob is ${length} bytes, shorter than the version ${version} header (${headerSize} bytes)`, 0);
  const totalSize = view.getUint32(HDR_TOTALSIZE);
  if (totalSize < headerSize)
    fail('malformed', `totalsize ${hex(totalSize)} is smaller than the ${hex(headerSize)}-byte header`, HDR_TOTALSIZE);
  if (totalSize > length)
    fail('truncated', `totalsize ${hex(totalSize)} exceeds the ${hex(length)} bytes given`, HDR_TOTALSIZE);
  const header: Header = {
    version,
    lastCompVersion,
    headerSize,
    totalSize,
    structOffset: view.getUint32(HDR_OFF_DT_STRUCT),
    structSize: version >= FDT_VERSION ? view.getUint32(HDR_SIZE_DT_STRUCT) : undefined,
    stringsOffset: view.getUint32(HDR_OFF_DT_STRINGS),
    stringsSize: view.getUint32(HDR_SIZE_DT_STRINGS),
    memRsvOffset: view.getUint32(HDR_OFF_MEM_RSVMAP),
    bootCpuidPhys: view.getUint32(HDR_BOOT_CPUID_PHYS),
  };
  checkBlockStart(header, 'memory reservation block', header.memRsvOffset, RSV_ALIGN, HDR_OFF_MEM_RSVMAP);
  checkBlockStart(header, 'structure block', header.structOffset, TOKEN_ALIGN, HDR_OFF_DT_STRUCT);
  checkBlockStart(header, 'strings block', header.stringsOffset, 1, HDR_OFF_DT_STRINGS);
  if (header.structSize !== undefined && header.structOffset + header.structSize > totalSize) {
    fail(
      'malformed',
      `structure block at ${hex(header.structOffset)} of size ` +
        `${hex(header.structSize)} runs past totalsize ${hex(totalSize)}`,
      HDR_SIZE_DT_STRUCT,
    );
  }
  if (header.stringsOffset + header.stringsSize > totalSize) {
    fail(
      'malformed',
      `strings block at ${hex(header.stringsOffset)} of size ` +
        `${hex(header.stringsSize)} runs past totalsize ${hex(totalSize)}`,
      HDR_SIZE_DT_STRINGS,
    );
  }
  return header;
}

function checkBlockStart(header: Header, name: string, offset: number, align: number, field: number): void {
  if (offset < header.headerSize)
    fail('malformed', `${name} offset ${hex(offset)} lies inside the ${hex(header.headerSize)}-byte header`, field);
  if (offset % align !== 0) fail('malformed', `${name} offset ${hex(offset)} is not ${align}-byte aligned`, field);
  if (offset > header.totalSize)
    fail('malformed', `${name} offset ${hex(offset)} is past totalsize ${hex(header.totalSize)}`, field);
}

// 5.3: (address, size) pairs up to the first entry whose size is 0, as libfdt and dtc read it.
function readReservations(view: DataView, header: Header): { reservations: FdtReservation[]; end: number } {
  const reservations: FdtReservation[] = [];
  for (let p = header.memRsvOffset; ; p += RSV_ENTRY_SIZE) {
    if (p + RSV_ENTRY_SIZE > header.totalSize) {
      fail(
        'malformed',
        `memory reservation block at ${hex(header.memRsvOffset)} has ` +
          `no terminating entry before totalsize ${hex(header.totalSize)}`,
        p,
      );
    }
    const address = view.getBigUint64(p);
    const size = view.getBigUint64(p + 8);
    if (size === 0n) return { reservations, end: p + RSV_ENTRY_SIZE };
    reservations.push({ address, size });
  }
}

function checkDisjoint(blocks: readonly Block[]): void {
  for (let i = 0; i < blocks.length; i++) {
    for (let j = i + 1; j < blocks.length; j++) {
      const a = blocks[i]!;
      const b = blocks[j]!;
      if (a.start < a.end && b.start < b.end && a.start < b.end && b.start < a.end) {
        fail(
          'malformed',
          `the ${a.name} (${hex(a.start)}–${hex(a.end)}) overlaps the ${b.name} (${hex(b.start)}–${hex(b.end)})`,
          Math.max(a.start, b.start),
        );
      }
    }
  }
}

interface Structure {
  readonly root: FdtNode;
  readonly size: number;
  readonly nameOffsets: Uint32Array;
  readonly nops: number[];
  readonly pads: { token: number; bytes: Uint8Array }[];
}

const NO_PROPS: FdtProperty[] = [];
const NO_CHILDREN: FdtNode[] = [];
const PROPS_DONE = -1;

// 5.4: the token stream. Properties come before subnodes; one root; FDT_END last.
// Properties and children gather on shared stacks and are sliced off, exactly sized, when
// their node's list is complete: a large tree then costs few allocations.
function readStructure(bytes: Uint8Array, view: DataView, header: Header): Structure {
  const base = header.structOffset;
  const limit = header.structSize === undefined ? header.totalSize : base + header.structSize;
  const at = (p: number): string => `structure offset ${hex(p - base)}`;
  const names = new PropertyNames(bytes, header, at);
  // At most one property per PROP_HEADER_SIZE bytes of the block.
  const nameOffsets = new Uint32Array(Math.floor((limit - base) / PROP_HEADER_SIZE) + 1);
  const nops: number[] = [];
  const pads: { token: number; bytes: Uint8Array }[] = [];
  const open: FdtNode[] = [];
  const propStart: number[] = [];
  const childStart: number[] = [];
  const props: FdtProperty[] = [];
  const children: FdtNode[] = [];
  let propCount = 0;
  let root: FdtNode | undefined;
  let token = 0;
  let p = base;

  for (;;) {
    if (p + 4 > limit) fail('malformed', `structure block ends at ${at(p)} without an FDT_END token`, p);
    const tag = view.getUint32(p);
    if (tag === FDT_PROP) {
      const top = open.length - 1;
      if (top < 0) fail('malformed', `property at ${at(p)} lies outside any node`, p);
      if (p + PROP_HEADER_SIZE > limit)
        fail('malformed', `property at ${at(p)} is cut off by the end of the structure block`, p);
      const length = view.getUint32(p + 4);
      const nameOffset = view.getUint32(p + 8);
      const start = p + PROP_HEADER_SIZE;
      const end = start + length;
      if (end > limit)
        fail('malformed', `property at ${at(p)} has length ${hex(length)}, running past the structure block's end`, p);
      if (propStart[top] === PROPS_DONE)
        fail('malformed', `property at ${at(p)} follows a subnode of node "${open[top]!.name}"`, p);
      props.push({ name: names.get(nameOffset, p), value: bytes.subarray(start, end) });
      nameOffsets[propCount++] = nameOffset;
      const next = alignUp(end, TOKEN_ALIGN);
      if (next > limit)
        fail('malformed', `property at ${at(p)} has its padding cut off by the end of the structure block`, p);
      if (next !== end && !isZero(bytes, end, next)) pads.push({ token, bytes: bytes.slice(end, next) });
      token++;
      p = next;
    } else if (tag === FDT_BEGIN_NODE) {
      const top = open.length - 1;
      if (top < 0 && root !== undefined) fail('malformed', `second root node at ${at(p)}`, p);
      if (open.length >= MAX_DEPTH) fail('malformed', `nodes nest deeper than ${MAX_DEPTH} levels at ${at(p)}`, p);
      const nul = bytes.indexOf(0, p + 4);
      if (nul < 0 || nul >= limit)
        fail('malformed', `node name at ${at(p)} is not NUL-terminated inside the structure block`, p);
      const next = alignUp(nul + 1, TOKEN_ALIGN);
      if (next > limit)
        fail('malformed', `node name at ${at(p)} has its padding cut off by the end of the structure block`, p);
      if (next !== nul + 1 && !isZero(bytes, nul + 1, next)) pads.push({ token, bytes: bytes.slice(nul + 1, next) });
      if (top >= 0 && propStart[top] !== PROPS_DONE) {
        open[top]!.props = cut(props, propStart[top]!);
        propStart[top] = PROPS_DONE;
      }
      const node: FdtNode = { name: bytesToName(bytes, p + 4, nul), props: NO_PROPS, children: NO_CHILDREN };
      if (top < 0) root = node;
      open.push(node);
      propStart.push(props.length);
      childStart.push(children.length);
      token++;
      p = next;
    } else if (tag === FDT_END_NODE) {
      const node = open.pop();
      if (node === undefined) fail('malformed', `FDT_END_NODE at ${at(p)} closes no node`, p);
      const firstProp = propStart.pop()!;
      node.props = firstProp === PROPS_DONE ? node.props : cut(props, firstProp);
      node.children = cut(children, childStart.pop()!);
      if (open.length > 0) children.push(node);
      token++;
      p += 4;
    } else if (tag === FDT_NOP) {
      nops.push(token);
      p += 4;
    } else if (tag === FDT_END) {
      if (open.length > 0)
        fail('malformed', `FDT_END at ${at(p)} leaves ${open.length} node(s) open (unbalanced FDT_BEGIN_NODE)`, p);
      if (root === undefined) fail('malformed', `structure block has no root node (FDT_END at ${at(p)})`, p);
      if (header.structSize !== undefined && p + 4 !== limit) {
        fail(
          'malformed',
          `${limit - p - 4} bytes follow FDT_END at ${at(p)} inside the ` +
            `structure block (size_dt_struct ${hex(header.structSize)})`,
          p + 4,
        );
      }
      return { root, size: p + 4 - base, nameOffsets: nameOffsets.slice(0, propCount), nops, pads };
    } else {
      fail('malformed', `unknown token ${hex(tag)} at ${at(p)}`, p);
    }
  }
}

/** Removes and returns the items of `stack` from `start` on (slice is the fast path; splice is not). */
function cut<T>(stack: T[], start: number): T[] {
  const items = stack.slice(start);
  stack.length = start;
  return items;
}

function isZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

// 5.5: property names by strings-block offset. The block is decoded once and names are slices
// of it; NUL positions are found once, so many distinct offsets cost no more than one pass.
class PropertyNames {
  private readonly cache = new Map<number, string>();
  private block: string | undefined;
  private nuls: number[] = [];

  constructor(
    private readonly bytes: Uint8Array,
    private readonly header: Header,
    private readonly at: (p: number) => string,
  ) {}

  /** The name at `offset`, for the property at blob offset `prop`. */
  get(offset: number, prop: number): string {
    return this.cache.get(offset) ?? this.read(offset, prop);
  }

  private read(offset: number, prop: number): string {
    const { stringsOffset: start, stringsSize: size } = this.header;
    if (offset >= size) {
      fail(
        'malformed',
        `property at ${this.at(prop)} names string offset ${hex(offset)} outside the strings block (size ${hex(size)})`,
        prop + 8,
      );
    }
    if (this.block === undefined) {
      this.block = bytesToName(this.bytes, start, start + size);
      for (let i = this.bytes.indexOf(0, start); i >= 0 && i < start + size; i = this.bytes.indexOf(0, i + 1))
        this.nuls.push(i - start);
    }
    const nul = firstAtOrAfter(this.nuls, offset);
    if (nul === undefined) {
      fail(
        'malformed',
        `property at ${this.at(prop)} names string offset ${hex(offset)}, ` +
          'which is not NUL-terminated inside the strings block',
        prop + 8,
      );
    }
    const name = this.block.slice(offset, nul);
    this.cache.set(offset, name);
    return name;
  }
}

function firstAtOrAfter(sorted: readonly number[], value: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}
