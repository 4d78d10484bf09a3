// Describe a bare-metal ELF executable: class, byte order, machine, entry and PT_LOAD segments,
// with the checks a loader needs before it copies segments to their physical addresses.
// Field offsets: System V ABI (gABI) "ELF Header" and "Program Header".

import type { Arch } from '../board/model.js';
import { BootCode } from './codes.js';
import { ByteReader, hex, toSafeNumber } from './bytes.js';
import type { BootProblem, ElfImage, ElfMachine, ElfSegment, Endianness } from './types.js';

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"

/** More program headers than any bare-metal image needs; bounds the work on hostile input. */
export const ELF_MAX_PROGRAM_HEADERS = 256;

// e_ident indices and values.
const EI_CLASS = 4;
const EI_DATA = 5;
const EI_VERSION = 6;
const EI_NIDENT = 16;
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;
const EV_CURRENT = 1;

const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;

const EM_ARM = 40;
const EM_AARCH64 = 183;
const EM_RISCV = 243;

const PT_LOAD = 1;
/** e_phnum value meaning "the count is in section header 0" (65535 or more headers). */
const PN_XNUM = 0xffff;

/** Header field offsets for each class. */
const LAYOUT = {
  32: {
    ehsize: 52,
    type: 16,
    machine: 18,
    entry: 24,
    phoff: 28,
    phentsize: 42,
    phnum: 44,
    phdr: { size: 32, type: 0, offset: 4, vaddr: 8, paddr: 12, filesz: 16, memsz: 20, flags: 24 },
  },
  64: {
    ehsize: 64,
    type: 16,
    machine: 18,
    entry: 24,
    phoff: 32,
    phentsize: 54,
    phnum: 56,
    phdr: { size: 56, type: 0, flags: 4, offset: 8, vaddr: 16, paddr: 24, filesz: 32, memsz: 40 },
  },
} as const;

/** e_machine values worth naming in a message. */
const MACHINE_LABELS: Readonly<Record<number, string>> = {
  3: 'x86 (i386)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  40: '32-bit ARM',
  62: 'x86-64',
  94: 'Xtensa',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};

/** What each board architecture runs: machine, class and the board that runs the other ones. */
const ARCH_ELF = {
  aarch64: { machine: EM_AARCH64, class: 64, label: 'AArch64 (ARMv8)' },
  armv7: { machine: EM_ARM, class: 32, label: '32-bit ARM (ARMv7)' },
  riscv64: { machine: EM_RISCV, class: 64, label: 'RISC-V RV64' },
} as const satisfies Record<Arch, { machine: number; class: 32 | 64; label: string }>;

const BOARD_FOR = {
  aarch64: 'qemu-virt-aarch64',
  armv7: 'qemu-virt-armv7',
  riscv64: 'qemu-virt-riscv64',
} as const satisfies Record<Arch, string>;

/** Instruction alignment at the entry point (Thumb entries have bit 0 set and are 2-aligned). */
const ENTRY_ALIGN: Readonly<Record<ElfMachine, number>> = { aarch64: 4, arm: 4, riscv: 2, other: 1 };
const THUMB_ALIGN = 2;

export interface DescribeElfOptions {
  /** Size of the whole file when `bytes` is only its start; defaults to bytes.length. */
  readonly fileSize?: number;
  /** The board's architecture: the ELF must be for it, and little-endian. */
  readonly arch?: Arch;
}

function problem(code: BootProblem['code'], message: string, hint?: string): BootProblem {
  return hint === undefined ? { kind: 'problem', code, message } : { kind: 'problem', code, message, hint };
}

function machineName(machine: number): ElfMachine {
  return machine === EM_AARCH64 ? 'aarch64' : machine === EM_ARM ? 'arm' : machine === EM_RISCV ? 'riscv' : 'other';
}

function machineLabel(machine: number, elfClass: number): string {
  const base = MACHINE_LABELS[machine] ?? `e_machine ${machine}`;
  if (machine === EM_RISCV) return `${base} ${elfClass === ELFCLASS32 ? 'RV32' : 'RV64'}`;
  if (machine === EM_AARCH64 && elfClass === ELFCLASS32) return `${base} ILP32`;
  return base;
}

/** "AArch64", "RISC-V RV64"… for an ELF's first bytes, or undefined when they hold no ELF header. */
export function elfMachineLabel(bytes: Uint8Array): string | undefined {
  const r = new ByteReader(bytes, bytes[EI_DATA] !== ELFDATA2MSB);
  const machine = r.u16(LAYOUT[32].machine);
  const elfClass = r.u8(EI_CLASS);
  if (!r.matches(0, ELF_MAGIC) || machine === undefined || elfClass === undefined) return undefined;
  return machineLabel(machine, elfClass);
}

