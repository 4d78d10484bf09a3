import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeFdt, encodeFdt, FdtError, type Fdt } from '../../src/fdt/index.js';
import {
  FDT_BEGIN_NODE as BEGIN,
  FDT_END as END,
  FDT_END_NODE as END_NODE,
  FDT_NOP as NOP,
  FDT_PROP as PROP,
} from '../../src/fdt/format.js';
import { assemble, compileDts } from './support.js';

/** The structure block of an assemble()d blob without reservations starts here. */
const STRUCT = 0x38;

/** Asserts that decoding throws an FdtError with this code, message and blob offset. */
function rejects(blob: Uint8Array, code: string, message: string, offset: number): void {
  try {
    decodeFdt(blob);
  } catch (e) {
    assert.instance(e, FdtError);
    const err = e as FdtError;
    assert.is(err.message, message);
    assert.is(err.code, code);
    assert.is(err.offset, offset);
    return;
  }
  assert.unreachable('decodeFdt accepted a malformed blob');
}

function setWord(blob: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = blob.slice();
  new DataView(copy.buffer).setUint32(offset, value);
  return copy;
}

const tiny = assemble([BEGIN, '', PROP, 4, 0, 1, BEGIN, 'a@1', PROP, 0, 5, END_NODE, END_NODE, END], 'cells\0flag\0');

test('decodes a hand-made blob: names, values, order, reservations', () => {
  const fdt = decodeFdt(
    assemble(
      [BEGIN, '', PROP, 4, 0, new Uint8Array([0, 0, 0, 2]), BEGIN, 'a@1', PROP, 0, 6, END_NODE, END_NODE, END],
      'cells\0flag\0',
      [[0x1000n, 0x2000n]],
    ),
  );
  assert.is(fdt.root.name, '');
  assert.equal(
    fdt.root.props.map((p) => [p.name, [...p.value]]),
    [['cells', [0, 0, 0, 2]]],
  );
  assert.equal(
    fdt.root.children.map((c) => c.name),
    ['a@1'],
  );
  assert.equal(
    fdt.root.children[0]!.props.map((p) => [p.name, p.value.length]),
    [['flag', 0]],
  );
  assert.equal(fdt.reservations, [{ address: 0x1000n, size: 0x2000n }]);
  assert.is(fdt.bootCpuidPhys, 0);
});

test('values are plain Uint8Arrays, copied from the input (a Buffer too)', () => {
  const input = Buffer.from(tiny);
  const fdt = decodeFdt(input);
  const value = fdt.root.props[0]!.value;
  assert.is(value.constructor, Uint8Array);
  input.fill(0xee);
  assert.equal([...value], [0, 0, 0, 1]);
});

test('bad magic', () => {
  rejects(
    setWord(tiny, 0, 0x12345678),
    'bad-magic',
    'Malformed FDT: bad magic 0x12345678 at offset 0x0 (expected 0xd00dfeed)',
    0,
  );
});

test('versions other than 16 and 17 are refused', () => {
  rejects(
    setWord(tiny, 0x14, 18),
    'bad-version',
    'Unsupported FDT version 18 at offset 0x14: vman reads versions 16 and 17',
    0x14,
  );
  rejects(
    setWord(tiny, 0x14, 2),
    'bad-version',
    'Unsupported FDT version 2 at offset 0x14: vman reads versions 16 and 17',
    0x14,
  );
});

test('truncated blobs', () => {
  rejects(tiny.subarray(0, 3), 'truncated', 'Malformed FDT: blob is 3 bytes, too short to hold the header', 0);
  rejects(
    tiny.subarray(0, 20),
    'truncated',
    'Malformed FDT: blob is 20 bytes, shorter than the header (at least 36 bytes)',
    0,
  );
  rejects(
    tiny.subarray(0, 0x50),
    'truncated',
    `Malformed FDT: totalsize 0x${tiny.length.toString(16)} exceeds the 0x50 bytes given`,
    4,
  );
});

test('a property naming a string outside the strings block', () => {
  // The property's nameoff word is 8 bytes into its token, after BEGIN_NODE and the empty root name.
  rejects(
    setWord(tiny, STRUCT + 16, 0x9000),
    'malformed',
    'Malformed FDT: property at structure offset 0x8 names string offset 0x9000 outside the strings block (size 0xb)',
    STRUCT + 16,
  );
});

