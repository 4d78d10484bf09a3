// Typed property values: builders that encode (cells are big-endian 32-bit words, strings are
// NUL-terminated UTF-8), readers that decode, and `reg` in the parent's cell sizes
// (Devicetree Specification v0.4, 2.2.4 and 2.3.5).
import { FdtError } from './errors.js';
import type { FdtNode, FdtProperty } from './types.js';

const CELL = 4;
const U32_MAX = 0xffffffff;
const CELL_BITS = 32n;
const CELL_MASK = 0xffffffffn;
/** 2.3.5: what a client assumes when a parent has no #address-cells / #size-cells. */
export const DEFAULT_ADDRESS_CELLS = 2;
export const DEFAULT_SIZE_CELLS = 1;
/** 2.3.3: 0 and 0xffffffff are not phandles. */
const PHANDLE_INVALID = 0xffffffff;

const utf8 = new TextEncoder();
/** Strings whose UTF-8 bytes are their UTF-16 code units (NUL is refused before this is asked). */
// eslint-disable-next-line no-control-regex -- the ASCII range starts at the control character U+0001 by design
const ASCII = /^[\x01-\x7f]*$/;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** One `reg` entry: an address and a size (0 when the parent's #size-cells is 0). */
export interface RegEntry {
  address: bigint;
  size: bigint;
}

/** A parent's #address-cells and #size-cells, as its children's `reg` uses them. */
export interface CellSizes {
  addressCells: number;
  sizeCells: number;
}

function cellValue(name: string, value: number | bigint): number {
  const n = typeof value === 'bigint' ? (value >= 0n && value <= CELL_MASK ? Number(value) : -1) : value;
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) {
    throw new FdtError(
      'bad-value',
      `Cannot encode property "${name}": ${String(value)} is not a 32-bit cell (0 to 2 ** 32 - 1)`,
    );
  }
  return n;
}

/** Big-endian 32-bit cells, written byte by byte (a DataView per property cost more than the bytes). */
function cellBytes(name: string, values: readonly (number | bigint)[]): Uint8Array {
  const out = new Uint8Array(values.length * CELL);
  for (let i = 0; i < values.length; i++) {
    const n = cellValue(name, values[i]!);
    const o = i * CELL;
    out[o] = n >>> 24;
    out[o + 1] = n >>> 16;
    out[o + 2] = n >>> 8;
    out[o + 3] = n;
  }
  return out;
}

/** `value` split into `count` cells, most significant first; throws when it does not fit. */
function wideCells(what: string, value: bigint, count: number): bigint[] {
  if (value < 0n) throw new FdtError('bad-value', `Cannot encode ${what}: ${value} is negative`);
  if (value >> (CELL_BITS * BigInt(count)) !== 0n) {
    throw new FdtError('bad-value', `Cannot encode ${what}: 0x${value.toString(16)} does not fit in ${count} cell(s)`);
  }
  const cells: bigint[] = [];
  for (let i = count - 1; i >= 0; i--) cells.push((value >> (CELL_BITS * BigInt(i))) & CELL_MASK);
  return cells;
}

/** A property holding one 32-bit cell: `<value>`. */
export function u32(name: string, value: number | bigint): FdtProperty {
  return { name, value: cellBytes(name, [value]) };
}

/** A property holding one 64-bit value as two cells, high first: `/bits/ 64 <value>`. */
export function u64(name: string, value: number | bigint): FdtProperty {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new FdtError(
      'bad-value',
      `Cannot encode property "${name}": ${value} is not an integer up to 2 ** 53 - 1 (pass a bigint)`,
    );
  }
  return { name, value: cellBytes(name, wideCells(`property "${name}"`, BigInt(value), 2)) };
}

/** A property holding one 32-bit cell per value: `<a b c>`. */
export function cells(name: string, ...values: readonly (number | bigint)[]): FdtProperty {
  return { name, value: cellBytes(name, values) };
}

