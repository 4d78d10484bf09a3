import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  cells,
  createFdt,
  decodeFdt,
  empty,
  encodeFdt,
  FdtError,
  node,
  str,
  strs,
  u32,
  type Fdt,
  type FdtNode,
} from '../../src/fdt/index.js';
import {
  bare,
  compileDts,
  compileFixture,
  corpus,
  decompile,
  dtc,
  fdtArb,
  QEMU_MACHINES,
  qemuDump,
} from './support.js';

/** Asserts equal bytes, naming the first difference instead of printing megabytes. */
function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  if (i === n && actual.length === expected.length) return;
  assert.unreachable(
    `${what}: bytes differ at 0x${i.toString(16)} (lengths 0x${actual.length.toString(16)} and ` +
      `0x${expected.length.toString(16)})`,
  );
}

const HEADER_FIELDS = [
  'magic',
  'totalsize',
  'off_dt_struct',
  'off_dt_strings',
  'off_mem_rsvmap',
  'version',
  'last_comp_version',
  'boot_cpuid_phys',
  'size_dt_strings',
  'size_dt_struct',
] as const;

function header(blob: Uint8Array): Record<(typeof HEADER_FIELDS)[number], number> {
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const out = {} as Record<(typeof HEADER_FIELDS)[number], number>;
  HEADER_FIELDS.forEach((name, i) => {
    out[name] = v.getUint32(i * 4);
  });
  return out;
}

function rejects(fdt: Fdt, message: string): void {
  try {
    encodeFdt(fdt);
  } catch (e) {
    assert.instance(e, FdtError);
    assert.is((e as FdtError).code, 'unencodable');
    assert.is((e as FdtError).message, message);
    return;
  }
  assert.unreachable('encodeFdt accepted an unencodable tree');
}

const blobs = corpus();

test('the corpus round-trips byte for byte: dtc in every variant, overlays, QEMU (libfdt)', () => {
  assert.ok(blobs.length >= 30, `corpus has ${blobs.length} blobs`);
  for (const { name, blob } of blobs) sameBytes(encodeFdt(decodeFdt(blob)), blob, name);
});

test('QEMU dumps exercise what exactness needs: free space, a trailing buffer, libfdt padding', () => {
  const dumps = blobs.filter((b) => b.name.startsWith('qemu '));
  assert.is(dumps.length, 4);
  for (const { name, blob } of dumps) {
    const fdt = decodeFdt(blob);
    assert.is(blob.length, 0x100000, name);
    assert.ok(fdt.layout!.pads.length > 0, `${name} has non-zero padding`);
  }
  const rv = decodeFdt(dumps.find((d) => d.name.includes('riscv64'))!.blob);
  assert.ok(rv.layout!.totalSize < 0x100000, 'riscv64: totalsize is packed, the dump is the whole buffer');
});

test('a tree without layout encodes exactly as dtc does', () => {
  for (const file of ['features.dts', 'deep.dts', 'overlay-base.dts']) {
    for (const flags of [[], ['-@']]) {
      const blob = compileFixture(file, flags);
      sameBytes(encodeFdt(bare(decodeFdt(blob))), blob, `${file} ${flags.join(' ')}`);
    }
  }
  for (const m of QEMU_MACHINES) {
    const dump = qemuDump(m);
    const redone = new Uint8Array(dtc(['-q', '-I', 'dtb', '-O', 'dtb'], dump).stdout);
    sameBytes(encodeFdt(bare(decodeFdt(dump))), redone, m.name);
  }
});

test('names share the strings block: a suffix of a stored name reuses it', () => {
  const later = createFdt(node('', [str('interrupt-names', 'a'), str('names', 'b'), empty('rupt-names')]));
  const first = createFdt(node('', [str('names', 'b'), str('interrupt-names', 'a')]));
  const h1 = header(encodeFdt(later));
  const h2 = header(encodeFdt(first));
  assert.is(h1.size_dt_strings, 'interrupt-names\0'.length);
  assert.is(h2.size_dt_strings, 'names\0interrupt-names\0'.length);
  sameBytes(
    encodeFdt(later),
    compileDts('/dts-v1/;\n/ { interrupt-names = "a"; names = "b"; rupt-names; };\n'),
    'suffix after',
  );
  sameBytes(encodeFdt(first), compileDts('/dts-v1/;\n/ { names = "b"; interrupt-names = "a"; };\n'), 'suffix before');
});

