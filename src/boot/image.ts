// Identify and describe boot images from their first bytes: Linux kernels (arm64 Image,
// ARMv7 zImage, RISC-V Image) for `boot.kernel`, bare-metal ELF or raw binaries for `boot.image`.
// Pure: the loader reads the file and passes its head (KERNEL_HEAD_BYTES) and size.

import type { Arch } from '../board/model.js';
import { BootCode } from './codes.js';
import { ByteReader, hex, toSafeNumber } from './bytes.js';
import { describeElf, ELF_MAGIC, elfMachineLabel } from './elf.js';
import type { ArmZImage, Arm64Kernel, BootImage, BootProblem, KernelImage, RiscvKernel } from './types.js';

export { describeElf, ELF_MAX_PROGRAM_HEADERS } from './elf.js';
export type { DescribeElfOptions } from './elf.js';

/** How many bytes from the start of a kernel the loader should pass (the whole file if smaller). */
export const KERNEL_HEAD_BYTES = 64 * 1024;

const MiB = 1024 * 1024;
const PAGE = 4096;

// arm64 Image header: Documentation/arch/arm64/booting.rst §4 "Call the kernel image".
const ARM64_HEADER_SIZE = 64;
const ARM64_TEXT_OFFSET = 8;
const ARM64_IMAGE_SIZE = 16;
const ARM64_FLAGS = 24;
const ARM64_MAGIC_OFFSET = 56;
const ARM64_MAGIC = [0x41, 0x52, 0x4d, 0x64]; // "ARM\x64"
/** Before v3.17 image_size is 0 and text_offset (of unknown endianness) is 0x80000. */
const ARM64_LEGACY_TEXT_OFFSET = 0x80000;
const ARM64_FLAG_BE = 1n;
const ARM64_FLAG_PAGE_SHIFT = 1n;
const ARM64_FLAG_PHYS_BASE = 1n << 3n;
const ARM64_PAGE_SIZES = [undefined, 4096, 16384, 65536] as const;
const ARM64_BASE_ALIGN = 2 * MiB;

// RISC-V Image header: Documentation/arch/riscv/boot-image-header.rst.
const RISCV_HEADER_SIZE = 64;
const RISCV_TEXT_OFFSET = 8;
const RISCV_IMAGE_SIZE = 16;
const RISCV_FLAGS = 24;
const RISCV_VERSION = 32;
const RISCV_MAGIC_OFFSET = 48;
const RISCV_MAGIC = [0x52, 0x49, 0x53, 0x43, 0x56, 0, 0, 0]; // "RISCV\0\0\0", deprecated since 0.2
const RISCV_MAGIC2_OFFSET = 56;
const RISCV_MAGIC2 = [0x52, 0x53, 0x43, 0x05]; // "RSC\x05"
const RISCV_FLAG_BE = 1n;
/** boot.rst "Kernel location": a PMD boundary, 2 MiB on RV64. */
const RISCV_BASE_ALIGN = 2 * MiB;

// ARMv7 zImage header: arch/arm/boot/compressed/head.S (the words after the 8 or 9 nops) and vmlinux.lds.S.
const ZIMAGE_MAGIC_OFFSET = 0x24;
const ZIMAGE_MAGIC = 0x016f2818;
const ZIMAGE_START = 0x28;
const ZIMAGE_END = 0x2c;
/** The endianness word: 0x04030201 in a little-endian zImage; this value (read little-endian) in a big-endian one. */
const ZIMAGE_ENDIAN = 0x30;
const ZIMAGE_ENDIAN_BE = 0x01020304;
const ZIMAGE_HEADER_SIZE = 0x34;
/** `0x45454545` then the offset of the extension table (tags of {size in words, tag, data…}, ended by size 0). */
const ZIMAGE_TABLE_MAGIC_OFFSET = 0x34;
const ZIMAGE_TABLE_MAGIC = 0x45454545;
const ZIMAGE_TABLE_OFFSET = 0x38;
/** Tag "KLSZ": {offset of the decompressed-size word, kernel BSS size}. */
const ZIMAGE_TAG_KERNEL_SIZE = 0x5a534c4b;
const ZIMAGE_MAX_TAGS = 32;
/**
 * TEXT_OFFSET when a zImage has no 6-word KLSZ tag to say it: arch/arm/Makefile's default 0x8000.
 * Kernels built with some platforms differ (Debian's armmp, with ARCH_MESON: 0x208000).
 */