/** A property holding one NUL-terminated UTF-8 string. */
export function str(name: string, value: string): FdtProperty {
  return strs(name, value);
}

/** A string-list property (`compatible = "a", "b"`): each string NUL-terminated. */
export function strs(name: string, ...values: readonly string[]): FdtProperty {
  let size = 0;
  let ascii = true;
  for (const v of values) {
    if (v.includes('\0'))
      throw new FdtError('bad-value', `Cannot encode property "${name}": string ${JSON.stringify(v)} contains a NUL`);
    size += v.length + 1;
    if (ascii && !ASCII.test(v)) ascii = false;
  }
  // Device tree strings are nearly always ASCII: their bytes are their char codes, no encoder call.
  if (ascii) {
    const out = new Uint8Array(size);
    let p = 0;
    for (const v of values) {
      for (let i = 0; i < v.length; i++) out[p++] = v.charCodeAt(i);
      p++;
    }
    return { name, value: out };
  }
  const parts = values.map((v) => utf8.encode(v));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length + 1;
  }
  return { name, value: out };
}

/** An empty property, true by its presence (`dma-coherent;`). */
export function empty(name: string): FdtProperty {
  return { name, value: new Uint8Array(0) };
}

/** A property holding raw bytes (copied): `[01 02]`. */
export function bytes(name: string, data: Uint8Array | readonly number[]): FdtProperty {
  if (!(data instanceof Uint8Array) && data.some((b) => !Number.isInteger(b) || b < 0 || b > 0xff)) {
    throw new FdtError('bad-value', `Cannot encode property "${name}": every byte must be an integer from 0 to 255`);
  }
  return { name, value: Uint8Array.from(data) };
}

/** A reference to a node by phandle, then its specifier cells: `<&intc 0 5 4>`. */
export function phandleRef(name: string, phandle: number, ...specifier: readonly (number | bigint)[]): FdtProperty {
  if (!Number.isInteger(phandle) || phandle <= 0 || phandle >= PHANDLE_INVALID) {
    throw new FdtError('bad-value', `Cannot encode property "${name}": ${phandle} is not a phandle (1 to 0xfffffffe)`);
  }
  return cells(name, phandle, ...specifier);
}

/** The property called `name`, if the node has it. */
export function getProp(node: FdtNode, name: string): FdtProperty | undefined {
  return node.props.find((p) => p.name === name);
}

function misshapen(node: FdtNode, prop: FdtProperty, expected: string): FdtError {
  return new FdtError(
    'bad-value',
    `Property "${prop.name}" of node "${node.name || '/'}" is ${prop.value.length} bytes, not ${expected}`,
  );
}

function view(value: Uint8Array): DataView {
  return new DataView(value.buffer, value.byteOffset, value.byteLength);
}

/** A one-cell property's value; undefined when absent; FdtError when not 4 bytes. */
export function getU32(node: FdtNode, name: string): number | undefined {
  const prop = getProp(node, name);
  if (prop === undefined) return undefined;
  if (prop.value.length !== CELL) throw misshapen(node, prop, 'one 32-bit cell');
  return view(prop.value).getUint32(0);
}

/** A two-cell property's value (high cell first); undefined when absent; FdtError when not 8 bytes. */
export function getU64(node: FdtNode, name: string): bigint | undefined {
  const prop = getProp(node, name);
  if (prop === undefined) return undefined;
  if (prop.value.length !== 2 * CELL) throw misshapen(node, prop, 'two 32-bit cells');
  return view(prop.value).getBigUint64(0);
}

/** A property's 32-bit cells; undefined when absent; FdtError when its length is not a multiple of 4. */
export function getCells(node: FdtNode, name: string): number[] | undefined {
  const prop = getProp(node, name);
  if (prop === undefined) return undefined;
  if (prop.value.length % CELL !== 0) throw misshapen(node, prop, 'a whole number of 32-bit cells');
  const v = view(prop.value);
  const out: number[] = [];
  for (let i = 0; i < prop.value.length; i += CELL) out.push(v.getUint32(i));
  return out;
}

