import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Arch } from '../../src/board/model.js';
import { BOOT_CODE_DESCRIPTIONS, BootCode } from '../../src/boot/codes.js';
import { describeKernel, KERNEL_HEAD_BYTES } from '../../src/boot/image.js';
import type { BootProblem, KernelImage } from '../../src/boot/types.js';
import { arm64Image, EM, makeElf, riscvImage, run, withTempDir, zImage } from './support.js';
import { skip } from '../helpers/skip.js';

const MiB = 1024 * 1024;
const ARCHES: readonly Arch[] = ['aarch64', 'armv7', 'riscv64'];

function kernel(arch: Arch, bytes: Uint8Array, fileSize = bytes.length): KernelImage {
  const r = describeKernel(arch, bytes, fileSize);
  if (r.kind !== 'kernel') throw new Error(`expected a kernel, got ${r.code}: ${r.message}`);
  return r;
}

function problem(arch: Arch, bytes: Uint8Array, fileSize = bytes.length): BootProblem {
  const r = describeKernel(arch, bytes, fileSize);
  if (r.kind !== 'problem') throw new Error(`expected a problem, got a ${r.format}`);
  return r;
}

/** Run a hint's shell command with FILE standing for `input`; returns what it wrote to `output`. */
function runHint(hint: string, input: Uint8Array, output: string): Uint8Array {
  const command = /: (.*?)(?:, or use .*)?$/.exec(hint)?.[1];
  if (!command) throw new Error(`no command in hint: ${hint}`);
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'FILE'), input);
    run('sh', ['-c', `cd '${dir}' && ${command}`]);
    return readFileSync(join(dir, output));
  });
}

// ---- arm64 ------------------------------------------------------------------------------------

test('arm64 Image: text_offset, image_size and flags from the header', () => {
  const k = kernel('aarch64', arm64Image({ textOffset: 0n, imageSize: 0x1aa0000n, flags: 0xan }), 0x19f9200);
  assert.equal(k, {
    kind: 'kernel',
    format: 'arm64-image',
    arch: 'aarch64',
    fileSize: 0x19f9200,
    endianness: 'little',
    loadAlign: 2 * MiB,
    textOffset: 0,
    imageSize: 0x1aa0000,
    imageSizeKnown: true,
    pageSize: 4096,
    placement: 'anywhere',
  });
});

test('arm64 Image: page size field and physical placement bit', () => {
  const cases: [bigint, number | undefined, string][] = [
    [0n, undefined, 'near-dram-base'],
    [0b0010n, 4096, 'near-dram-base'],
    [0b0100n, 16384, 'near-dram-base'],
    [0b1110n, 65536, 'anywhere'],
  ];
  for (const [flags, pageSize, placement] of cases) {
    const k = kernel('aarch64', arm64Image({ flags, textOffset: 0x80000n }));
    if (k.format !== 'arm64-image') throw new Error(k.format);
    assert.is(k.pageSize, pageSize);
    assert.is(k.placement, placement);
    assert.is(k.textOffset, 0x80000);
  }
});

test('arm64 Image before v3.17 (image_size 0): text_offset 0x80000, size from the file', () => {
  // text_offset of unknown endianness (here big-endian 0x80000) must be ignored.
  const k = kernel('aarch64', arm64Image({ imageSize: 0n, textOffset: 0x0000080000000000n, flags: 1n }), 7 * MiB + 3);
  assert.is(k.textOffset, 0x80000);
  assert.is(k.imageSize, 7 * MiB + 3);
  assert.is(k.imageSizeKnown, false);
});

test('arm64 Image: big-endian, misplaced text_offset and short image_size are problems', () => {
  assert.is(problem('aarch64', arm64Image({ flags: 0xbn })).code, BootCode.BigEndian);
  assert.is(problem('aarch64', arm64Image({ textOffset: 0x80001n })).code, BootCode.KernelHeaderInvalid);
  assert.is(problem('aarch64', arm64Image({ textOffset: 0x200000n })).code, BootCode.KernelHeaderInvalid);
  assert.is(problem('aarch64', arm64Image({ imageSize: 0x1000n }), 0x2000).code, BootCode.KernelHeaderInvalid);
  assert.is(problem('aarch64', arm64Image({ imageSize: 2n ** 60n })).code, BootCode.KernelHeaderInvalid);
});