const ZIMAGE_TEXT_OFFSET = 0x8000;
const ZIMAGE_MAX_TEXT_OFFSET = 16 * MiB;
/** A bound on decompressed kernel + BSS for a zImage without the KLSZ tag (xz gives about 4.2x on Debian's). */
const ZIMAGE_EXPANSION_ESTIMATE = 6;
const ZIMAGE_ALIGN = 4;

// Other formats, recognised only to say what a file is.
const X86_SETUP_MAGIC_OFFSET = 0x202;
const X86_SETUP_MAGIC = [0x48, 0x64, 0x72, 0x53]; // "HdrS"
const UIMAGE_MAGIC = 0x27051956; // big-endian, U-Boot include/image.h
const UIMAGE_HEADER_SIZE = 64;
const UIMAGE_COMP_OFFSET = 31;
const UIMAGE_COMPRESSION = ['none', 'gzip', 'bzip2', 'lzma', 'lzo', 'lz4', 'zstd'] as const;
// EFI zboot (drivers/firmware/efi/libstub/zboot-header.S): "MZ", "zimg", payload offset, size, compression name.
const ZBOOT_TYPE_OFFSET = 4;
const ZBOOT_TYPE = [0x7a, 0x69, 0x6d, 0x67]; // "zimg"
const ZBOOT_PAYLOAD_OFFSET = 8;
const ZBOOT_PAYLOAD_SIZE = 12;
const ZBOOT_COMPRESSION = 24;
const MZ = [0x4d, 0x5a];

/** Compressed-file signatures, with the tool that decompresses each. */
const COMPRESSIONS: readonly { readonly tool: string; readonly magic: readonly number[] }[] = [
  { tool: 'gzip', magic: [0x1f, 0x8b, 0x08] },
  { tool: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { tool: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd] },
  { tool: 'bzip2', magic: [0x42, 0x5a, 0x68] },
  { tool: 'lz4', magic: [0x02, 0x21, 0x4c, 0x18] },
  { tool: 'lz4', magic: [0x04, 0x22, 0x4d, 0x18] },
  { tool: 'lzop', magic: [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a] },
];

type KernelFormat = KernelImage['format'] | 'x86-bzimage';

const FORMAT_FOR_ARCH = {
  aarch64: 'arm64-image',
  armv7: 'arm-zimage',
  riscv64: 'riscv-image',
} as const satisfies Record<Arch, KernelImage['format']>;

const FORMAT_NAMES = {
  'arm64-image': 'an arm64 Image',
  'arm-zimage': 'an ARMv7 zImage',
  'riscv-image': 'a RISC-V Image',
  'x86-bzimage': 'an x86 bzImage',
} as const satisfies Record<KernelFormat, string>;

const FORMAT_EVIDENCE = {
  'arm64-image': '"ARM\\x64" magic at offset 56',
  'arm-zimage': `zImage magic ${hex(ZIMAGE_MAGIC)} at offset ${hex(ZIMAGE_MAGIC_OFFSET)}`,
  'riscv-image': '"RSC\\x05" magic at offset 56 (or "RISCV" at 48)',
  'x86-bzimage': '"HdrS" at offset 0x202',
} as const satisfies Record<KernelFormat, string>;

const BOARD_FOR_FORMAT = {
  'arm64-image': 'qemu-virt-aarch64',
  'arm-zimage': 'qemu-virt-armv7',
  'riscv-image': 'qemu-virt-riscv64',
  'x86-bzimage': undefined,
} as const satisfies Record<KernelFormat, string | undefined>;

/** Where each format's build leaves the bootable kernel, for hints. */
const BUILD_OUTPUT = {
  'arm64-image': 'arch/arm64/boot/Image',
  'arm-zimage': 'arch/arm/boot/zImage',
  'riscv-image': 'arch/riscv/boot/Image',
} as const satisfies Record<KernelImage['format'], string>;

function problem(code: BootProblem['code'], message: string, hint?: string): BootProblem {
  return hint === undefined ? { kind: 'problem', code, message } : { kind: 'problem', code, message, hint };
}

