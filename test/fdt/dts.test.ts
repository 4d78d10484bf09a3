import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { bytes, cells, createFdt, decodeFdt, empty, node, str, strs, toDts, u32, type Fdt } from '../../src/fdt/index.js';
import { bare, compileDts, corpus, decompile, fdtArb, warnings } from './support.js';

const blobs = corpus();

/** dtc 1.6.1 prints a string list as one string with `\0` inside; newer dtc (and vman) as `"a", "b"`. */
function asDtc161(dts: string): string {
  return dts.replaceAll('", "', '\\0');
}

/** Compiles toDts output with dtc, giving it the boot CPU that DTS cannot state. */
function recompile(fdt: Fdt): Fdt {
  return decodeFdt(compileDts(toDts(fdt), ['-b', String(fdt.bootCpuidPhys)]));
}

test('prints exactly what dtc -O dts prints, for the whole corpus', () => {
  for (const { name, blob } of blobs) {
    assert.fixture(asDtc161(toDts(decodeFdt(blob))), decompile(blob), name);
  }
});

test('dtc compiles the DTS back to the same tree, for the whole corpus', () => {
  for (const { name, blob } of blobs) {
    const fdt = decodeFdt(blob);
    assert.equal(bare(recompile(fdt)), bare(fdt), name);
  }
});

test('the DTS draws exactly the warnings the tree itself draws, none for clean trees', () => {
  let clean = 0;
  for (const { name, blob } of blobs) {
    const own = warnings(blob, 'dtb');
    assert.equal(warnings(toDts(decodeFdt(blob)), 'dts'), own, name);
    if (own.length === 0) clean++;
  }
  assert.ok(clean >= 10, `${clean} clean trees in the corpus`);
});

test('values: strings, lists, escapes, cells, bytes, empty; reservations; nesting', () => {
  const fdt: Fdt = {
    root: node(
      '',
      [str('model', 'a "quoted" \\ tab\there\n'), strs('compatible', 'x,y', 'z'), u32('#address-cells', 1), cells('reg', 0x10, 0xdeadbeef), empty('ranges')],
      [
        node('child@10', [bytes('mac', [0, 0x11, 0x22, 0x33, 0x44, 0x55]), bytes('one', [0]), bytes('nul-heavy', [0x61, 0, 0])], [node('leaf', [bytes('bell', [7, 0])])]),
        node('second'),
      ],
    ),
    reservations: [{ address: 0x8000_0000n, size: 0x10_0000n }],
    bootCpuidPhys: 0,
  };
  assert.fixture(
    toDts(fdt),
    [
      '/dts-v1/;',
      '',
      '/memreserve/\t0x0000000080000000 0x0000000000100000;',
      '/ {',
      '\tmodel = "a \\"quoted\\" \\\\ tab\\there\\n";',
      '\tcompatible = "x,y", "z";',
      '\t#address-cells = <0x01>;',
      '\treg = <0x10 0xdeadbeef>;',
      '\tranges;',
      '',
      '\tchild@10 {',
      '\t\tmac = [00 11 22 33 44 55];',
      '\t\tone = [00];',
      '\t\tnul-heavy = [61 00 00];',
      '',
      '\t\tleaf {',
      '\t\t\tbell = "\\a";',
      '\t\t};',
      '\t};',
      '',
      '\tsecond {',
      '\t};',
      '};',
      '',
    ].join('\n'),
  );
  assert.equal(bare(recompile(fdt)), fdt);
});

test('the boot CPU, which DTS cannot state, is named in a comment and survives dtc -b', () => {
  const fdt = createFdt(node('', [u32('a', 1)]), [], 0x102);
  const dts = toDts(fdt);
  assert.ok(dts.startsWith('/dts-v1/;\n\n// boot_cpuid_phys is 0x102: DTS cannot say so; compile with dtc -b 258\n/ {\n'), dts);
  assert.is(recompile(fdt).bootCpuidPhys, 0x102);
});

test('property: toDts → dtc → decodeFdt gives back random trees', () => {
  fc.assert(
    fc.property(fdtArb({ dts: true }), (t) => {
      assert.equal(bare(recompile(t)), t);
    }),
    { numRuns: 25, seed: 0xd75 },
  );
});

test.run();
