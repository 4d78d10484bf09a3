import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arch } from '../../src/board/model.js';
import { BOOT_CODE_DESCRIPTIONS, BootCode } from '../../src/boot/codes.js';
import { describeElf, ELF_MAX_PROGRAM_HEADERS } from '../../src/boot/image.js';
import type { BootProblem, ElfImage } from '../../src/boot/types.js';
import { EM, makeElf, run } from './support.js';

const fixtures = fileURLToPath(new URL('../fixtures/boot/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'vman-elf-'));

interface Built {
  readonly name: string;
  readonly arch: Arch;
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Link test/fixtures/boot/rtos.c with a cross gcc: plain at a text address, or split VMA/LMA with split.ld. */
function build(name: string, arch: Arch, gcc: string, flags: readonly string[]): Built {
  const path = join(work, `${name}.elf`);
  run(gcc, [
    '-nostdlib',
    '-ffreestanding',
    '-static',
    '-O1',
    '-fno-pic',
    '-no-pie',
    '-Wl,--build-id=none',
    ...flags,
    '-o',
    path,
    join(fixtures, 'rtos.c'),
  ]);
  return { name, arch, path, bytes: new Uint8Array(readFileSync(path)) };
}

const split = (vma: string, lma: string): string[] => [
  '-Wl,-T,' + join(fixtures, 'split.ld'),
  `-Wl,--defsym=TEXT_VMA=${vma}`,
  `-Wl,--defsym=TEXT_LMA=${lma}`,
];

const RV = 'riscv64-linux-gnu-gcc';
const A64 = 'aarch64-linux-gnu-gcc';
const A32 = 'arm-linux-gnueabihf-gcc';

const built: Built[] = [
  build('rv-plain', 'riscv64', RV, ['-mcmodel=medany', '-Wl,-Ttext=0x80200000']),
  build('rv-split', 'riscv64', RV, ['-mcmodel=medany', ...split('0x80200000', '0x80200000')]),
  build('rv-highhalf', 'riscv64', RV, ['-mcmodel=medany', ...split('0xffffffff80000000', '0x80200000')]),
  build('a64-plain', 'aarch64', A64, ['-Wl,-Ttext=0x40080000']),
  build('a64-highhalf', 'aarch64', A64, [...split('0xffff800008000000', '0x40080000')]),
  build('a32-thumb', 'armv7', A32, ['-mthumb', '-Wl,-Ttext=0x40008000']),
  build('a32-arm', 'armv7', A32, ['-marm', '-Wl,-Ttext=0x40008000']),
];

function elf(bytes: Uint8Array, options?: Parameters<typeof describeElf>[1]): ElfImage {
  const r = describeElf(bytes, options);
  if (r.kind !== 'elf') throw new Error(`expected an ELF description, got ${r.code}: ${r.message}`);
  return r;
}

function problem(bytes: Uint8Array, options?: Parameters<typeof describeElf>[1]): BootProblem {
  const r = describeElf(bytes, options);
  if (r.kind !== 'problem') throw new Error('expected a problem');
  return r;
}

interface ReadElf {
  readonly class: 32 | 64;
  readonly entry: bigint;
  readonly phoff: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly headers: readonly {
    type: string;
    offset: number;
    vaddr: bigint;
    paddr: bigint;
    filesz: number;
    memsz: number;
    flags: number;
  }[];
}

/** What binutils' readelf says about the file: the reference the parser is checked against. */
function readelf(path: string): ReadElf {
  const out = run('readelf', ['-hlW', path]).stdout;
  const field = (label: string): string => new RegExp(`${label}:\\s+(\\S+)`).exec(out)![1]!;
  const headers = [];
  const table = out.slice(out.indexOf('Program Headers:'));
  for (const line of table.split('\n').slice(2)) {
    const m =
      /^\s+([A-Z_]+|LOOS\+\w+|0x[0-9a-f]+)\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) ([RWE ]{3})/.exec(
        line,
      );
    if (!m) break;
    const flg = m[7]!;
    headers.push({
      type: m[1]!,
      offset: Number(m[2]),
      vaddr: BigInt(m[3]!),
      paddr: BigInt(m[4]!),
      filesz: Number(m[5]),
      memsz: Number(m[6]),
      flags: (flg[0] === 'R' ? 4 : 0) | (flg[1] === 'W' ? 2 : 0) | (flg[2] === 'E' ? 1 : 0),
    });
  }
  return {
    class: field('Class') === 'ELF64' ? 64 : 32,
    entry: BigInt(field('Entry point address')),
    phoff: Number(field('Start of program headers')),
    phentsize: Number(field('Size of program headers')),
    phnum: Number(field('Number of program headers')),
    headers,
  };
}

test('ELF built by each cross gcc: class, machine, segments and entry agree with readelf', () => {
  for (const b of built) {
    const d = elf(b.bytes, { arch: b.arch });
    const ref = readelf(b.path);
    assert.is(d.class, ref.class, b.name);
    assert.is(d.endianness, 'little');
    assert.is(d.type, 'exec');
    assert.is(d.machineName, b.arch === 'aarch64' ? 'aarch64' : b.arch === 'armv7' ? 'arm' : 'riscv');
    const loads = ref.headers.map((h, index) => ({ ...h, index })).filter((h) => h.type === 'LOAD' && h.memsz > 0);
    assert.equal(
      d.segments,
      loads.map((h) => ({
        index: h.index,
        paddr: Number(h.paddr),
        offset: h.offset,
        filesz: h.filesz,
        memsz: h.memsz,
        flags: h.flags,
      })),
      b.name,
    );
    // readelf's e_entry is virtual: translate it through the LOAD header that holds it.
    const thumb = b.name === 'a32-thumb';
    assert.is(d.thumb, thumb, b.name);
    const target = thumb ? ref.entry - 1n : ref.entry;
    const holder = loads.find((h) => target >= h.vaddr && target < h.vaddr + BigInt(h.memsz))!;
    assert.is(d.entry, Number(holder.paddr + (target - holder.vaddr)) + (thumb ? 1 : 0), b.name);
  }
});

test('high-half ELF: entry and segments at their physical (load) addresses', () => {
  const rv = elf(built.find((b) => b.name === 'rv-highhalf')!.bytes);
  assert.is(rv.entry, 0x80200000);
  assert.ok(rv.segments.every((s) => s.paddr >= 0x80200000 && s.paddr < 0x80300000));
  const a64 = elf(built.find((b) => b.name === 'a64-highhalf')!.bytes);
  assert.is(a64.entry, 0x40080000);
});

test('an ELF for another machine or class names it and the board that runs it', () => {
  const byName = (n: string): Uint8Array => built.find((b) => b.name === n)!.bytes;
  const cases: [Arch, string, string][] = [
    ['aarch64', 'rv-plain', 'qemu-virt-riscv64'],
    ['aarch64', 'a32-arm', 'qemu-virt-armv7'],
    ['armv7', 'a64-plain', 'qemu-virt-aarch64'],
    ['riscv64', 'a32-thumb', 'qemu-virt-armv7'],
    ['riscv64', 'a64-plain', 'qemu-virt-aarch64'],
  ];
  for (const [arch, name, board] of cases) {
    const p = problem(byName(name), { arch });
    assert.is(p.code, BootCode.ElfWrongMachine, `${name} on ${arch}`);
    assert.ok(p.hint?.includes(board), p.hint);
  }
  const rv32 = makeElf({
    class: 32,
    machine: EM.RISCV,
    entry: 0x80000000n,
    segments: [{ paddr: 0x80000000n, filesz: 0x10n, memsz: 0x10n }],
  });
  assert.ok(problem(rv32, { arch: 'riscv64' }).message.includes('RV32'));
  const x86 = makeElf({
    class: 64,
    machine: EM.X86_64,
    entry: 0x1000n,
    segments: [{ paddr: 0x1000n, filesz: 0x10n, memsz: 0x10n }],
  });
  assert.ok(problem(x86, { arch: 'riscv64' }).message.includes('x86-64'));
});

test('an object file (gcc -c) is not an executable', () => {
  const obj = join(work, 'rtos.o');
  run(RV, ['-c', '-O1', '-o', obj, join(fixtures, 'rtos.c')]);
  assert.is(problem(new Uint8Array(readFileSync(obj)), { arch: 'riscv64' }).code, BootCode.ElfNotExecutable);
});

test('truncated real ELF: header, program headers, then segment bytes', () => {
  const b = built.find((x) => x.name === 'rv-plain')!;
  const ref = readelf(b.path);
  const tableEnd = ref.phoff + ref.phnum * ref.phentsize;
  assert.is(problem(b.bytes.subarray(0, 3)).code, BootCode.ElfTruncated);
  assert.is(problem(b.bytes.subarray(0, 40)).code, BootCode.ElfTruncated);
  assert.is(problem(b.bytes.subarray(0, tableEnd - 1)).code, BootCode.ElfTruncated);
  const firstData = ref.headers.filter((h) => h.type === 'LOAD' && h.filesz > 0).map((h) => h.offset + h.filesz);
  assert.is(problem(b.bytes.subarray(0, Math.max(...firstData) - 1)).code, BootCode.ElfSegmentOutsideFile);
  // The loader may pass only the start of a larger file: it is told how much more it needs.
  const need = problem(b.bytes.subarray(0, 64), { fileSize: b.bytes.length });
  assert.is(need.code, BootCode.NeedMoreBytes);
  assert.is(need.needBytes, tableEnd);
  assert.equal(elf(b.bytes.subarray(0, tableEnd), { fileSize: b.bytes.length }), elf(b.bytes));
  assert.throws(() => describeElf(b.bytes, { fileSize: 10 }), RangeError);
});

/** A copy of the riscv ELF with one edit made through a DataView (little-endian ELF64 offsets). */
function edited(edit: (view: DataView, ref: ReadElf) => void): Uint8Array {
  const b = built.find((x) => x.name === 'rv-plain')!;
  const bytes = b.bytes.slice();
  edit(new DataView(bytes.buffer), readelf(b.path));
  return bytes;
}

test('hostile headers: each check has its code', () => {
  const ph = (ref: ReadElf, i: number): number => ref.phoff + i * ref.phentsize;
  const firstLoad = (ref: ReadElf): number => ref.headers.findIndex((h) => h.type === 'LOAD');
  const cases: [string, (v: DataView, ref: ReadElf) => void, string][] = [
    ['bad class', (v) => v.setUint8(4, 3), BootCode.ElfInvalid],
    ['bad data', (v) => v.setUint8(5, 0), BootCode.ElfInvalid],
    ['bad version', (v) => v.setUint8(6, 0), BootCode.ElfInvalid],
    ['core file', (v) => v.setUint16(16, 4, true), BootCode.ElfNotExecutable],
    ['unknown type', (v) => v.setUint16(16, 0xfe00, true), BootCode.ElfNotExecutable],
    ['no program headers', (v) => v.setUint16(56, 0, true), BootCode.ElfNoLoadable],
    ['PN_XNUM', (v) => v.setUint16(56, 0xffff, true), BootCode.ElfTooManySegments],
    ['too many', (v) => v.setUint16(56, ELF_MAX_PROGRAM_HEADERS + 1, true), BootCode.ElfTooManySegments],
    ['small phentsize', (v) => v.setUint16(54, 32, true), BootCode.ElfInvalid],
    ['phoff past the file', (v) => v.setBigUint64(32, 1n << 40n, true), BootCode.ElfTruncated],
    ['phoff past 2^53', (v) => v.setBigUint64(32, 1n << 60n, true), BootCode.ElfTruncated],
    ['memsz < filesz', (v, r) => v.setBigUint64(ph(r, firstLoad(r)) + 40, 1n, true), BootCode.ElfMemszBelowFilesz],
    [
      'file range outside',
      (v, r) => v.setBigUint64(ph(r, firstLoad(r)) + 8, 1n << 32n, true),
      BootCode.ElfSegmentOutsideFile,
    ],
    [
      'address past 2^53',
      (v, r) => v.setBigUint64(ph(r, firstLoad(r)) + 24, 1n << 60n, true),
      BootCode.ElfAddressRange,
    ],
    ['entry outside', (v) => v.setBigUint64(24, 0x1000n, true), BootCode.ElfEntryOutside],
    ['entry misaligned', (v, r) => v.setBigUint64(24, r.entry + 1n, true), BootCode.ElfEntryMisaligned],
    [
      'overlap',
      (v, r) => {
        const loads = r.headers.map((h, i) => [h, i] as const).filter(([h]) => h.type === 'LOAD');
        v.setBigUint64(ph(r, loads[1]![1]) + 24, loads[0]![0].paddr + 8n, true);
      },
      BootCode.ElfSegmentsOverlap,
    ],
    ['no PT_LOAD', (v, r) => r.headers.forEach((_, i) => v.setUint32(ph(r, i), 6, true)), BootCode.ElfNoLoadable],
  ];
  for (const [name, edit, code] of cases) assert.is(problem(edited(edit), { arch: 'riscv64' }).code, code, name);
  assert.is(problem(new Uint8Array([1, 2, 3, 4, 5])).code, BootCode.ElfInvalid);
});

test('synthetic: big-endian ELF32 described, refused for a board; ET_DYN accepted; empty segments skipped', () => {
  const be = makeElf({
    class: 32,
    endianness: 'big',
    machine: EM.ARM,
    entry: 0x10000n,
    segments: [
      { paddr: 0x10000n, offset: 0x1000n, filesz: 0x200n, memsz: 0x400n, flags: 5 },
      { type: 0x6474e551, paddr: 0n, filesz: 0n, memsz: 0n },
      { paddr: 0x20000n, filesz: 0n, memsz: 0n },
    ],
    size: 0x2000,
  });
  const d = elf(be);
  assert.is(d.endianness, 'big');
  assert.is(d.class, 32);
  assert.equal(d.segments, [{ index: 0, paddr: 0x10000, offset: 0x1000, filesz: 0x200, memsz: 0x400, flags: 5 }]);
  assert.is(problem(be, { arch: 'armv7' }).code, BootCode.BigEndian);
  const dyn = makeElf({
    class: 64,
    machine: EM.AARCH64,
    type: 3,
    entry: 0x40080000n,
    segments: [{ paddr: 0x40080000n, filesz: 0x100n, memsz: 0x100n }],
  });
  assert.is(elf(dyn, { arch: 'aarch64' }).type, 'dyn');
  const wraps = makeElf({
    class: 32,
    machine: EM.ARM,
    entry: 0xfffff000n,
    segments: [{ paddr: 0xfffff000n, filesz: 0n, memsz: 0x2000n }],
  });
  assert.is(problem(wraps, { arch: 'armv7' }).code, BootCode.ElfAddressRange);
});

// ---- hostile input ----------------------------------------------------------------------------

const CODES = new Set(Object.keys(BOOT_CODE_DESCRIPTIONS));

function checkResult(r: ElfImage | BootProblem, fileSize: number): void {
  if (r.kind === 'problem') {
    assert.ok(CODES.has(r.code), r.code);
    return;
  }
  assert.ok(r.segments.length > 0);
  const sorted = [...r.segments].sort((a, b) => a.paddr - b.paddr);
  sorted.forEach((s, i) => {
    assert.ok(s.memsz >= s.filesz && s.memsz > 0);
    assert.ok(s.filesz === 0 || s.offset + s.filesz <= fileSize);
    assert.ok(s.paddr + s.memsz <= (r.class === 32 ? 2 ** 32 : Number.MAX_SAFE_INTEGER));
    if (i > 0) assert.ok(sorted[i - 1]!.paddr + sorted[i - 1]!.memsz <= s.paddr);
  });
  const entry = r.thumb ? r.entry - 1 : r.entry;
  assert.ok(r.segments.some((s) => entry >= s.paddr && entry < s.paddr + s.memsz));
}

test('any bytes after an ELF magic: a description or a problem, never an exception', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 512 }),
      fc.constantFrom<Arch | undefined>(undefined, 'aarch64', 'armv7', 'riscv64'),
      (tail, arch) => {
        const bytes = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, ...tail]);
        checkResult(describeElf(bytes, { arch }), bytes.length);
      },
    ),
    { numRuns: 2000 },
  );
});

test('mutated real ELF files: never an exception, and every description is loadable', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...built),
      fc.array(fc.tuple(fc.nat(0x200), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(0x3000),
      (b, edits, cut) => {
        const bytes = b.bytes.slice(0, Math.max(0, b.bytes.length - cut));
        for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
        checkResult(describeElf(bytes, { arch: b.arch }), bytes.length);
      },
    ),
    { numRuns: 3000 },
  );
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