function checkFileSize(head: Uint8Array, fileSize: number): void {
  if (!Number.isSafeInteger(fileSize) || fileSize < head.length) {
    throw new RangeError(`fileSize ${fileSize} must be an integer no smaller than the ${head.length} bytes given`);
  }
}

/** Which kernel format the bytes carry, by magic alone. */
function kernelFormatOf(r: ByteReader): KernelFormat | undefined {
  if (r.matches(ARM64_MAGIC_OFFSET, ARM64_MAGIC)) return 'arm64-image';
  if (r.matches(RISCV_MAGIC2_OFFSET, RISCV_MAGIC2) || r.matches(RISCV_MAGIC_OFFSET, RISCV_MAGIC)) return 'riscv-image';
  if (r.u32(ZIMAGE_MAGIC_OFFSET) === ZIMAGE_MAGIC) return 'arm-zimage';
  if (r.matches(X86_SETUP_MAGIC_OFFSET, X86_SETUP_MAGIC)) return 'x86-bzimage';
  return undefined;
}

/** A file that wraps or compresses a kernel instead of being one: say what it is and how to get the kernel out. */
function containerProblem(arch: Arch, r: ByteReader): BootProblem | undefined {
  const wanted = FORMAT_FOR_ARCH[arch];
  const name = FORMAT_NAMES[wanted];
  if (r.matches(0, MZ) && r.matches(ZBOOT_TYPE_OFFSET, ZBOOT_TYPE)) {
    const offset = r.u32(ZBOOT_PAYLOAD_OFFSET) ?? 0;
    const size = r.u32(ZBOOT_PAYLOAD_SIZE) ?? 0;
    const tool = r.cstring(ZBOOT_COMPRESSION, 16) ?? 'gzip';
    return problem(
      BootCode.KernelCompressed,
      `an EFI zboot image (vmlinuz.efi) holding a ${tool}-compressed kernel, ` +
        `not ${name}: vman needs the decompressed kernel Image`,
      `extract it: tail -c +${offset + 1} FILE | head -c ${size} | ${tool} -dc > Image`,
    );
  }
  for (const c of COMPRESSIONS) {
    if (!r.matches(0, c.magic)) continue;
    const decompress = `${c.tool} -dc FILE > ${wanted === 'arm-zimage' ? 'zImage' : 'Image'}`;
    if (wanted === 'arm-zimage') {
      return problem(
        BootCode.KernelCompressed,
        `a ${c.tool}-compressed file, not ${name}: vman boots the self-decompressing zImage as it is`,
        `use ${BUILD_OUTPUT[wanted]} (Debian's /boot/vmlinuz-*-armmp is one); ` +
          `if this file holds a zImage, ${decompress}`,
      );
    }
    // booting.rst §3: the arm64 kernel has no decompressor; RISC-V likewise boots the plain Image.
    const debian = wanted === 'arm64-image' ? " (Debian's /boot/vmlinuz-*-arm64 is a gzip-compressed Image)" : '';
    return problem(
      BootCode.KernelCompressed,
      `a ${c.tool}-compressed file, not ${name}: vman needs the decompressed kernel Image${debian}`,
      `decompress it: ${decompress}, or use ${BUILD_OUTPUT[wanted]} from the kernel build`,
    );
  }
  if (r.matches(0, ELF_MAGIC)) {
    const label = elfMachineLabel(r.bytes);
    return problem(
      BootCode.KernelIsElf,
      `an ELF file${label ? ` for ${label}` : ''} (a vmlinux?), not ${name}`,
      `boot ${BUILD_OUTPUT[wanted]} from the kernel build, ` +
        'or give a bare-metal ELF as boot.image instead of boot.kernel',
    );
  }
  if (r.has(0, 4) && new ByteReader(r.bytes, false).u32(0) === UIMAGE_MAGIC) {
    const comp = UIMAGE_COMPRESSION[r.u8(UIMAGE_COMP_OFFSET) ?? 0] ?? 'unknown';
    const then = comp === 'none' ? '' : `, then decompress it (${comp})`;
    return problem(
      BootCode.KernelIsUImage,
      `a U-Boot legacy uImage, not ${name}: vman loads the kernel without U-Boot's header`,
      'strip the 64-byte header: ' +
        `tail -c +${UIMAGE_HEADER_SIZE + 1} FILE > ${wanted === 'arm-zimage' ? 'zImage' : 'Image'}${then}`,
    );
  }
  return undefined;
}

