import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bytes,
  cells,
  cellSizes,
  createFdt,
  decodeFdt,
  decodeReg,
  empty,
  encodeFdt,
  encodeReg,
  FdtError,
  getCells,
  getReg,
  getString,
  getStrings,
  getU32,
  getU64,
  node,
  phandleRef,
  reg,
  str,
  strs,
  u32,
  u64,
  type FdtProperty,
} from '../../src/fdt/index.js';
import { compileDts } from './support.js';

function hexOf(p: FdtProperty): string {
  return [...p.value].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function rejects(run: () => unknown, message: string): void {
  try {
    run();
  } catch (e) {
    assert.instance(e, FdtError);
    assert.is((e as FdtError).code, 'bad-value');
    assert.is((e as FdtError).message, message);
    return;
  }
  assert.unreachable('accepted a bad value');
}

test('builders encode as dtc compiles the same DTS', () => {
  const root = node('', [
    u32('a', 0x12345678),
    u64('b', 0x1_0000_0002n),
    cells('c', 1, 0xffffffff, 3n),
    str('d', 'héllo'),
    strs('e', 'x', '', 'yz'),
    empty('f'),
    bytes('g', [0xde, 0xad]),
    phandleRef('h', 7, 1, 2),
  ]);
  const dts =
    '/dts-v1/;\n/ { a = <0x12345678>; b = /bits/ 64 <0x100000002>; c = <1 0xffffffff 3>; d = "héllo"; e = "x", "", ' +
    '"yz"; f; g = [de ad]; h = <7 1 2>; };\n';
  assert.equal(decodeFdt(encodeFdt(createFdt(root))).root, decodeFdt(compileDts(dts)).root);
  assert.is(hexOf(u64('b', 5)), '00 00 00 00 00 00 00 05');
});

test('builders refuse what does not fit', () => {
  rejects(() => u32('a', 2 ** 32), 'Cannot encode property "a": 4294967296 is not a 32-bit cell (0 to 2 ** 32 - 1)');
  rejects(() => u32('a', -1), 'Cannot encode property "a": -1 is not a 32-bit cell (0 to 2 ** 32 - 1)');
  rejects(() => cells('c', 1, 1.5), 'Cannot encode property "c": 1.5 is not a 32-bit cell (0 to 2 ** 32 - 1)');
  rejects(
    () => cells('c', 1n << 32n),
    'Cannot encode property "c": 4294967296 is not a 32-bit cell (0 to 2 ** 32 - 1)',
  );
  rejects(() => u64('b', 1n << 64n), 'Cannot encode property "b": 0x10000000000000000 does not fit in 2 cell(s)');
  rejects(
    () => u64('b', 2 ** 60),
    'Cannot encode property "b": 1152921504606847000 is not an integer up to 2 ** 53 - 1 (pass a bigint)',
  );
  rejects(() => u64('b', -1), 'Cannot encode property "b": -1 is negative');
  rejects(() => strs('s', 'a\0b'), 'Cannot encode property "s": string "a\\u0000b" contains a NUL');
  rejects(() => bytes('g', [256]), 'Cannot encode property "g": every byte must be an integer from 0 to 255');
  rejects(() => phandleRef('h', 0), 'Cannot encode property "h": 0 is not a phandle (1 to 0xfffffffe)');
  rejects(
    () => phandleRef('h', 0xffffffff),
    'Cannot encode property "h": 4294967295 is not a phandle (1 to 0xfffffffe)',
  );
});

test('readers: absent is undefined, misshapen is an error', () => {
  const n = node('dev@0', [
    u32('one', 9),
    u64('two', 0x1_0000_0001n),
    cells('many', 1, 2, 3),
    strs('list', 'a', 'b'),
    str('s', 'x'),
    bytes('odd', [1, 2, 3]),
    bytes('latin', [0xe9, 0]),
  ]);
  assert.is(getU32(n, 'one'), 9);
  assert.is(getU64(n, 'two'), 0x1_0000_0001n);
  assert.equal(getCells(n, 'many'), [1, 2, 3]);
  assert.equal(getStrings(n, 'list'), ['a', 'b']);
  assert.is(getString(n, 's'), 'x');
  assert.is(getU32(n, 'nope'), undefined);
  assert.is(getString(n, 'nope'), undefined);
  rejects(() => getU32(n, 'many'), 'Property "many" of node "dev@0" is 12 bytes, not one 32-bit cell');
  rejects(() => getU64(n, 'one'), 'Property "one" of node "dev@0" is 4 bytes, not two 32-bit cells');
  rejects(() => getCells(n, 'odd'), 'Property "odd" of node "dev@0" is 3 bytes, not a whole number of 32-bit cells');
  rejects(() => getString(n, 'list'), 'Property "list" of node "dev@0" holds 2 strings, not one');
  rejects(() => getStrings(n, 'odd'), 'Property "odd" of node "dev@0" is 3 bytes, not NUL-terminated strings');
  rejects(() => getString(n, 'latin'), 'Property "latin" of node "dev@0" is not UTF-8 text');
});

test('reg in the parent cell sizes, with the defaults 2 and 1', () => {
  const cpus = node('cpus', [u32('#address-cells', 1), u32('#size-cells', 0)]);
  const soc = node('soc', [u32('#address-cells', 2), u32('#size-cells', 2)]);
  const bare = node('bus');
  assert.equal(cellSizes(bare), { addressCells: 2, sizeCells: 1 });
  assert.is(hexOf(reg(cpus, { address: 0x101n, size: 0n })), '00 00 01 01');
  assert.is(
    hexOf(reg(soc, { address: 0x8_0000_0000n, size: 0x1000n })),
    '00 00 00 08 00 00 00 00 00 00 00 00 00 00 10 00',
  );
  assert.is(
    hexOf(reg(bare, { address: 1n, size: 2n }, { address: 3n, size: 4n })),
    '00 00 00 00 00 00 00 01 00 00 00 02 00 00 00 00 00 00 00 03 00 00 00 04',
  );
  const dev = node('dev', [reg(soc, { address: 0x4000_0000n, size: 0x2_0000_0000n })]);
  assert.equal(getReg(soc, dev), [{ address: 0x4000_0000n, size: 0x2_0000_0000n }]);
  assert.is(getReg(soc, node('none')), undefined);
  rejects(
    () => reg(cpus, { address: 1n << 32n, size: 0n }),
    'Cannot encode reg entry 0 address: 0x100000000 does not fit in 1 cell(s)',
  );
  rejects(() => reg(cpus, { address: 1n, size: 1n }), 'Cannot encode reg entry 0: size 0x1 with #size-cells 0');
  rejects(
    () => decodeReg({ addressCells: 2, sizeCells: 1 }, new Uint8Array(8)),
    'reg of 8 bytes is not a whole number of (2 + 1)-cell entries',
  );
  assert.equal(
    decodeReg(
      { addressCells: 1, sizeCells: 1 },
      encodeReg({ addressCells: 1, sizeCells: 1 }, [{ address: 5n, size: 6n }]),
    ),
    [{ address: 5n, size: 6n }],
  );
});

test.run();