// ---- RISC-V -----------------------------------------------------------------------------------

test('RISC-V Image: version 0.2 header', () => {
  const k = kernel('riscv64', riscvImage({ imageSize: 0x1400000n }), 0x1000000);
  assert.equal(k, {
    kind: 'kernel',
    format: 'riscv-image',
    arch: 'riscv64',
    fileSize: 0x1000000,
    endianness: 'little',
    loadAlign: 2 * MiB,
    textOffset: 0x200000,
    imageSize: 0x1400000,
    imageSizeKnown: true,
    version: { major: 0, minor: 2 },
  });
});

test('RISC-V Image: either magic identifies it; image_size 0 and big-endian are problems', () => {
  assert.is(kernel('riscv64', riscvImage({ magic2: false, version: 1 })).format, 'riscv-image');
  assert.is(kernel('riscv64', riscvImage({ magic: false })).format, 'riscv-image');
  assert.is(problem('riscv64', riscvImage({ imageSize: 0n })).code, BootCode.KernelHeaderInvalid);
  assert.is(problem('riscv64', riscvImage({ flags: 1n })).code, BootCode.BigEndian);
  assert.is(problem('riscv64', riscvImage({ textOffset: 0x200800n })).code, BootCode.KernelHeaderInvalid);
});

// ---- ARMv7 zImage -------------------------------------------------------------------------------

test('zImage: decompressed size + BSS from the KLSZ tag and the size word', () => {
  const bytes = zImage({ size: 0x6000, decompressed: 0x15a50c8, bss: 0x601c0, appended: 0x100 });
  assert.equal(kernel('armv7', bytes), {
    kind: 'kernel',
    format: 'arm-zimage',
    arch: 'armv7',
    fileSize: 0x6100,
    endianness: 'little',
    loadAlign: 4,
    textOffset: 0x8000,
    imageSize: 0x15a50c8 + 0x601c0,
    imageSizeKnown: true,
    zImageSize: 0x6000,
    linkAddress: 0,
    appendedBytes: 0x100,
    bssSize: 0x601c0,
  });
});

test('zImage: TEXT_OFFSET from a 6-word KLSZ tag; link address reported', () => {
  const k = kernel('armv7', zImage({ textOffset: 0x208000, start: 0x10008000 }));
  assert.is(k.textOffset, 0x208000);
  assert.is(k.format === 'arm-zimage' && k.linkAddress, 0x10008000);
  assert.is(problem('armv7', zImage({ textOffset: 0x208001 })).code, BootCode.KernelHeaderInvalid);
});

test('zImage: size word beyond the bytes given asks for exactly enough; no table gives a flagged estimate', () => {
  const full = zImage({ size: 0x20000, decompressed: 0x900000, bss: 0x4000 });
  const p = problem('armv7', full.subarray(0, 0x1000), full.length);
  assert.is(p.code, BootCode.NeedMoreBytes);
  assert.is(p.needBytes, 0x20000 - 8 + 4);
  assert.is(kernel('armv7', full.subarray(0, p.needBytes), full.length).imageSize, 0x900000 + 0x4000);
  const noTable = kernel('armv7', zImage({ size: 0x3000, table: false }));
  assert.is(noTable.imageSizeKnown, false);
  assert.ok(noTable.imageSize >= 4 * 0x3000);
});

test('zImage: big-endian (BE8), end before start, cut short, table outside: problems', () => {
  assert.is(problem('armv7', zImage({ endian: 0x01020304 })).code, BootCode.BigEndian);
  const backwards = zImage();
  new DataView(backwards.buffer).setUint32(0x2c, 0, true);
  assert.is(problem('armv7', backwards).code, BootCode.KernelHeaderInvalid);
  const full = zImage({ size: 0x4000 });
  assert.is(problem('armv7', full.subarray(0, 0x3000)).code, BootCode.KernelTruncated);
  const badTable = zImage({ size: 0x4000 });
  new DataView(badTable.buffer).setUint32(0x38, 0x5000, true);
  assert.is(problem('armv7', badTable).code, BootCode.KernelHeaderInvalid);
  const badWord = zImage({ size: 0x4000 });
  new DataView(badWord.buffer).setUint32(0x108, 0x3ffe, true);
  assert.is(problem('armv7', badWord).code, BootCode.KernelHeaderInvalid);
});

