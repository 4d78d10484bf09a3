// The DTB format's numbers, after the Devicetree Specification v0.4, chapter 5.

/** 5.2: the header's first word. */
export const FDT_MAGIC = 0xd00dfeed;

/** 5.4.1: structure block tokens. */
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** 5.1: the version written, and the oldest version a reader must understand to read it. */
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
/** Versions 16 and 17 are read; version 16 lacks `size_dt_struct`. */
export const FDT_OLDEST_READ_VERSION = 16;

/** 5.2: header field offsets. */
export const HDR_MAGIC = 0x00;
export const HDR_TOTALSIZE = 0x04;
export const HDR_OFF_DT_STRUCT = 0x08;
export const HDR_OFF_DT_STRINGS = 0x0c;
export const HDR_OFF_MEM_RSVMAP = 0x10;
export const HDR_VERSION = 0x14;
export const HDR_LAST_COMP_VERSION = 0x18;
export const HDR_BOOT_CPUID_PHYS = 0x1c;
export const HDR_SIZE_DT_STRINGS = 0x20;
export const HDR_SIZE_DT_STRUCT = 0x24;
/** Header sizes: version 17 adds `size_dt_struct` to version 16's 36 bytes. */
export const HEADER_SIZE_V16 = 0x24;
export const HEADER_SIZE_V17 = 0x28;

/** 5.3.2: a reservation entry is two 64-bit words; the list ends with an entry of size 0. */
export const RSV_ENTRY_SIZE = 16;
/** 5.6: the reservation block is 8-byte aligned, the structure block and its tokens 4-byte aligned. */
export const RSV_ALIGN = 8;
export const TOKEN_ALIGN = 4;
/** 5.4.1: FDT_PROP is followed by `len` and `nameoff` before the value. */
export const PROP_HEADER_SIZE = 12;

/** Nesting deeper than this is refused, decoding and encoding alike (bounds work on hostile input). */
export const MAX_DEPTH = 1024;

/** Rounds up to a multiple of `align`; offsets reach 2 ** 32, past what bitwise operators handle. */
export function alignUp(n: number, align: number): number {
  const rest = n % align;
  return rest === 0 ? n : n + align - rest;
}