function headerInvalid(name: string, what: string, hint?: string): BootProblem {
  return problem(BootCode.KernelHeaderInvalid, `${name} with an invalid header: ${what}`, hint);
}

function bigEndian(name: string, where: string): BootProblem {
  return problem(
    BootCode.BigEndian,
    `a big-endian kernel (${where}): vman boots little-endian kernels only`,
    `rebuild ${name.replace(/^an? /, '')} without CONFIG_CPU_BIG_ENDIAN`,
  );
}

function arm64Kernel(r: ByteReader, fileSize: number): Arm64Kernel | BootProblem {
  const name = FORMAT_NAMES['arm64-image'];
  const imageSize = r.u64(ARM64_IMAGE_SIZE) ?? 0n;
  const textOffset = r.u64(ARM64_TEXT_OFFSET) ?? 0n;
  const flags = r.u64(ARM64_FLAGS) ?? 0n;
  const common = {
    kind: 'kernel',
    format: 'arm64-image',
    arch: 'aarch64',
    fileSize,
    endianness: 'little',
    loadAlign: ARM64_BASE_ALIGN,
  } as const;
  if (imageSize === 0n) {
    // Pre-v3.17 Image: text_offset is 0x80000 and the kernel's footprint is unknown; the file size is the floor.
    return {
      ...common,
      textOffset: ARM64_LEGACY_TEXT_OFFSET,
      imageSize: fileSize,
      imageSizeKnown: false,
      pageSize: undefined,
      placement: 'near-dram-base',
    };
  }
  if ((flags & ARM64_FLAG_BE) !== 0n) return bigEndian(name, 'arm64 Image flags bit 0');
  const offset = toSafeNumber(textOffset);
  if (offset === undefined || offset >= ARM64_BASE_ALIGN || offset % PAGE !== 0) {
    return headerInvalid(name, `text_offset ${hex(textOffset)} is not a 4 KiB multiple below 2 MiB`);
  }
  const size = toSafeNumber(imageSize);
  if (size === undefined || size < fileSize) {
    return headerInvalid(
      name,
      `image_size ${hex(imageSize)} is smaller than the file (${fileSize} bytes)`,
      'use the Image exactly as the kernel build wrote it, with nothing appended',
    );
  }
  const pageSize = ARM64_PAGE_SIZES[Number((flags >> ARM64_FLAG_PAGE_SHIFT) & 3n)];
  const placement = (flags & ARM64_FLAG_PHYS_BASE) !== 0n ? 'anywhere' : 'near-dram-base';
  return { ...common, textOffset: offset, imageSize: size, imageSizeKnown: true, pageSize, placement };
}

function riscvKernel(r: ByteReader, fileSize: number): RiscvKernel | BootProblem {
  const name = FORMAT_NAMES['riscv-image'];
  const imageSize = r.u64(RISCV_IMAGE_SIZE) ?? 0n;
  const textOffset = r.u64(RISCV_TEXT_OFFSET) ?? 0n;
  const flags = r.u64(RISCV_FLAGS) ?? 0n;
  const version = r.u32(RISCV_VERSION) ?? 0;
  if ((flags & RISCV_FLAG_BE) !== 0n) return bigEndian(name, 'RISC-V Image flags bit 0');
  if (imageSize === 0n) {
    return headerInvalid(
      name,
      'image_size is 0, and a RISC-V boot loader cannot boot without it (boot-image-header.rst)',
    );
  }
  const offset = toSafeNumber(textOffset);
  if (offset === undefined || offset % PAGE !== 0 || offset > 2 * RISCV_BASE_ALIGN) {
    return headerInvalid(name, `text_offset ${hex(textOffset)} is not a 4 KiB multiple of at most 4 MiB`);
  }
  const size = toSafeNumber(imageSize);
  if (size === undefined || size < fileSize) {
    return headerInvalid(
      name,
      `image_size ${hex(imageSize)} is smaller than the file (${fileSize} bytes)`,
      'use the Image exactly as the kernel build wrote it, with nothing appended',
    );
  }
  return {
    kind: 'kernel',
    format: 'riscv-image',
    arch: 'riscv64',
    fileSize,
    endianness: 'little',
    loadAlign: RISCV_BASE_ALIGN,
    textOffset: offset,
    imageSize: size,
    imageSizeKnown: true,
    version: { major: version >>> 16, minor: version & 0xffff },
  };
}