/** A string-list property's strings; undefined when absent; FdtError when not NUL-terminated UTF-8. */
export function getStrings(node: FdtNode, name: string): string[] | undefined {
  const prop = getProp(node, name);
  if (prop === undefined) return undefined;
  const value = prop.value;
  if (value.length === 0 || value[value.length - 1] !== 0) throw misshapen(node, prop, 'NUL-terminated strings');
  let text: string;
  try {
    text = utf8Strict.decode(value.subarray(0, value.length - 1));
  } catch (cause) {
    throw new FdtError('bad-value', `Property "${prop.name}" of node "${node.name || '/'}" is not UTF-8 text`, {
      cause,
    });
  }
  return text.split('\0');
}

/** A single-string property's string; undefined when absent; FdtError when it is not exactly one string. */
export function getString(node: FdtNode, name: string): string | undefined {
  const list = getStrings(node, name);
  if (list === undefined) return undefined;
  if (list.length !== 1)
    throw new FdtError(
      'bad-value',
      `Property "${name}" of node "${node.name || '/'}" holds ${list.length} strings, not one`,
    );
  return list[0];
}

/** The #address-cells and #size-cells that `parent` gives its children (defaults 2 and 1). */
export function cellSizes(parent: FdtNode): CellSizes {
  return {
    addressCells: getU32(parent, '#address-cells') ?? DEFAULT_ADDRESS_CELLS,
    sizeCells: getU32(parent, '#size-cells') ?? DEFAULT_SIZE_CELLS,
  };
}

/** `reg` bytes for entries in the given cell sizes. */
export function encodeReg(sizes: CellSizes, entries: readonly RegEntry[]): Uint8Array {
  const words: bigint[] = [];
  entries.forEach((e, i) => {
    words.push(...wideCells(`reg entry ${i} address`, e.address, sizes.addressCells));
    if (sizes.sizeCells === 0 && e.size !== 0n) {
      throw new FdtError('bad-value', `Cannot encode reg entry ${i}: size 0x${e.size.toString(16)} with #size-cells 0`);
    }
    words.push(...wideCells(`reg entry ${i} size`, e.size, sizes.sizeCells));
  });
  return cellBytes('reg', words);
}

/** `reg` entries decoded in the given cell sizes; FdtError when the length does not divide. */
export function decodeReg(sizes: CellSizes, value: Uint8Array): RegEntry[] {
  const perEntry = (sizes.addressCells + sizes.sizeCells) * CELL;
  if (perEntry === 0 && value.length === 0) return [];
  if (perEntry === 0 || value.length % perEntry !== 0) {
    throw new FdtError(
      'bad-value',
      `reg of ${value.length} bytes is not a whole number of (${sizes.addressCells} + ${sizes.sizeCells})-cell entries`,
    );
  }
  const v = view(value);
  const read = (offset: number, count: number): bigint => {
    let n = 0n;
    for (let i = 0; i < count; i++) n = (n << CELL_BITS) | BigInt(v.getUint32(offset + i * CELL));
    return n;
  };
  const out: RegEntry[] = [];
  for (let p = 0; p < value.length; p += perEntry) {
    out.push({ address: read(p, sizes.addressCells), size: read(p + sizes.addressCells * CELL, sizes.sizeCells) });
  }
  return out;
}

/** A `reg` property for a child of `parent`, in the parent's cell sizes. */
export function reg(parent: FdtNode, ...entries: readonly RegEntry[]): FdtProperty {
  return { name: 'reg', value: encodeReg(cellSizes(parent), entries) };
}

/** The `reg` entries of `node`, a child of `parent`; undefined when it has no `reg`. */
export function getReg(parent: FdtNode, node: FdtNode): RegEntry[] | undefined {
  const prop = getProp(node, 'reg');
  return prop === undefined ? undefined : decodeReg(cellSizes(parent), prop.value);
}
