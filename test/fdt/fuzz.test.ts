import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { decodeFdt, encodeFdt, FdtError, toDts } from '../../src/fdt/index.js';
import { assemble, compileFixture, QEMU_MACHINES, qemuDump } from './support.js';

/**
 * Valid blobs to damage: dtc's (symbols, padding, version 16, deep nesting), a hand-made one with NOPs, and QEMU's
 * packed riscv64 tree.
 */
const seeds: Uint8Array[] = [
  compileFixture('features.dts'),
  compileFixture('features.dts', ['-@', '-p', '64', '-R', '2']),
  compileFixture('overlay-base.dts', ['-V', '16']),
  compileFixture('deep.dts'),
  compileFixture('overlay-phandles.dts', ['-@']),
  assemble([4, 1, '', 4, 3, 4, 0, 1, 1, 'a@1', 3, 0, 5, 2, 4, 2, 9], 'cells\0flag\0', [[0x1000n, 0x2000n]]),
  qemuDump(QEMU_MACHINES[3]!).slice(0, 0x2000),
];

type Mutation =
  { kind: 'flip'; at: number; xor: number } | { kind: 'word'; at: number; value: number } | { kind: 'cut'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  // Aligned words: header fields, tokens, lengths, name offsets; small, huge and token-like values.
  fc.record({
    kind: fc.constant('word' as const),
    at: fc.nat(),
    value: fc.oneof(
      fc.integer({ min: 0, max: 16 }),
      fc.constantFrom(0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff),
      fc.nat(),
    ),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);

function mutate(seed: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let blob = seed.slice();
  for (const m of mutations) {
    if (blob.length === 0) break;
    if (m.kind === 'flip') blob[m.at % blob.length]! ^= m.xor;
    else if (m.kind === 'cut') blob = blob.slice(0, m.at % blob.length);
    else if (blob.length >= 4)
      new DataView(blob.buffer).setUint32(((m.at % blob.length) & ~3) % (blob.length - 3), m.value);
  }
  return blob;
}

test('damaged blobs decode or throw FdtError, and what decodes re-encodes exactly', () => {
  let decoded = 0;
  let refused = 0;
  const started = Date.now();
  fc.assert(
    fc.property(
      fc.nat({ max: seeds.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      (which, mutations) => {
        const blob = mutate(seeds[which]!, mutations);
        let fdt;
        try {
          fdt = decodeFdt(blob);
        } catch (e) {
          if (!(e instanceof FdtError)) throw e;
          assert.match(e.message, /^(Malformed FDT: |Unsupported FDT version )/);
          refused++;
          return;
        }
        decoded++;
        const again = encodeFdt(fdt);
        assert.is(again.length, blob.length);
        assert.ok(
          again.every((b, i) => b === blob[i]),
          'a decodable blob re-encodes byte for byte',
        );
        toDts(fdt);
      },
    ),
    { numRuns: 4000, seed: 0xf022 },
  );
  assert.ok(decoded > 300 && refused > 300, `${decoded} decoded, ${refused} refused`);
  assert.ok(Date.now() - started < 60_000, 'bounded time');
});

test('hostile sizes cost bounded time: a huge strings block of one long name, many offsets into it', () => {
  const name = 'a'.repeat(200_000);
  const props = Array.from({ length: 20_000 }, (_, i) => [3, 0, i * 7]).flat();
  const blob = assemble([1, '', ...props, 2, 9], `${name}\0`);
  const started = Date.now();
  const fdt = decodeFdt(blob);
  assert.is(fdt.root.props.length, 20_000);
  assert.is(fdt.root.props[19_999]!.name.length, 200_000 - 19_999 * 7);
  assert.ok(Date.now() - started < 2_000, `${Date.now() - started} ms`);
});

test.run();