// ---- what the file really is ------------------------------------------------------------------

test('a kernel for another architecture names it and the board that boots it', () => {
  const samples: [Arch, Uint8Array, string][] = [
    ['aarch64', zImage(), 'qemu-virt-armv7'],
    ['aarch64', riscvImage(), 'qemu-virt-riscv64'],
    ['armv7', arm64Image(), 'qemu-virt-aarch64'],
    ['armv7', riscvImage(), 'qemu-virt-riscv64'],
    ['riscv64', arm64Image(), 'qemu-virt-aarch64'],
    ['riscv64', zImage(), 'qemu-virt-armv7'],
  ];
  for (const [arch, bytes, board] of samples) {
    const p = problem(arch, bytes);
    assert.is(p.code, BootCode.KernelWrongArch, `${arch} given a ${board} kernel`);
    assert.ok(p.hint?.includes(board), p.hint);
  }
  const x86 = new Uint8Array(0x1000);
  x86.set([0x48, 0x64, 0x72, 0x53], 0x202);
  const p = problem('aarch64', x86);
  assert.is(p.code, BootCode.KernelWrongArch);
  assert.ok(p.message.includes('x86'));
});

test('a gzip-compressed Image: the hint decompresses it into the Image vman wants', () => {
  const image = arm64Image({ size: 0x3000, imageSize: 0x100000n });
  for (const arch of ['aarch64', 'riscv64'] as const) {
    const source = arch === 'aarch64' ? image : riscvImage({ size: 0x3000 });
    const p = problem(arch, gzipSync(source));
    assert.is(p.code, BootCode.KernelCompressed);
    const out = runHint(p.hint!, gzipSync(source), 'Image');
    assert.is(kernel(arch, out).format, arch === 'aarch64' ? 'arm64-image' : 'riscv-image');
  }
  assert.is(problem('armv7', gzipSync(zImage())).code, BootCode.KernelCompressed);
});