test('suffix sharing picks what dtc picks, for names built to share suffixes (hash collisions too)', () => {
  const encodeNames = (names: readonly string[]): Uint8Array =>
    encodeFdt(
      createFdt(
        node(
          '',
          names.map((n) => empty(n)),
        ),
      ),
    );
  const dtcNames = (names: readonly string[]): Uint8Array =>
    compileDts(`/dts-v1/;\n/ { ${names.map((n) => `${n};`).join(' ')} };\n`);
  // A small strings block is scanned; past 128 strings, suffixes are indexed by hash. Names that
  // come after 130 unrelated ones take the indexed path.
  const filler = Array.from({ length: 130 }, (_, i) => `f${i}`);
  for (const lead of [[], filler]) {
    // "aA" and "BB" hash alike: the index must notice, and still find "BB" inside "xBB".
    for (const tail of [
      ['aA', 'xBB', 'BB'],
      ['aA', 'BB', 'xaA', 'A', 'B'],
      ['c', 'bc', 'abc', 'b', 'ab'],
    ]) {
      const names = [...lead, ...tail];
      sameBytes(encodeNames(names), dtcNames(names), tail.join(' '));
    }
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: fc.constantFrom('a', 'b', ','), minLength: 1, maxLength: 4 }), {
          minLength: 1,
          maxLength: 30,
        }),
        (tail) => {
          const names = [...lead, ...tail];
          sameBytes(encodeNames(names), dtcNames(names), tail.join(' '));
        },
      ),
      { numRuns: 25, seed: 0x5f },
    );
  }
});

test('the canonical layout: v17 header, reservations at 0x28, then structure and strings', () => {
  const blob = encodeFdt({
    root: node('', [u32('a', 1)]),
    reservations: [{ address: 0x1000n, size: 0x2000n }],
    bootCpuidPhys: 3,
  });
  assert.equal(header(blob), {
    magic: 0xd00dfeed,
    totalsize: 0x6a,
    off_dt_struct: 0x48,
    off_dt_strings: 0x68,
    off_mem_rsvmap: 0x28,
    version: 17,
    last_comp_version: 16,
    boot_cpuid_phys: 3,
    size_dt_strings: 2,
    size_dt_struct: 0x20,
  });
});

test('a changed tree keeps the decoded strings, version and total size where it fits', () => {
  const dump = qemuDump(QEMU_MACHINES[0]!);
  const fdt = decodeFdt(dump);
  const strings = fdt.layout!.stringsSize;
  fdt.root.props.push(str('vman,added', 'yes'));
  fdt.root.children[0]!.props.push(u32('compatible-count', 3));
  const out = encodeFdt(fdt);
  const h = header(out);
  assert.is(h.totalsize, 0x100000, 'free space shrinks, total size stays');
  assert.is(out.length, 0x100000);
  assert.is(h.size_dt_strings, strings + 'vman,added\0compatible-count\0'.length);
  const original = dump.subarray(header(dump).off_dt_strings, header(dump).off_dt_strings + strings);
  sameBytes(
    out.subarray(h.off_dt_strings, h.off_dt_strings + strings),
    original,
    'the original strings block, kept whole',
  );
  assert.equal(bare(decodeFdt(out)), bare(fdt));
  assert.ok(decompile(out).includes('vman,added = "yes";'));

  const small = decodeFdt(compileFixture('overlay-base.dts', ['-V', '16']));
  small.root.children.push(node('extra', [cells('reg', 1, 2)]));
  const grown = encodeFdt(small);
  assert.is(header(grown).version, 16);
  assert.is(header(grown).totalsize, grown.length, 'no free space to keep: the blob grows');
  assert.equal(bare(decodeFdt(grown)), bare(small));
});

test('a same-size change is written in place: only the changed bytes differ', () => {
  const blob = compileFixture('features.dts', ['-p', '256']);
  const fdt = decodeFdt(blob);
  const model = fdt.root.props.find((p) => p.name === 'model')!;
  model.value = new TextEncoder().encode('VMAN TEST BOARD\0');
  const out = encodeFdt(fdt);
  assert.is(out.length, blob.length);
  const diff = [...out].flatMap((b, i) => (b === blob[i] ? [] : [i]));
  assert.is(diff.length, 'vmantestboard'.length);
});