test('a property name that is not NUL-terminated inside the strings block', () => {
  const blob = assemble([BEGIN, '', PROP, 0, 2, END_NODE, END], 'abcd');
  rejects(
    blob,
    'malformed',
    'Malformed FDT: property at structure offset 0x8 names string offset 0x2, which is not NUL-terminated inside ' +
      'the strings block',
    STRUCT + 16,
  );
});

test('a node name that is not terminated inside the structure block', () => {
  const blob = assemble([BEGIN, new TextEncoder().encode('abcd')], 'x\0');
  rejects(
    blob,
    'malformed',
    'Malformed FDT: node name at structure offset 0x0 is not NUL-terminated inside the structure block',
    STRUCT,
  );
});

test('unbalanced nodes, stray tokens and data after FDT_END', () => {
  rejects(
    assemble([BEGIN, '', END]),
    'malformed',
    'Malformed FDT: FDT_END at structure offset 0x8 leaves 1 node(s) open (unbalanced FDT_BEGIN_NODE)',
    STRUCT + 8,
  );
  rejects(
    assemble([BEGIN, '', END_NODE, END_NODE, END]),
    'malformed',
    'Malformed FDT: FDT_END_NODE at structure offset 0xc closes no node',
    STRUCT + 12,
  );
  rejects(
    assemble([END]),
    'malformed',
    'Malformed FDT: structure block has no root node (FDT_END at structure offset 0x0)',
    STRUCT,
  );
  rejects(
    assemble([BEGIN, '', END_NODE, BEGIN, '', END_NODE, END]),
    'malformed',
    'Malformed FDT: second root node at structure offset 0xc',
    STRUCT + 12,
  );
  rejects(
    assemble([PROP, 0, 0, END]),
    'malformed',
    'Malformed FDT: property at structure offset 0x0 lies outside any node',
    STRUCT,
  );
  rejects(
    assemble([BEGIN, '', 7, END_NODE, END]),
    'malformed',
    'Malformed FDT: unknown token 0x7 at structure offset 0x8',
    STRUCT + 8,
  );
  rejects(
    assemble([BEGIN, '', END_NODE, END, 0]),
    'malformed',
    'Malformed FDT: 4 bytes follow FDT_END at structure offset 0xc inside the structure block (size_dt_struct 0x14)',
    STRUCT + 16,
  );
  rejects(
    assemble([BEGIN, '', END_NODE]),
    'malformed',
    'Malformed FDT: structure block ends at structure offset 0xc without an FDT_END token',
    STRUCT + 12,
  );
});

test('properties must come before subnodes', () => {
  const blob = assemble([BEGIN, 'top', BEGIN, 'a', END_NODE, PROP, 0, 0, END_NODE, END], 'x\0');
  rejects(
    blob,
    'malformed',
    'Malformed FDT: property at structure offset 0x14 follows a subnode of node "top"',
    STRUCT + 0x14,
  );
});

test('a property whose length runs past the structure block', () => {
  const blob = assemble([BEGIN, '', PROP, 0x1000, 0, END_NODE, END], 'x\0');
  rejects(
    blob,
    'malformed',
    "Malformed FDT: property at structure offset 0x8 has length 0x1000, running past the structure block's end",
    STRUCT + 8,
  );
});

test('nesting deeper than 1024 levels is refused, without recursion', () => {
  const depth = 2000;
  const pieces = [
    ...Array.from({ length: depth }, () => [BEGIN, 'n']).flat(),
    ...Array.from({ length: depth }, () => END_NODE),
    END,
  ];
  const blob = assemble(pieces);
  rejects(
    blob,
    'malformed',
    `Malformed FDT: nodes nest deeper than 1024 levels at structure offset 0x${(1024 * 8).toString(16)}`,
    STRUCT + 1024 * 8,
  );
  // 1024 levels are fine.
  const ok = assemble([
    ...Array.from({ length: 1024 }, () => [BEGIN, 'n']).flat(),
    ...Array.from({ length: 1024 }, () => END_NODE),
    END,
  ]);
  let n = decodeFdt(ok).root;
  let levels = 1;
  while (n.children[0] !== undefined) {
    n = n.children[0];
    levels++;
  }
  assert.is(levels, 1024);
});