/** The end of what must be readable, checked against the file and against the bytes given. */
function need(end: number, what: string, given: number, fileSize: number): BootProblem | undefined {
  if (end > fileSize) {
    return problem(
      BootCode.ElfTruncated,
      `the file ends at byte ${fileSize}, before the end of ${what} at byte ${end}`,
      'the file was cut short; build or copy it again',
    );
  }
  if (end > given) {
    return {
      kind: 'problem',
      code: BootCode.NeedMoreBytes,
      message: `${what} end at byte ${end}, past the ${given} bytes given`,
      needBytes: end,
    };
  }
  return undefined;
}

function range(base: number, size: number): string {
  return `[${hex(base)}, ${hex(base + size)})`;
}

/** A PT_LOAD segment with its virtual address, which only the entry point needs. */
type LoadSegment = ElfSegment & { readonly vaddr: bigint };

/** The ELF header fields after its checks, and a reader in the file's byte order. */
interface ElfHeader {
  readonly bits: 32 | 64;
  readonly endianness: Endianness;
  readonly layout: (typeof LAYOUT)[32 | 64];
  readonly r: ByteReader;
  readonly machine: number;
  readonly type: typeof ET_EXEC | typeof ET_DYN;
  /** "AArch64", "RISC-V RV64"…: the machine as messages name it. */
  readonly label: string;
  /** Reads a class-sized field (Elf32_Addr/Off or Elf64_Addr/Off/Xword) as a bigint. */
  word(offset: number): bigint;
}

const isProblem = (x: object): x is BootProblem => 'kind' in x && x.kind === 'problem';

/**
 * Describe an ELF executable from its bytes (the whole file, or at least its headers and
 * program headers). Never throws on any bytes; throws RangeError only for a fileSize below bytes.length.
 */
export function describeElf(bytes: Uint8Array, options: DescribeElfOptions = {}): ElfImage | BootProblem {
  const fileSize = options.fileSize ?? bytes.length;
  if (!Number.isSafeInteger(fileSize) || fileSize < bytes.length) {
    throw new RangeError(`fileSize ${fileSize} must be an integer no smaller than the ${bytes.length} bytes given`);
  }
  const header = readHeader(bytes, fileSize, options.arch);
  if (isProblem(header)) return header;
  const segments = loadSegments(header, bytes.length, fileSize);
  if (isProblem(segments)) return segments;
  const entry = entryPoint(header, segments);
  if (isProblem(entry)) return entry;
  return {
    kind: 'elf',
    class: header.bits,
    endianness: header.endianness,
    type: header.type === ET_EXEC ? 'exec' : 'dyn',
    machine: header.machine,
    machineName: entry.name,
    entry: entry.entry,
    thumb: entry.thumb,
    segments: segments.map(({ vaddr: _, ...s }) => s),
    fileSize,
  };
}

// e_ident, then the ELF header: magic, class, byte order, version, size, machine (for the board) and type.
function readHeader(bytes: Uint8Array, fileSize: number, arch: Arch | undefined): ElfHeader | BootProblem {
  const ident = new ByteReader(bytes);
  if (!ident.matches(0, ELF_MAGIC)) {
    return (
      need(ELF_MAGIC.length, 'the ELF magic', bytes.length, fileSize) ??
      problem(BootCode.ElfInvalid, 'no ELF magic (7f 45 4c 46) at offset 0')
    );
  }
  const short = need(EI_NIDENT, 'e_ident', bytes.length, fileSize);
  if (short) return short;
  const elfClass = ident.u8(EI_CLASS);
  const data = ident.u8(EI_DATA);
  if (elfClass !== ELFCLASS32 && elfClass !== ELFCLASS64) {
    return problem(BootCode.ElfInvalid, `EI_CLASS is ${elfClass}, neither ELFCLASS32 (1) nor ELFCLASS64 (2)`);
  }
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) {
    return problem(BootCode.ElfInvalid, `EI_DATA is ${data}, neither ELFDATA2LSB (1) nor ELFDATA2MSB (2)`);
  }
  if (ident.u8(EI_VERSION) !== EV_CURRENT) {
    return problem(BootCode.ElfInvalid, `EI_VERSION is ${ident.u8(EI_VERSION)}, not EV_CURRENT (1)`);
  }
  const bits = elfClass === ELFCLASS32 ? 32 : 64;
  const layout = LAYOUT[bits];
  const endianness: Endianness = data === ELFDATA2LSB ? 'little' : 'big';
  const r = new ByteReader(bytes, endianness === 'little');
  const headerShort = need(layout.ehsize, 'the ELF header', bytes.length, fileSize);
  if (headerShort) return headerShort;

  const machine = r.u16(layout.machine) ?? 0;
  const label = machineLabel(machine, elfClass);
  if (arch !== undefined) {
    const wrong = checkArch(arch, machine, bits, endianness, label);
    if (wrong) return wrong;
  }
  const type = executableType(r.u16(layout.type) ?? 0);
  if (typeof type !== 'number') return type;
  const word = (offset: number): bigint => (bits === 32 ? BigInt(r.u32(offset) ?? 0) : (r.u64(offset) ?? 0n));
  return { bits, endianness, layout, r, machine, type, label, word };
}