test('xz, zstd, bzip2, lz4 and lzop files are recognised as compressed', () => {
  const real = run('xz', ['-c'], arm64Image()).raw;
  assert.ok(problem('aarch64', real).hint?.includes('xz -dc FILE'));
  const magics: [string, number[]][] = [
    ['zstd', [0x28, 0xb5, 0x2f, 0xfd, 0x24]],
    ['bzip2', [0x42, 0x5a, 0x68, 0x39]],
    ['lz4', [0x02, 0x21, 0x4c, 0x18]],
    ['lzop', [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
  ];
  for (const [tool, magic] of magics) {
    const bytes = new Uint8Array(256);
    bytes.set(magic);
    const p = problem('aarch64', bytes);
    assert.is(p.code, BootCode.KernelCompressed, tool);
    assert.ok(p.hint?.includes(`${tool} -dc`), p.hint);
  }
});

test('an EFI zboot image: the hint extracts the Image from its payload', () => {
  const payload = gzipSync(arm64Image({ size: 0x2000 }));
  const zboot = new Uint8Array(0x400 + payload.length + 16);
  const view = new DataView(zboot.buffer);
  zboot.set([0x4d, 0x5a, 0, 0, 0x7a, 0x69, 0x6d, 0x67]);
  view.setUint32(8, 0x400, true);
  view.setUint32(12, payload.length, true);
  zboot.set(
    [...'gzip'].map((c) => c.charCodeAt(0)),
    24,
  );
  view.setUint32(0x38, 0x818223cd, true);
  zboot.set(payload, 0x400);
  const p = problem('aarch64', zboot);
  assert.is(p.code, BootCode.KernelCompressed);
  assert.is(kernel('aarch64', runHint(p.hint!, zboot, 'Image')).format, 'arm64-image');
});

test('a vmlinux ELF, a U-Boot uImage, an empty or tiny file', () => {
  const elf = problem(
    'aarch64',
    makeElf({
      class: 64,
      machine: EM.AARCH64,
      entry: 0x1000n,
      segments: [{ paddr: 0x1000n, filesz: 0x100n, memsz: 0x100n }],
    }),
  );
  assert.is(elf.code, BootCode.KernelIsElf);
  assert.ok(elf.message.includes('AArch64'));
  const z = zImage({ size: 0x2000 });
  const uimage = new Uint8Array(64 + z.length);
  new DataView(uimage.buffer).setUint32(0, 0x27051956, false);
  uimage.set(z, 64);
  const u = problem('armv7', uimage);
  assert.is(u.code, BootCode.KernelIsUImage);
  assert.is(kernel('armv7', runHint(u.hint!, uimage, 'zImage')).format, 'arm-zimage');
  assert.is(problem('aarch64', new Uint8Array(0)).code, BootCode.ImageEmpty);
  assert.is(problem('aarch64', new Uint8Array(40)).code, BootCode.KernelTruncated);
  assert.is(problem('riscv64', new Uint8Array(4096)).code, BootCode.KernelUnrecognised);
  assert.is(problem('armv7', new Uint8Array(4096)).code, BootCode.KernelUnrecognised);
});

test('too few bytes given for the header: ask for more; fileSize below the bytes is a caller bug', () => {
  const p = problem('aarch64', new Uint8Array(30), 10 * MiB);
  assert.is(p.code, BootCode.NeedMoreBytes);
  assert.is(p.needBytes, KERNEL_HEAD_BYTES);
  assert.throws(() => describeKernel('aarch64', new Uint8Array(100), 99), RangeError);
});

// ---- hostile input ----------------------------------------------------------------------------

const CODES = new Set(Object.keys(BOOT_CODE_DESCRIPTIONS));

function checkResult(r: KernelImage | BootProblem): void {
  if (r.kind === 'problem') {
    assert.ok(CODES.has(r.code), r.code);
    assert.ok(r.message.length > 0);
    return;
  }
  assert.ok(Number.isSafeInteger(r.imageSize) && r.imageSize > 0);
  assert.ok(Number.isSafeInteger(r.textOffset) && r.textOffset % 4096 === 0);
  if (r.format === 'arm-zimage') assert.ok(r.zImageSize <= r.fileSize);
  else if (r.imageSizeKnown) assert.ok(r.imageSize >= r.fileSize);
}

test('any bytes: a description or a problem, never an exception', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ARCHES),
      fc.uint8Array({ maxLength: 1024 }),
      fc.nat(1 << 20),
      (arch, bytes, extra) => {
        checkResult(describeKernel(arch, bytes, bytes.length + (bytes.length >= 64 ? extra : 0)));
      },
    ),
    { numRuns: 2000 },
  );
});

test('mutated real-shaped headers: never an exception, invariants hold', () => {
  const seeds = [arm64Image(), riscvImage(), zImage({ size: 0x1000, textOffset: 0x8000 })];
  fc.assert(
    fc.property(
      fc.constantFrom(...ARCHES),
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(0x140), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat(0x1000),
      (arch, seed, edits, cut) => {
        const bytes = seed.slice(0, seed.length - cut);
        for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
        checkResult(describeKernel(arch, bytes, bytes.length));
      },
    ),
    { numRuns: 3000 },
  );
});

// ---- the real kernels, when scripts/fetch-payloads.sh has run ------------------------------------

const root = fileURLToPath(new URL('../..', import.meta.url));
const payloads = process.env.VMAN_PAYLOAD_DIR ?? join(root, '.cache', 'payloads');

function head(path: string, bytes: number): Uint8Array {
  const all = readFileSync(path);
  return all.subarray(0, Math.min(bytes, all.length));
}

// Without the payloads these are skipped (a failure under CI): test/helpers/skip.ts.
const noPayload = (path: string) => `no ${path}; run scripts/fetch-payloads.sh`;