test('block offsets: inside the header, misaligned, past totalsize, overlapping', () => {
  rejects(
    setWord(tiny, 0x10, 0x20),
    'malformed',
    'Malformed FDT: memory reservation block offset 0x20 lies inside the 0x28-byte header',
    0x10,
  );
  rejects(
    setWord(tiny, 0x10, 0x2c),
    'malformed',
    'Malformed FDT: memory reservation block offset 0x2c is not 8-byte aligned',
    0x10,
  );
  rejects(
    setWord(tiny, 0x08, 0x3a),
    'malformed',
    'Malformed FDT: structure block offset 0x3a is not 4-byte aligned',
    0x08,
  );
  rejects(
    setWord(tiny, 0x24, 0x1000),
    'malformed',
    `Malformed FDT: structure block at 0x38 of size 0x1000 runs past totalsize 0x${tiny.length.toString(16)}`,
    0x24,
  );
  rejects(
    setWord(tiny, 0x0c, 0x40),
    'malformed',
    'Malformed FDT: the structure block (0x38–0x70) overlaps the strings block (0x40–0x4b)',
    0x40,
  );
  const last = Math.floor((tiny.length - 8) / 8) * 8;
  rejects(
    setWord(tiny, 0x10, last),
    'malformed',
    `Malformed FDT: memory reservation block at 0x${last.toString(16)} has no terminating entry before totalsize ` +
      `0x${tiny.length.toString(16)}`,
    last,
  );
});

test('FDT_NOP anywhere is skipped and kept for re-encoding', () => {
  const blob = assemble(
    [NOP, BEGIN, '', NOP, NOP, PROP, 4, 0, 1, NOP, BEGIN, 'a', END_NODE, NOP, END_NODE, NOP, END],
    'cells\0',
  );
  const fdt = decodeFdt(blob);
  assert.equal(
    fdt.root.props.map((p) => p.name),
    ['cells'],
  );
  assert.equal(
    fdt.root.children.map((c) => c.name),
    ['a'],
  );
  assert.equal([...fdt.layout!.nops], [0, 1, 1, 2, 4, 5]);
  assert.equal(encodeFdt(fdt), blob);
});

test('non-zero alignment padding survives a round trip', () => {
  const blob = assemble([BEGIN, '', PROP, 1, 0, new Uint8Array([7, 0xaa, 0xbb, 0xcc]), END_NODE, END], 'b\0');
  const fdt = decodeFdt(blob);
  assert.equal([...fdt.root.props[0]!.value], [7]);
  assert.equal(encodeFdt(fdt), blob);
});

test('bytes past totalsize are kept, as QEMU dumps whole buffers', () => {
  const blob = new Uint8Array(tiny.length + 64);
  blob.set(tiny);
  blob.set([1, 2, 3], tiny.length + 10);
  const fdt = decodeFdt(blob);
  assert.is(fdt.layout!.totalSize, tiny.length);
  assert.equal(encodeFdt(fdt), blob);
});

test('version 16 blobs from dtc -V 16', () => {
  const blob = compileDts('/dts-v1/;\n/ { a = <1>; b { c = "d"; }; };\n', ['-V', '16']);
  const fdt = decodeFdt(blob);
  assert.is(fdt.layout!.version, 16);
  assert.is(fdt.layout!.structOffset, 0x38);
  assert.equal(fdt.root.children[0]!.props[0]!.value, new TextEncoder().encode('d\0'));
  assert.equal(encodeFdt(fdt), blob);
});

test('names are kept byte for byte, whatever their bytes', () => {
  const blob = assemble(
    [BEGIN, '', BEGIN, new Uint8Array([0xe9, 0x80, 0x41, 0]), PROP, 0, 0, END_NODE, END_NODE, END],
    '\xff\0',
  );
  const fdt: Fdt = decodeFdt(blob);
  assert.is(fdt.root.children[0]!.name, '\u00e9\u0080A');
  assert.equal(encodeFdt(fdt), blob);
});

test.run();
