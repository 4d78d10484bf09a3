// Where kernel, initrd, DTB and bare-metal images go inside a partition: one place, used by the
// tree (/chosen) and by the loader. Pure.
//
// Linux kernels (bottom-up, so DTB and initrd stay in ARMv7 lowmem):
//   arm64   kernel at base + text_offset (base 2 MiB-aligned); DTB slot at the next 2 MiB boundary
//           after the kernel's image_size; initrd right after the DTB slot.
//   riscv64 kernel at base (2 MiB-aligned; the firmware lives outside the partition); DTB slot and
//           initrd as for arm64.
//   armv7   base 128 MiB-aligned (AUTO_ZRELADDR masks the zImage address with 0xf8000000); the
//           zImage at base + align2M(0x8000 + decompressed size), above where it decompresses to;
//           DTB slot at align2M(zImage end + 1 MiB) (the decompressor's BSS, stack and heap follow
//           the zImage); initrd after the slot; everything within the first 768 MiB (lowmem).
// Bare-metal images: raw at base + load (entered at base + entry), ELF segments at p_paddr;
//   the DTB slot is the last 2 MiB of the partition.
// The DTB slot is always 2 MiB, so bootargs and overlays never move any other address.
import type { Arch, MemRange } from '../board/model.js';
import type { BootImage, KernelImage } from './types.js';
import { BOOT_PROTOCOLS } from './protocol.js';
import { end, overlaps } from '../units/ranges.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The fixed DTB slot. */
export const DTB_SLOT = 2 * MiB;
const PAGE = 4 * KiB;
/** Room the ARMv7 decompressor needs after the zImage (its BSS, 4 KiB stack, 64 KiB heap), rounded up. */
const ZIMAGE_WORKSPACE = 1 * MiB;

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

export type LayoutInput =
  | {
      readonly kind: 'kernel';
      readonly arch: Arch;
      readonly memory: MemRange;
      readonly kernel: KernelImage;
      readonly initrdSize?: number;
    }
  | {
      readonly kind: 'image';
      readonly arch: Arch;
      readonly memory: MemRange;
      readonly image: BootImage;
      readonly load?: number;
      readonly entry?: number;
    };

/** One range of a file placed in memory. */
export interface Placed {
  readonly what: 'kernel' | 'initrd' | 'image' | 'segment';
  readonly offset: number;
  readonly size: number;
  readonly addr: number;
  /** Bytes zeroed after the file bytes (ELF p_memsz beyond p_filesz). */
  readonly zero: number;
}

export interface BootLayout {
  readonly entry: number;
  readonly dtb: MemRange;
  /** The memory the kernel occupies once running (image_size from its load address), for overlap checks. */
  readonly kernel?: MemRange;
  readonly initrd?: MemRange;
  readonly placed: readonly Placed[];
}

/** Why a layout does not fit, with the manifest field to point at. */
export interface LayoutProblem {
  readonly kind: 'problem';
  readonly code: 'too-small' | 'too-large' | 'outside' | 'overlap';
  readonly field: 'spec.memory' | 'spec.boot.load' | 'spec.boot.entry' | 'spec.boot.image' | 'spec.boot.initrd';
  readonly message: string;
  readonly hint?: string;
}

const hex = (n: number) => `0x${n.toString(16)}`;
const mib = (n: number) => (n % MiB === 0 ? `${n / MiB} MiB` : n % KiB === 0 ? `${n / KiB} KiB` : `${n} bytes`);
/** The alignment a partition's memory base needs for what it boots. */
export function baseAlignment(arch: Arch, boot: 'kernel' | 'image'): number {
  return boot === 'kernel' ? BOOT_PROTOCOLS[arch].partitionAlign : PAGE;
}

/** The physical range an ELF image's segments cover (the partition must contain it). */
export function elfCover(image: BootImage): MemRange | undefined {
  if (image.kind !== 'elf' || image.segments.length === 0) return undefined;
  const lo = Math.min(...image.segments.map((s) => s.paddr));
  const hi = Math.max(...image.segments.map((s) => s.paddr + s.memsz));
  const base = Math.floor(lo / PAGE) * PAGE;
  return { base, size: alignUp(hi, PAGE) - base };
}

function layoutKernel(
  arch: Arch,
  mem: MemRange,
  k: KernelImage,
  initrdSize: number | undefined,
): BootLayout | LayoutProblem {
  let kernelAt: number;
  let running: MemRange;
  let afterKernel: number;
  if (k.format === 'arm-zimage') {
    // The decompressed kernel occupies base + textOffset … + imageSize; the zImage goes above it.
    running = { base: mem.base + k.textOffset, size: k.imageSize };
    kernelAt = mem.base + alignUp(k.textOffset + k.imageSize, 2 * MiB);
    afterKernel = alignUp(kernelAt + k.fileSize + ZIMAGE_WORKSPACE, 2 * MiB);
  } else {
    const offset = k.format === 'arm64-image' ? k.textOffset : 0;
    kernelAt = mem.base + offset;
    running = { base: kernelAt, size: Math.max(k.imageSize, k.fileSize) };
    afterKernel = alignUp(end(running), 2 * MiB);
  }
  const dtb = { base: afterKernel, size: DTB_SLOT };
  const initrd = initrdSize ? { base: end(dtb), size: initrdSize } : undefined;
  const top = initrd ? end(initrd) : end(dtb);
  const need = top - mem.base;
  if (need > mem.size) {
    return {
      kind: 'problem',
      code: 'too-small',
      field: 'spec.memory',
      message:
        `memory ${mib(mem.size)} is too small for this boot: kernel, ` +
        `the 2 MiB DTB slot${initrd ? ' and the initrd' : ''} need ${mib(alignUp(need, PAGE))}`,
      hint: `give the partition at least ${mib(alignUp(need, MiB) + 64 * MiB)}, leaving room for the OS`,
    };
  }
  const limit = BOOT_PROTOCOLS[arch].lowmemLimit;
  if (limit !== undefined && need > limit) {
    return {
      kind: 'problem',
      code: 'too-small',
      field: 'spec.boot.initrd',
      message:
        `the initrd would end ${mib(need)} into the partition; ` +
        `ARMv7 kernels need DTB and initrd within the first ${mib(limit)} (lowmem)`,
      hint: 'use a smaller initrd',
    };
  }
  const placed: Placed[] = [{ what: 'kernel', offset: 0, size: k.fileSize, addr: kernelAt, zero: 0 }];
  if (initrd) placed.push({ what: 'initrd', offset: 0, size: initrd.size, addr: initrd.base, zero: 0 });
  return { entry: kernelAt, dtb, kernel: running, ...(initrd ? { initrd } : {}), placed };
}

