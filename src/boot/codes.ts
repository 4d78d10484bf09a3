// Stable codes for problems with boot images: Linux kernels, bare-metal ELF and raw images.
// VMAN-E3xx is the boot range of the global catalogue, which merges BOOT_CODE_DESCRIPTIONS.

/** Problem codes, by name. */
export const BootCode = {
  ImageEmpty: 'VMAN-E301',
  KernelTruncated: 'VMAN-E302',
  KernelCompressed: 'VMAN-E303',
  KernelWrongArch: 'VMAN-E304',
  KernelUnrecognised: 'VMAN-E305',
  BigEndian: 'VMAN-E306',
  KernelHeaderInvalid: 'VMAN-E307',
  KernelIsElf: 'VMAN-E308',
  KernelIsUImage: 'VMAN-E309',
  ElfTruncated: 'VMAN-E310',
  NeedMoreBytes: 'VMAN-E311',
  ElfInvalid: 'VMAN-E312',
  ElfWrongMachine: 'VMAN-E313',
  ElfNotExecutable: 'VMAN-E314',
  ElfTooManySegments: 'VMAN-E315',
  ElfNoLoadable: 'VMAN-E316',
  ElfSegmentOutsideFile: 'VMAN-E317',
  ElfMemszBelowFilesz: 'VMAN-E318',
  ElfSegmentsOverlap: 'VMAN-E319',
  ElfAddressRange: 'VMAN-E320',
  ElfEntryOutside: 'VMAN-E321',
  ElfEntryMisaligned: 'VMAN-E322',
} as const;

export type BootCode = (typeof BootCode)[keyof typeof BootCode];

/** One line per code, for the global catalogue. */
export const BOOT_CODE_DESCRIPTIONS = {
  'VMAN-E301': 'boot image file is empty',
  'VMAN-E302': 'kernel file is shorter than its header says or needs',
  'VMAN-E303': 'kernel is compressed (gzip, xz, zstd, bzip2, lz4 or EFI zboot); vman needs the decompressed Image',
  'VMAN-E304': "kernel is for another architecture than the board's",
  'VMAN-E305': "kernel has no header of the board's kernel format",
  'VMAN-E306': 'kernel or image is big-endian; vman boots little-endian only',
  'VMAN-E307': 'kernel header fields are inconsistent or out of range',
  'VMAN-E308': 'kernel is an ELF file (vmlinux), not a bootable Image or zImage',
  'VMAN-E309': 'kernel is wrapped in a U-Boot legacy uImage header',
  'VMAN-E310': 'ELF file ends before its header or program headers do',
  'VMAN-E311': 'more of the file is needed to describe it (the loader reads `needBytes` and asks again)',
  'VMAN-E312': 'ELF identification or header is malformed',
  'VMAN-E313': "ELF is for another machine or class than the board's architecture",
  'VMAN-E314': 'ELF is not an executable (an object file or a core dump)',
  'VMAN-E315': 'ELF has more program headers than vman accepts',
  'VMAN-E316': 'ELF has no PT_LOAD segment with bytes to load',
  'VMAN-E317': "ELF segment's file bytes lie outside the file",
  'VMAN-E318': 'ELF segment has p_memsz smaller than p_filesz',
  'VMAN-E319': 'ELF PT_LOAD segments overlap in physical memory',
  'VMAN-E320': 'ELF segment or entry address is outside the addressable range',
  'VMAN-E321': 'ELF entry point is outside every PT_LOAD segment',
  'VMAN-E322': "ELF entry point is misaligned for the architecture's instructions",
} as const satisfies Record<BootCode, string>;
