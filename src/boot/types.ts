// What src/boot says about a boot image: a description the layout can use, or a problem.
// Problems are values (`kind: 'problem'`), never exceptions; they fit rules/Diagnostic.

import type { Arch } from '../board/model.js';
import type { BootCode } from './codes.js';

export type Endianness = 'little' | 'big';

/** Why an image cannot be booted, and how to fix it. */
export interface BootProblem {
  readonly kind: 'problem';
  readonly code: BootCode;
  readonly message: string;
  readonly hint?: string;
  /** Only with `NeedMoreBytes`: pass at least this many bytes from the start of the file. */
  readonly needBytes?: number;
}

interface KernelCommon {
  readonly kind: 'kernel';
  readonly arch: Arch;
  readonly fileSize: number;
  readonly endianness: Endianness;
  /**
   * Bytes the kernel occupies from its load address once running, BSS included
   * (for a zImage: the decompressed kernel, from `textOffset`).
   */
  readonly imageSize: number;
  /**
   * False when the header does not say (arm64 Image before v3.17,
   * zImage before v4.15): `imageSize` is then a floor or an estimate.
   */
  readonly imageSizeKnown: boolean;
  /** The load address must be `textOffset` past a multiple of this (the protocol's base alignment). */
  readonly loadAlign: number;
}

/** An arm64 `Image` (Documentation/arch/arm64/booting.rst §4). Entered at its first byte. */
export interface Arm64Kernel extends KernelCommon {
  readonly format: 'arm64-image';
  /** Load at a 2 MiB-aligned base + textOffset (0x80000 when the header's image_size is 0). */
  readonly textOffset: number;
  /** Page size the kernel was built for; undefined when the header leaves it unspecified. */
  readonly pageSize: 4096 | 16384 | 65536 | undefined;
  /** Flags bit 3: 'anywhere' in physical memory, or 'near-dram-base' (memory below the base is lost to the kernel). */
  readonly placement: 'near-dram-base' | 'anywhere';
}

/** A RISC-V `Image` (Documentation/arch/riscv/boot-image-header.rst). Entered at its first byte (by OpenSBI). */
export interface RiscvKernel extends KernelCommon {
  readonly format: 'riscv-image';
  /** Load at a 2 MiB-aligned base + textOffset; 0x200000 on RV64, leaving the first 2 MiB to the firmware. */
  readonly textOffset: number;
  readonly version: { readonly major: number; readonly minor: number };
}

/**
 * An ARMv7 `zImage` (Documentation/arch/arm/booting.rst §6; arch/arm/boot/compressed/head.S).
 * Position independent: loaded anywhere word-aligned in the first 128 MiB of RAM and entered at its
 * first byte; it decompresses the kernel to RAM start + `textOffset`.
 */
export interface ArmZImage extends KernelCommon {
  readonly format: 'arm-zimage';
  /** Where the decompressed kernel goes, from the start of RAM: TEXT_OFFSET from the KLSZ tag, else 0x8000. */
  readonly textOffset: number;
  /** Bytes the zImage itself spans (header `end - start`); the file may carry an appended DTB after them. */
  readonly zImageSize: number;
  /** Link address of a non position-independent zImage; 0 (the norm) when it runs anywhere. */
  readonly linkAddress: number;
  /** Bytes after the zImage proper (an appended DTB, say). */
  readonly appendedBytes: number;
  /** BSS of the decompressed kernel, from the zImage's extension table (0 if it has none). */
  readonly bssSize: number;
}

export type KernelImage = Arm64Kernel | RiscvKernel | ArmZImage;

/** One PT_LOAD segment that loads bytes. Addresses are physical (p_paddr). */
export interface ElfSegment {
  /** Index of its program header. */
  readonly index: number;
  readonly paddr: number;
  readonly offset: number;
  readonly filesz: number;
  readonly memsz: number;
  /** PF_X | PF_W | PF_R. */
  readonly flags: number;
}

export type ElfMachine = 'aarch64' | 'arm' | 'riscv' | 'other';

/** A bare-metal ELF: its segments go to their physical addresses. */
export interface ElfImage {
  readonly kind: 'elf';
  readonly class: 32 | 64;
  readonly endianness: Endianness;
  readonly type: 'exec' | 'dyn';
  /** e_machine, and what vman calls it. */
  readonly machine: number;
  readonly machineName: ElfMachine;
  /**
   * Where to enter with the MMU off: e_entry (virtual) translated
   * through the segment that holds it; bit 0 kept for Thumb.
   */
  readonly entry: number;
  /** ARMv7 only: the entry is Thumb code (bit 0 of e_entry). */
  readonly thumb: boolean;
  /** PT_LOAD segments with p_memsz > 0, in program header order. */
  readonly segments: readonly ElfSegment[];
  readonly fileSize: number;
}

/** Anything that is not ELF, for `boot.image`: loaded at base + load, entered at base + entry. */
export interface RawImage {
  readonly kind: 'raw';
  readonly size: number;
}

export type BootImage = ElfImage | RawImage;