const arm64Path = join(payloads, 'arm64', 'Image');
test('real arm64 Image (Debian): described, and `file` agrees on endianness and page size', () => {
  if (!existsSync(arm64Path)) return skip(`real arm64 Image: ${noPayload(arm64Path)}`);
  const size = statSync(arm64Path).size;
  const k = kernel('aarch64', head(arm64Path, KERNEL_HEAD_BYTES), size);
  assert.is(k.format, 'arm64-image');
  assert.ok(k.imageSizeKnown && k.imageSize >= size);
  const file = run('file', ['-b', arm64Path]).stdout;
  assert.ok(file.includes('little-endian'));
  assert.ok(k.format === 'arm64-image' && file.includes(`${(k.pageSize ?? 0) / 1024}K pages`), file);
  assert.is(problem('armv7', head(arm64Path, KERNEL_HEAD_BYTES), size).code, BootCode.KernelWrongArch);
  assert.is(problem('riscv64', head(arm64Path, KERNEL_HEAD_BYTES), size).code, BootCode.KernelWrongArch);
  assert.is(problem('aarch64', gzipSync(head(arm64Path, KERNEL_HEAD_BYTES))).code, BootCode.KernelCompressed);
});

const riscvPath = join(payloads, 'riscv64', 'Image');
test("real RISC-V Image (Debian trixie's /boot/vmlinux-*): taken as it is, EFI PE header and all", () => {
  if (!existsSync(riscvPath)) return skip(`real RISC-V Image: ${noPayload(riscvPath)}`);
  const size = statSync(riscvPath).size;
  const k = kernel('riscv64', head(riscvPath, KERNEL_HEAD_BYTES), size);
  assert.ok(k.format === 'riscv-image' && k.imageSizeKnown && k.imageSize >= size);
  assert.is(k.textOffset, 0x200000);
  assert.equal(k.format === 'riscv-image' && k.version, { major: 0, minor: 2 });
  // The EFI stub's "MZ" is the Image's first instruction: file(1) sees the PE image, vman the Image header.
  assert.match(run('file', ['-b', riscvPath]).stdout, /^PE32\+ executable \(EFI application\) RISC-V 64-bit/);
  assert.is(problem('aarch64', head(riscvPath, KERNEL_HEAD_BYTES), size).code, BootCode.KernelWrongArch);
  assert.is(problem('armv7', head(riscvPath, KERNEL_HEAD_BYTES), size).code, BootCode.KernelWrongArch);
  assert.is(problem('riscv64', gzipSync(head(riscvPath, KERNEL_HEAD_BYTES))).code, BootCode.KernelCompressed);
});

const zImagePath = join(payloads, 'armv7', 'zImage');
test('real ARMv7 zImage (Debian): decompressed size agrees with xz unpacking its piggy', () => {
  if (!existsSync(zImagePath)) return skip(`real ARMv7 zImage: ${noPayload(zImagePath)}`);
  const all = new Uint8Array(readFileSync(zImagePath));
  const k = kernel('armv7', all);
  assert.is(k.format, 'arm-zimage');
  assert.ok(k.format === 'arm-zimage' && k.imageSizeKnown && k.bssSize > 0 && k.zImageSize <= all.length);
  assert.is(run('file', ['-b', zImagePath]).stdout.includes('zImage (little-endian)'), true);
  // The piggy is an xz stream; the decompressor's own code holds the magic too, so try each.
  const magic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  let unpacked: number | undefined;
  for (
    let at = Buffer.from(all).indexOf(magic);
    at !== -1 && unpacked === undefined;
    at = Buffer.from(all).indexOf(magic, at + 1)
  ) {
    try {
      unpacked = run('xz', ['-dc', '--single-stream'], all.subarray(at)).raw.length;
    } catch {
      // not the piggy
    }
  }
  assert.ok(unpacked !== undefined, 'no xz stream in the zImage');
  assert.is(k.format === 'arm-zimage' && k.imageSize - k.bssSize, unpacked);
  // With only the head, the loader is told how much more to read, and that is enough.
  const partial = problem('armv7', all.subarray(0, KERNEL_HEAD_BYTES), all.length);
  assert.is(partial.code, BootCode.NeedMoreBytes);
  assert.ok(partial.needBytes! > KERNEL_HEAD_BYTES && partial.needBytes! <= all.length);
  assert.equal(kernel('armv7', all.subarray(0, partial.needBytes), all.length), { ...k, fileSize: all.length });
  assert.is(problem('aarch64', all.subarray(0, KERNEL_HEAD_BYTES), all.length).code, BootCode.KernelWrongArch);
});

test.run();