test('values, names and header fields that cannot be written', () => {
  const ok = (root: FdtNode): Fdt => createFdt(root);
  rejects(
    { ...ok(node('')), bootCpuidPhys: -1 },
    'Cannot encode bootCpuidPhys -1: it must be an integer from 0 to 2 ** 32 - 1',
  );
  rejects(
    { ...ok(node('')), bootCpuidPhys: 2 ** 32 },
    'Cannot encode bootCpuidPhys 4294967296: it must be an integer from 0 to 2 ** 32 - 1',
  );
  rejects(
    { ...ok(node('')), reservations: [{ address: 0n, size: 0n }] },
    'Cannot encode reservation 0: its size is 0, which would end the list (5.3.2)',
  );
  rejects(
    { ...ok(node('')), reservations: [{ address: 1n << 64n, size: 1n }] },
    'Cannot encode reservation 0: address 18446744073709551616 is not a bigint from 0 to 2n ** 64n - 1n',
  );
  rejects(
    ok(node('', [], [node('cpus', [], [node('cpu\0@0')])])),
    'Cannot encode node "/cpus/cpu\0@0": its name contains a NUL at index 3',
  );
  rejects(
    ok(node('', [], [node('a', [u32('caf\u00e9\u2603', 1)])])),
    'Cannot encode property "caf\u00e9\u2603" of node "/a": its name contains character U+2603 at index 4, outside ' +
      '0x00–0xff',
  );
  rejects(
    ok(node('', [{ name: 'reg', value: [1, 2] as unknown as Uint8Array }])),
    'Cannot encode property "reg" of node "/": its value is not a Uint8Array',
  );
  const loop = node('loop');
  loop.children.push(loop);
  rejects(
    ok(node('', [], [loop])),
    'Cannot encode node under "/loop/loop/loop/loop/loop/loop/loop/…": nodes nest deeper than 1024 levels (does a ' +
      'node contain itself?)',
  );
});

test('property: decodeFdt(encodeFdt(t)) is t, for any names and values', () => {
  fc.assert(
    fc.property(fdtArb({ dts: false }), (t) => {
      assert.equal(bare(decodeFdt(encodeFdt(t))), t);
    }),
    { numRuns: 300, seed: 0x5eed },
  );
});

test('property: dtc reads what encodeFdt writes, and gives back the same tree', () => {
  fc.assert(
    fc.property(fdtArb({ dts: true }), (t) => {
      const ours = encodeFdt(t);
      const theirs = new Uint8Array(dtc(['-q', '-I', 'dtb', '-O', 'dtb'], ours).stdout);
      assert.equal(bare(decodeFdt(theirs)), t);
      sameBytes(theirs, ours, 'dtc -I dtb -O dtb of a canonical blob');
    }),
    { numRuns: 15, seed: 0xd7c },
  );
});

test('a large tree (12k nodes, ~1.8 MiB) round-trips', () => {
  const root = node('', [u32('#address-cells', 2), u32('#size-cells', 2), str('model', 'large')]);
  for (let b = 0; b < 120; b++) {
    const bus = node(`bus@${(b << 20).toString(16)}`, [
      strs('compatible', 'simple-bus'),
      u32('#address-cells', 2),
      u32('#size-cells', 2),
      empty('ranges'),
    ]);
    root.children.push(bus);
    for (let d = 0; d < 100; d++) {
      const addr = (b << 20) + (d << 12);
      bus.children.push(
        node(`dev@${addr.toString(16)}`, [
          strs('compatible', `vendor,device-${d % 17}`, 'generic-device'),
          cells('reg', 0, addr, 0, 0x1000),
          cells('interrupts', 0, d, 4),
          str('status', 'okay'),
          u32('clock-frequency', 24_000_000),
        ]),
      );
    }
  }
  const tree = createFdt(root);
  const blob = encodeFdt(tree);
  assert.ok(blob.length > 1.5 * 2 ** 20 && blob.length < 2.2 * 2 ** 20, `size ${blob.length}`);
  const decoded = decodeFdt(blob);
  assert.equal(bare(decoded), tree);
  sameBytes(encodeFdt(decoded), blob, 'large tree');
});

test.run();