/**
 * The KLSZ tag of a zImage's extension table: {size-word offset,
 * kernel BSS, TEXT_OFFSET, malloc size} (the last two since v4.x).
 */
interface ZImageSizeTag {
  readonly sizeWordOffset: number;
  readonly bssSize: number;
  readonly textOffset: number | undefined;
}

function zImageSizeTag(r: ByteReader, zImageSize: number): ZImageSizeTag | 'invalid' | undefined {
  if (r.u32(ZIMAGE_TABLE_MAGIC_OFFSET) !== ZIMAGE_TABLE_MAGIC) return undefined;
  let at = r.u32(ZIMAGE_TABLE_OFFSET);
  if (at === undefined || at % 4 !== 0 || at >= zImageSize) return 'invalid';
  for (let n = 0; n < ZIMAGE_MAX_TAGS; n++) {
    const words = r.u32(at);
    if (words === undefined || words === 0) return undefined;
    const tag = r.u32(at + 4);
    if (tag === ZIMAGE_TAG_KERNEL_SIZE && words >= 4) {
      const sizeWordOffset = r.u32(at + 8);
      const bssSize = r.u32(at + 12);
      if (sizeWordOffset === undefined || bssSize === undefined) return undefined;
      if (sizeWordOffset + 4 > zImageSize) return 'invalid';
      return { sizeWordOffset, bssSize, textOffset: words >= 5 ? r.u32(at + 16) : undefined };
    }
    at += words * 4;
    if (at >= zImageSize) return 'invalid';
  }
  return undefined;
}

function armZImage(r: ByteReader, fileSize: number): ArmZImage | BootProblem {
  const name = FORMAT_NAMES['arm-zimage'];
  if (!r.has(0, ZIMAGE_HEADER_SIZE)) {
    return problem(
      BootCode.KernelTruncated,
      `the file has ${fileSize} bytes, too few for ${name} header (${ZIMAGE_HEADER_SIZE})`,
    );
  }
  const start = r.u32(ZIMAGE_START) ?? 0;
  const end = r.u32(ZIMAGE_END) ?? 0;
  // BE8 kernels store this word big-endian while the magic words are pre-swapped (vmlinux.lds.S ZIMAGE_MAGIC).
  if (r.u32(ZIMAGE_ENDIAN) === ZIMAGE_ENDIAN_BE)
    return bigEndian(name, `endianness word ${hex(ZIMAGE_ENDIAN_BE)} at offset ${hex(ZIMAGE_ENDIAN)}`);
  if (end <= start) return headerInvalid(name, `end ${hex(end)} is not after start ${hex(start)}`);
  const zImageSize = end - start;
  if (zImageSize > fileSize) {
    return problem(
      BootCode.KernelTruncated,
      `${name} of ${zImageSize} bytes (header start ${hex(start)}, end ${hex(end)}), but the file has only ${fileSize}`,
      'the file was cut short; copy the zImage again',
    );
  }
  const tag = zImageSizeTag(r, zImageSize);
  if (tag === 'invalid')
    return headerInvalid(name, 'its extension table (after 0x45454545 at offset 0x34) points outside the zImage');
  const bssSize = tag?.bssSize ?? 0;
  const textOffset = tag?.textOffset ?? ZIMAGE_TEXT_OFFSET;
  if (textOffset % PAGE !== 0 || textOffset >= ZIMAGE_MAX_TEXT_OFFSET) {
    return headerInvalid(name, `its KLSZ tag gives TEXT_OFFSET ${hex(textOffset)}, not a 4 KiB multiple below 16 MiB`);
  }
  if (tag !== undefined && !r.has(tag.sizeWordOffset, 4)) {
    return {
      kind: 'problem',
      code: BootCode.NeedMoreBytes,
      message: `the zImage's decompressed-size word is at byte ${tag.sizeWordOffset}, past the ${r.length} bytes given`,
      needBytes: tag.sizeWordOffset + 4,
    };
  }
  const sizeWord = tag === undefined ? undefined : r.u32(tag.sizeWordOffset);
  // Without the table (before v4.15) only a bound is possible: ARM kernels compress about 4:1 with xz.
  const estimate = Math.ceil((ZIMAGE_EXPANSION_ESTIMATE * zImageSize) / PAGE) * PAGE;
  return {
    kind: 'kernel',
    format: 'arm-zimage',
    arch: 'armv7',
    fileSize,
    endianness: 'little',
    loadAlign: ZIMAGE_ALIGN,
    textOffset,
    imageSize: sizeWord === undefined ? estimate : sizeWord + bssSize,
    imageSizeKnown: sizeWord !== undefined,
    zImageSize,
    linkAddress: start,
    appendedBytes: fileSize - zImageSize,
    bssSize,
  };
}