// The board runs one machine and class, little-endian.
function checkArch(
  arch: Arch,
  machine: number,
  bits: 32 | 64,
  endianness: Endianness,
  label: string,
): BootProblem | undefined {
  const expected = ARCH_ELF[arch];
  if (machine !== expected.machine || bits !== expected.class) {
    const board =
      machine === EM_ARM
        ? BOARD_FOR.armv7
        : machine === EM_AARCH64 && bits === 64
          ? BOARD_FOR.aarch64
          : machine === EM_RISCV && bits === 64
            ? BOARD_FOR.riscv64
            : undefined;
    return problem(
      BootCode.ElfWrongMachine,
      `an ELF for ${label} (${bits}-bit), but the board runs ${expected.label}`,
      `build the image for ${expected.label}${board ? `, or use a board of its architecture (${board})` : ''}`,
    );
  }
  if (endianness === 'big') {
    return problem(
      BootCode.BigEndian,
      `a big-endian ELF (EI_DATA = ELFDATA2MSB): vman enters images little-endian`,
      'build the image little-endian',
    );
  }
  return undefined;
}

// e_type: an executable (ET_EXEC) or a position-independent one (ET_DYN); never an object file or a core dump.
function executableType(type: number): typeof ET_EXEC | typeof ET_DYN | BootProblem {
  if (type === ET_REL)
    return problem(
      BootCode.ElfNotExecutable,
      'a relocatable object file (ET_REL), not an executable',
      'link it into an executable first',
    );
  if (type === ET_CORE) return problem(BootCode.ElfNotExecutable, 'a core dump (ET_CORE), not an executable');
  if (type !== ET_EXEC && type !== ET_DYN)
    return problem(BootCode.ElfNotExecutable, `e_type ${type} is neither ET_EXEC (2) nor ET_DYN (3)`);
  return type;
}

// The program header table: a count vman accepts, entries as large as the class needs, all of it readable.
function programHeaders(
  h: ElfHeader,
  given: number,
  fileSize: number,
): { phoff: number; phnum: number; phentsize: number } | BootProblem {
  const { layout, r, bits } = h;
  const phnum = r.u16(layout.phnum) ?? 0;
  const phentsize = r.u16(layout.phentsize) ?? 0;
  if (phnum === 0)
    return problem(
      BootCode.ElfNoLoadable,
      'no program headers (e_phnum is 0), so nothing to load',
      'link the image as an executable with PT_LOAD segments',
    );
  if (phnum === PN_XNUM || phnum > ELF_MAX_PROGRAM_HEADERS) {
    return problem(
      BootCode.ElfTooManySegments,
      `${phnum === PN_XNUM ? 'at least 65535' : phnum} program headers; ` +
        `vman accepts at most ${ELF_MAX_PROGRAM_HEADERS}`,
    );
  }
  if (phentsize < layout.phdr.size) {
    return problem(
      BootCode.ElfInvalid,
      `e_phentsize is ${phentsize}, smaller than an ELF${bits} program header (${layout.phdr.size})`,
    );
  }
  const phoff = toSafeNumber(h.word(layout.phoff));
  if (phoff === undefined)
    return problem(BootCode.ElfTruncated, `e_phoff ${hex(h.word(layout.phoff))} lies beyond any file`);
  const tableShort = need(phoff + phnum * phentsize, `the ${phnum} program headers`, given, fileSize);
  if (tableShort) return tableShort;
  return { phoff, phnum, phentsize };
}

