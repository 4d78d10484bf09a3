// What each architecture's Linux boot protocol demands of a memory layout, as data.
// The layout (kernel, initrd, DTB placement) is designed elsewhere; these are its constraints.

import type { Arch } from '../board/model.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Constraints one architecture's boot protocol puts on where things go. */
export interface BootProtocol {
  readonly arch: Arch;
  /** The kernel goes at a multiple of this plus the image's textOffset. */
  readonly kernelAlign: number;
  /** A partition that boots a Linux kernel needs its memory base on a multiple of this. */
  readonly partitionAlign: number;
  /** DTB and initrd must end within this many bytes of the partition base (the kernel's lowmem), if limited. */
  readonly lowmemLimit: number | undefined;
  /** The DTB must start on a multiple of this. */
  readonly dtbAlign: number;
  /** The largest DTB the kernel accepts. */
  readonly dtbMaxSize: number;
  /** Register conventions at kernel entry, as booting documents state them. */
  readonly entryRegisters: string;
  /** Further rules, each naming its source. */
  readonly notes: readonly string[];
}

/** arm64: Documentation/arch/arm64/booting.rst §2 and §4. */
const AARCH64: BootProtocol = {
  arch: 'aarch64',
  kernelAlign: 2 * MiB,
  partitionAlign: 2 * MiB,
  lowmemLimit: undefined,
  dtbAlign: 8,
  dtbMaxSize: 2 * MiB,
  entryRegisters: 'x0 = DTB, x1 = x2 = x3 = 0; MMU off, DAIF masked, EL2 or EL1',
  notes: [
    'booting.rst §4: the Image goes text_offset bytes past a 2 MiB-aligned base; ' +
      'image_size bytes from its start must be free',
    'booting.rst §4: with image_size 0 (before v3.17) ' +
      'assume text_offset 0x80000 and leave as much room as possible after the Image',
    'booting.rst §2: the DTB must not share a 2 MiB block with memory mapped with other attributes',
    'booting.rst §4: ' +
      'the initrd must lie within a 1 GiB-aligned window of at most 32 GiB that also covers the kernel Image',
  ],
};

/** ARMv7: Documentation/arch/arm/booting.rst §4b, §5, §6. */
const ARMV7: BootProtocol = {
  arch: 'armv7',
  kernelAlign: 4,
  partitionAlign: 128 * MiB,
  lowmemLimit: 768 * MiB,
  dtbAlign: 8,
  dtbMaxSize: 2 * MiB,
  entryRegisters: 'r0 = 0, r1 = 0xffffffff (DT only), r2 = DTB; ARM state, SVC or HYP mode, MMU and D-cache off',
  notes: [
    'booting.rst §6: load the zImage in the first 128 MiB of RAM, ' +
      'preferably above 32 MiB so it need not relocate itself',
    'the zImage decompresses the kernel to RAM start + textOffset (0x8000 by default, 0x208000 in Debian armmp: ' +
      'read the KLSZ tag) with its page tables 16 KiB below; ' +
      'load it above textOffset + imageSize so it need not move itself',
    'AUTO_ZRELADDR: RAM start is (zImage address) & ~(128 MiB - 1); with a base not 128 MiB-aligned ' +
      'the kernel lands below the partition (tested on 6.1 under QEMU): the base must be 128 MiB-aligned',
    'the decompressor needs its BSS, a 4 KiB stack and 64 KiB of malloc after the zImage: leave 1 MiB free after it',
    'booting.rst §4b/§5: DTB and initrd must be in lowmem, ' +
      'which ends 768 MiB into RAM with VMSPLIT_3G (a DTB above it hangs silently, tested)',
  ],
};

/** RISC-V: Documentation/arch/riscv/boot.rst and boot-image-header.rst; OpenSBI fw_dynamic. */
const RISCV64: BootProtocol = {
  arch: 'riscv64',
  kernelAlign: 2 * MiB,
  partitionAlign: 2 * MiB,
  lowmemLimit: undefined,
  dtbAlign: 8,
  dtbMaxSize: 2 * MiB,
  entryRegisters:
    'a0 = hart id, a1 = DTB (OpenSBI enters the kernel in S-mode with these); ' +
    'a2 = fw_dynamic_info when entering OpenSBI',
  notes: [
    'boot.rst: an RV64 kernel must be loaded at a 2 MiB-aligned address (PMD_SIZE)',
    'boot-image-header.rst: image_size is mandatory; ' +
      'text_offset 0x200000 leaves the first 2 MiB to the M-mode firmware',
    'OpenSBI reserves its own region (PMP) and adds it to /reserved-memory in the DTB it passes on',
  ],
};

export const BOOT_PROTOCOLS: Readonly<Record<Arch, BootProtocol>> = {
  aarch64: AARCH64,
  armv7: ARMV7,
  riscv64: RISCV64,
};

/** Named sizes the protocols use, for the layout. */
export const SIZES = { KiB, MiB, GiB } as const;
