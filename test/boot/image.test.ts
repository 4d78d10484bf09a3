import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { Arch } from '../../src/board/model.js';
import { BOOT_CODE_DESCRIPTIONS, BootCode } from '../../src/boot/codes.js';
import { describeImage } from '../../src/boot/image.js';
import { arm64Image, EM, makeElf } from './support.js';

const elf64 = (machine: number): Uint8Array =>
  makeElf({
    class: 64,
    machine,
    entry: 0x80200000n,
    segments: [{ paddr: 0x80200000n, offset: 0x1000n, filesz: 0x800n, memsz: 0x2000n }],
    size: 0x2000,
  });

test('a non-ELF file is raw: only its size matters', () => {
  assert.equal(describeImage('riscv64', new Uint8Array([0x13, 0, 0, 0]), 0x123456), { kind: 'raw', size: 0x123456 });
  // A kernel Image given as boot.image is raw too: loaded at base + load and entered at base + entry.
  assert.equal(describeImage('aarch64', arm64Image(), 4096), { kind: 'raw', size: 4096 });
  assert.equal(describeImage('armv7', new Uint8Array([0x7f, 0x45]), 2), { kind: 'raw', size: 2 });
});

test('an ELF is described and checked against the board', () => {
  const d = describeImage('riscv64', elf64(EM.RISCV), 0x2000);
  assert.is(d.kind, 'elf');
  assert.is(d.kind === 'elf' && d.entry, 0x80200000);
  const wrong = describeImage('aarch64', elf64(EM.RISCV), 0x2000);
  assert.is(wrong.kind === 'problem' && wrong.code, BootCode.ElfWrongMachine);
});

test('only the head of a large ELF: described when its headers are in it, else told how much to read', () => {
  const bytes = elf64(EM.AARCH64);
  const d = describeImage('aarch64', bytes.subarray(0, 0x100), 0x2000);
  assert.is(d.kind === 'elf' && d.segments[0]!.filesz, 0x800);
  const more = describeImage('aarch64', bytes.subarray(0, 0x20), 0x2000);
  assert.is(more.kind === 'problem' && more.code, BootCode.NeedMoreBytes);
  assert.is(more.kind === 'problem' && more.needBytes, 64);
});

test('an empty image is a problem; a fileSize below the bytes given is a caller bug', () => {
  const empty = describeImage('armv7', new Uint8Array(0), 0);
  assert.is(empty.kind === 'problem' && empty.code, BootCode.ImageEmpty);
  assert.throws(() => describeImage('armv7', new Uint8Array(8), 4), RangeError);
});

test('any bytes: raw, ELF or a problem with a catalogued code, never an exception', () => {
  const arches: Arch[] = ['aarch64', 'armv7', 'riscv64'];
  fc.assert(
    fc.property(
      fc.constantFrom(...arches),
      fc.boolean(),
      fc.uint8Array({ maxLength: 512 }),
      fc.nat(1 << 20),
      (arch, magic, tail, extra) => {
        const bytes = magic ? new Uint8Array([0x7f, 0x45, 0x4c, 0x46, ...tail]) : tail;
        const r = describeImage(arch, bytes, bytes.length + extra);
        if (r.kind === 'problem') assert.ok(r.code in BOOT_CODE_DESCRIPTIONS);
        else if (r.kind === 'raw') assert.is(r.size, bytes.length + extra);
        else assert.ok(magic);
      },
    ),
    { numRuns: 2000 },
  );
});

test.run();