// The PT_LOAD segments with bytes to load: inside the file, at physical addresses a number holds exactly,
// and not overlapping one another.
function loadSegments(h: ElfHeader, given: number, fileSize: number): LoadSegment[] | BootProblem {
  const table = programHeaders(h, given, fileSize);
  if (isProblem(table)) return table;
  const { r, word } = h;
  const p = h.layout.phdr;
  // Physical addresses of ELF32 stay below 4 GiB; ELF64 ones must be exact as numbers.
  const limit = h.bits === 32 ? 2n ** 32n : BigInt(Number.MAX_SAFE_INTEGER);
  const segments: LoadSegment[] = [];
  for (let index = 0; index < table.phnum; index++) {
    const at = table.phoff + index * table.phentsize;
    if (r.u32(at + p.type) !== PT_LOAD) continue;
    const offset = word(at + p.offset);
    const vaddr = word(at + p.vaddr);
    const paddr = word(at + p.paddr);
    const filesz = word(at + p.filesz);
    const memsz = word(at + p.memsz);
    const flags = r.u32(at + p.flags) ?? 0;
    if (memsz < filesz) {
      return problem(
        BootCode.ElfMemszBelowFilesz,
        `program header ${index}: p_memsz ${hex(memsz)} is smaller than p_filesz ${hex(filesz)}`,
      );
    }
    if (memsz === 0n) continue;
    if (filesz > 0n && offset + filesz > BigInt(fileSize)) {
      return problem(
        BootCode.ElfSegmentOutsideFile,
        `program header ${index}: file bytes [${hex(offset)}, ${hex(offset + filesz)}) ` +
          `lie outside the ${fileSize}-byte file`,
        'the file was cut short or its headers are corrupt',
      );
    }
    if (paddr + memsz > limit) {
      return problem(
        BootCode.ElfAddressRange,
        `program header ${index}: physical range [${hex(paddr)}, ${hex(paddr + memsz)}) ends beyond ${hex(limit)}`,
      );
    }
    segments.push({
      index,
      paddr: Number(paddr),
      vaddr,
      offset: Number(offset),
      filesz: Number(filesz),
      memsz: Number(memsz),
      flags,
    });
  }
  if (segments.length === 0) {
    return problem(
      BootCode.ElfNoLoadable,
      'no PT_LOAD segment with bytes to load',
      'link the image as an executable with PT_LOAD segments',
    );
  }
  return checkOverlap(segments) ?? segments;
}

function checkOverlap(segments: readonly LoadSegment[]): BootProblem | undefined {
  const byAddress = [...segments].sort((a, b) => a.paddr - b.paddr || a.index - b.index);
  for (let i = 1; i < byAddress.length; i++) {
    const prev = byAddress[i - 1]!;
    const next = byAddress[i]!;
    if (next.paddr < prev.paddr + prev.memsz) {
      return problem(
        BootCode.ElfSegmentsOverlap,
        'PT_LOAD segments overlap in physical memory: ' +
          `program header ${prev.index} ${range(prev.paddr, prev.memsz)} and ` +
          `program header ${next.index} ${range(next.paddr, next.memsz)}`,
        'check the linker script: each output section needs its own load address (AT)',
      );
    }
  }
  return undefined;
}

// e_entry is virtual; with the MMU off we enter at the physical address of the segment that holds it.
// A Thumb entry (32-bit ARM, bit 0 set) keeps its bit 0.
function entryPoint(
  h: ElfHeader,
  segments: readonly LoadSegment[],
): { entry: number; thumb: boolean; name: ElfMachine } | BootProblem {
  const name = machineName(h.machine);
  const entryVirtual = h.word(h.layout.entry);
  const thumb = name === 'arm' && (entryVirtual & 1n) === 1n;
  const target = thumb ? entryVirtual - 1n : entryVirtual;
  const byVirtual = segments.find((s) => target >= s.vaddr && target < s.vaddr + BigInt(s.memsz));
  const byPhysical = segments.find((s) => target >= BigInt(s.paddr) && target < BigInt(s.paddr + s.memsz));
  const entry = byVirtual ? BigInt(byVirtual.paddr) + (target - byVirtual.vaddr) : byPhysical ? target : undefined;
  if (entry === undefined) {
    return problem(
      BootCode.ElfEntryOutside,
      `entry point ${hex(entryVirtual)} is outside every PT_LOAD segment`,
      'set the entry symbol (ENTRY in the linker script, or -e) to code the image loads',
    );
  }
  const align = thumb ? THUMB_ALIGN : ENTRY_ALIGN[name];
  if (entry % BigInt(align) !== 0n) {
    return problem(
      BootCode.ElfEntryMisaligned,
      `entry point ${hex(entryVirtual)} is not ${align}-byte aligned, as ${h.label} instructions must be`,
    );
  }
  return { entry: Number(entry) + (thumb ? 1 : 0), thumb, name };
}
