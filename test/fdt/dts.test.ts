import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  bytes,
  cells,
  createFdt,
  decodeFdt,
  empty,
  findNode,
  getPhandle,
  node,
  str,
  strs,
  toDts,
  u32,
  type Fdt,
} from '../../src/fdt/index.js';
import { bare, compileDts, corpus, decompile, fdtArb, warnings } from './support.js';

const blobs = corpus();

/**
 * What dtc 1.6.1 prints for the same tree: a string list as one string with `\0` inside (newer
 * dtc, and vman, print `"a", "b"`), and phandles as numbers where vman writes `&{/path}`.
 */
function asDtc161(dts: string, fdt: Fdt): string {
  return dts
    .replaceAll('", "', '\\0')
    .replace(
      /&\{([^}]*)\}/g,
      (_, path: string) => `0x${getPhandle(findNode(fdt, path)!)!.toString(16).padStart(2, '0')}`,
    );
}

/** Compiles toDts output with dtc, giving it the boot CPU that DTS cannot state. */
function recompile(fdt: Fdt): Fdt {
  return decodeFdt(compileDts(toDts(fdt), ['-b', String(fdt.bootCpuidPhys)]));
}

test('prints exactly what dtc -O dts prints, for the whole corpus', () => {
  for (const { name, blob } of blobs) {
    const fdt = decodeFdt(blob);
    assert.fixture(asDtc161(toDts(fdt), fdt), decompile(blob), name);
  }
});

test('dtc compiles the DTS back to the same tree, for the whole corpus', () => {
  for (const { name, blob } of blobs) {
    const fdt = decodeFdt(blob);
    assert.equal(bare(recompile(fdt)), bare(fdt), name);
  }
});

test('the DTS of a clean tree compiles without warnings; an unclean one keeps its own', () => {
  let clean = 0;
  for (const { name, blob } of blobs) {
    const own = warnings(blob, 'dtb');
    const ours = warnings(toDts(decodeFdt(blob)), 'dts');
    if (own.length === 0) {
      assert.equal(ours, [], name);
      clean++;
    } else {
      assert.equal(
        own.filter((w) => !ours.includes(w)),
        [],
        name,
      );
    }
  }
  assert.ok(clean >= 20, `${clean} clean trees in the corpus`);
});

test('phandles with arguments are written as references, walking cells as dtc does', () => {
  const dts =
    '/dts-v1/;\n/ { c1: a { #clock-cells = <1>; }; c0: b { #clock-cells = <0>; }; g: gpio { gpio-controller; ' +
    '#gpio-cells = <2>; };\n' +
    'user { clocks = <&c1 7>, <0>, <&c0>; reset-gpios = <&g 3 1>; pinctrl-0 = <&c0>; }; };\n';
  const fdt = decodeFdt(compileDts(dts));
  const text = toDts(fdt);
  assert.ok(text.includes('\t\tclocks = <&{/a} 0x07 0x00 &{/b}>;\n'), text);
  assert.ok(text.includes('\t\treset-gpios = <&{/gpio} 0x03 0x01>;\n'), text);
  assert.ok(text.includes('\t\tpinctrl-0 = <0x02>;\n'), text);
  assert.equal(warnings(text, 'dts'), []);
  assert.equal(bare(recompile(fdt)), bare(fdt));
});

test('values: strings, lists, escapes, cells, bytes, empty; reservations; nesting', () => {
  const fdt: Fdt = {
    root: node(
      '',
      [
        str('model', 'a "quoted" \\ tab\there\n'),
        strs('compatible', 'x,y', 'z'),
        u32('#address-cells', 1),
        cells('reg', 0x10, 0xdeadbeef),
        empty('ranges'),
      ],
      [
        node(
          'child@10',
          [bytes('mac', [0, 0x11, 0x22, 0x33, 0x44, 0x55]), bytes('one', [0]), bytes('nul-heavy', [0x61, 0, 0])],
          [node('leaf', [bytes('bell', [7, 0])])],
        ),
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
  assert.ok(
    dts.startsWith('/dts-v1/;\n\n// boot_cpuid_phys is 0x102: DTS cannot say so; compile with dtc -b 258\n/ {\n'),
    dts,
  );
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