const HEADER_SIZES = {
  'arm64-image': ARM64_HEADER_SIZE,
  'arm-zimage': ZIMAGE_HEADER_SIZE,
  'riscv-image': RISCV_HEADER_SIZE,
} as const satisfies Record<KernelImage['format'], number>;

/**
 * Describe a Linux kernel for the board's architecture from the first bytes of its file
 * (pass min(fileSize, KERNEL_HEAD_BYTES); on `NeedMoreBytes`, pass `needBytes` and ask again:
 * a zImage's decompressed size lies near its end). Never throws on any bytes; throws RangeError
 * only if fileSize < head.length.
 */
export function describeKernel(arch: Arch, head: Uint8Array, fileSize: number): KernelImage | BootProblem {
  checkFileSize(head, fileSize);
  if (fileSize === 0) return problem(BootCode.ImageEmpty, 'the kernel file is empty');
  const r = new ByteReader(head);
  const wanted = FORMAT_FOR_ARCH[arch];
  const container = containerProblem(arch, r);
  if (container) return container;
  const found = kernelFormatOf(r);
  if (found === 'arm64-image' && wanted === found) return arm64Kernel(r, fileSize);
  if (found === 'riscv-image' && wanted === found) return riscvKernel(r, fileSize);
  if (found === 'arm-zimage' && wanted === found) return armZImage(r, fileSize);
  const missing = `no ${FORMAT_EVIDENCE[wanted]}`;
  if (found !== undefined) {
    const board = BOARD_FOR_FORMAT[found];
    return problem(
      BootCode.KernelWrongArch,
      `not ${FORMAT_NAMES[wanted]}: ${missing}; this is ${FORMAT_NAMES[found]} (${FORMAT_EVIDENCE[found]})`,
      board === undefined
        ? `vman boots ARM and RISC-V kernels; use ${BUILD_OUTPUT[wanted]} from a kernel built for ${arch}`
        : `use a board of its architecture (${board}), or ${BUILD_OUTPUT[wanted]} from a kernel built for ${arch}`,
    );
  }
  const headerSize = HEADER_SIZES[wanted];
  if (fileSize < headerSize) {
    return problem(
      BootCode.KernelTruncated,
      `the file has ${fileSize} bytes, too few for ${FORMAT_NAMES[wanted]} header (${headerSize})`,
    );
  }
  if (head.length < headerSize) {
    return {
      kind: 'problem',
      code: BootCode.NeedMoreBytes,
      message: `${head.length} bytes given, fewer than the ${headerSize}-byte header`,
      needBytes: Math.min(fileSize, KERNEL_HEAD_BYTES),
    };
  }
  return problem(
    BootCode.KernelUnrecognised,
    `not ${FORMAT_NAMES[wanted]}: ${missing}`,
    wanted === 'arm-zimage'
      ? `use ${BUILD_OUTPUT[wanted]} (a raw arch/arm/boot/Image has no header: ` +
          'give it as boot.image with load at its TEXT_OFFSET, usually 0x8000)'
      : `use ${BUILD_OUTPUT[wanted]} from the kernel build`,
  );
}

/**
 * Describe a bare-metal image for `boot.image`: ELF when it starts with the ELF magic (checked
 * against the board's architecture), raw otherwise (only its size matters).
 * `head` holds the first bytes of the file (the whole file, or at least its ELF and program headers).
 */
export function describeImage(arch: Arch, head: Uint8Array, fileSize: number): BootImage | BootProblem {
  checkFileSize(head, fileSize);
  if (fileSize === 0) return problem(BootCode.ImageEmpty, 'the image file is empty');
  if (new ByteReader(head).matches(0, ELF_MAGIC)) return describeElf(head, { fileSize, arch });
  return { kind: 'raw', size: fileSize };
}