function layoutImage(
  mem: MemRange,
  image: BootImage,
  load: number | undefined,
  entry: number | undefined,
): BootLayout | LayoutProblem {
  if (mem.size < DTB_SLOT + PAGE) {
    return {
      kind: 'problem',
      code: 'too-small',
      field: 'spec.memory',
      message: `memory ${mib(mem.size)} is too small: the DTB slot alone takes the last 2 MiB`,
      hint: 'give the partition at least 4Mi',
    };
  }
  const dtb = { base: end(mem) - DTB_SLOT, size: DTB_SLOT };
  if (image.kind === 'raw') {
    const at = load ?? 0;
    const enter = entry ?? at;
    const range = { base: mem.base + at, size: image.size };
    if (image.size + DTB_SLOT > mem.size) {
      return {
        kind: 'problem',
        code: 'too-large',
        field: 'spec.memory',
        message: `the image (${mib(image.size)}) and the 2 MiB DTB slot do not fit in the partition's ${mib(mem.size)}`,
        hint: `give the partition at least ${mib(alignUp(image.size + DTB_SLOT, MiB))}`,
      };
    }
    if (end(range) > end(mem)) {
      return {
        kind: 'problem',
        code: 'outside',
        field: load === undefined ? 'spec.boot.image' : 'spec.boot.load',
        message:
          `the image (${mib(image.size)}) loaded at offset ${hex(at)} ends ` +
          `${hex(end(range) - mem.base)} into the partition, past its ${mib(mem.size)}`,
        hint: 'give the partition more memory, or load the image lower',
      };
    }
    if (enter >= mem.size) {
      return {
        kind: 'problem',
        code: 'outside',
        field: 'spec.boot.entry',
        message: `entry offset ${hex(enter)} lies outside the partition's ${mib(mem.size)}`,
      };
    }
    if (overlaps(range, dtb)) {
      return {
        kind: 'problem',
        code: 'overlap',
        field: 'spec.memory',
        message:
          `the image at ${hex(range.base)}–${hex(end(range) - 1)} reaches into the DTB slot, ` +
          `the last 2 MiB of the partition (${hex(dtb.base)})`,
        hint: 'give the partition 2 MiB more memory',
      };
    }
    return {
      entry: mem.base + enter,
      dtb,
      placed: [{ what: 'image', offset: 0, size: image.size, addr: range.base, zero: 0 }],
    };
  }
  const placed: Placed[] = [];
  for (const s of image.segments) {
    const r = { base: s.paddr, size: s.memsz };
    if (r.base < mem.base || end(r) > end(mem)) {
      return {
        kind: 'problem',
        code: 'outside',
        field: 'spec.boot.image',
        message:
          `ELF segment ${s.index} at ${hex(r.base)}–${hex(end(r) - 1)} lies ` +
          `outside the partition's memory ${hex(mem.base)}–${hex(end(mem) - 1)}`,
        hint: 'place the partition over the image (drop memory.base), or relink the image',
      };
    }
    if (overlaps(r, dtb)) {
      return {
        kind: 'problem',
        code: 'overlap',
        field: 'spec.memory',
        message:
          `ELF segment ${s.index} at ${hex(r.base)}–${hex(end(r) - 1)} reaches into the DTB slot, ` +
          `the last 2 MiB of the partition (${hex(dtb.base)})`,
        hint: 'give the partition 2 MiB more memory',
      };
    }
    placed.push({ what: 'segment', offset: s.offset, size: s.filesz, addr: s.paddr, zero: s.memsz - s.filesz });
  }
  const e = image.entry - (image.entry % 2);
  if (e < mem.base || e >= end(mem)) {
    return {
      kind: 'problem',
      code: 'outside',
      field: 'spec.boot.image',
      message: `the ELF entry point ${hex(image.entry)} lies outside the partition's memory`,
    };
  }
  return { entry: image.entry, dtb, placed };
}

/** Lays out one partition's boot, or says why it does not fit. */
export function planLayout(input: LayoutInput): BootLayout | LayoutProblem {
  return input.kind === 'kernel'
    ? layoutKernel(input.arch, input.memory, input.kernel, input.initrdSize)
    : layoutImage(input.memory, input.image, input.load, input.entry);
}
