// Shared by the boot tests: the real peers (cross objdump, gcc, readelf, file, xz), a temp dir,
// and builders for synthetic kernel headers and ELF files so no test depends on downloads.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian packages that provide each tool, for the failure message CI shows. */
const PACKAGES: Record<string, string> = {
  'aarch64-linux-gnu-objdump': 'binutils-aarch64-linux-gnu',
  'arm-linux-gnueabihf-objdump': 'binutils-arm-linux-gnueabihf',
  'riscv64-linux-gnu-objdump': 'binutils-riscv64-linux-gnu',
  'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
  'arm-linux-gnueabihf-gcc': 'gcc-arm-linux-gnueabihf',
  'riscv64-linux-gnu-gcc': 'gcc-riscv64-linux-gnu',
  readelf: 'binutils',
  file: 'file',
  xz: 'xz-utils',
};

/** Run a tool; a missing tool or a failure throws with its output (and the package to install). */
export function run(tool: string, args: readonly string[], input?: Uint8Array): { stdout: string; raw: Buffer } {
  const r = spawnSync(tool, args, { input, maxBuffer: 256 * 1024 * 1024 });
  if (r.error)
    throw new Error(`${tool} could not run (${r.error.message}); install Debian package ${PACKAGES[tool] ?? tool}`);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return { stdout: r.stdout.toString(), raw: r.stdout };
}

export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'vman-boot-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Isa = 'a64' | 'a32' | 'rv64';

const OBJDUMP: Record<Isa, { tool: string; args: string[]; comment: RegExp }> = {
  a64: { tool: 'aarch64-linux-gnu-objdump', args: ['-m', 'aarch64', '-M', 'no-aliases'], comment: /\s*\/\/.*$/ },
  a32: { tool: 'arm-linux-gnueabihf-objdump', args: ['-m', 'arm'], comment: /\s*[@;].*$/ },
  rv64: { tool: 'riscv64-linux-gnu-objdump', args: ['-m', 'riscv:rv64', '-M', 'no-aliases'], comment: /\s*#.*$/ },
};

export interface Disassembled {
  readonly offset: number;
  readonly word: number;
  /** Mnemonic and operands, single-spaced, without the disassembler's comment. */
  readonly text: string;
}

/** Disassemble raw little-endian machine code with the cross objdump. */
export function disassemble(isa: Isa, code: Uint8Array): Disassembled[] {
  const o = OBJDUMP[isa];
  return withTempDir((dir) => {
    const file = join(dir, 'code.bin');
    writeFileSync(file, code);
    const { stdout } = run(o.tool, ['-b', 'binary', ...o.args, '-D', '-z', file]);
    const out: Disassembled[] = [];
    for (const line of stdout.split('\n')) {
      const m = /^\s*([0-9a-f]+):\t([0-9a-f]{8})\s*\t(.*)$/.exec(line);
      if (!m) continue;
      const text = m[3]!.replace(o.comment, '').replace(/\s+/g, ' ').trim();
      out.push({ offset: parseInt(m[1]!, 16), word: parseInt(m[2]!, 16), text });
    }
    return out;
  });
}

export function texts(isa: Isa, code: Uint8Array): string[] {
  return disassemble(isa, code).map((d) => d.text);
}

// ---- synthetic kernel headers ---------------------------------------------------------------

function le64(view: DataView, at: number, v: bigint): void {
  view.setBigUint64(at, v, true);
}

/** An arm64 Image header (booting.rst §4) followed by zero bytes up to `size`. */
export function arm64Image(
  o: { textOffset?: bigint; imageSize?: bigint; flags?: bigint; size?: number } = {},
): Uint8Array {
  const bytes = new Uint8Array(o.size ?? 4096);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0xfa405a4d, true); // "MZ" + ccmp, as EFI-stub kernels begin
  view.setUint32(4, 0x14000000 | 0x100, true);
  le64(view, 8, o.textOffset ?? 0n);
  le64(view, 16, o.imageSize ?? BigInt(Math.max(bytes.length, 0x10000)));
  le64(view, 24, o.flags ?? 0xan);
  bytes.set([0x41, 0x52, 0x4d, 0x64], 56);
  return bytes;
}

/** A RISC-V Image header (boot-image-header.rst, version 0.2). */
export function riscvImage(
  o: {
    textOffset?: bigint;
    imageSize?: bigint;
    flags?: bigint;
    version?: number;
    size?: number;
    magic?: boolean;
    magic2?: boolean;
  } = {},
): Uint8Array {
  const bytes = new Uint8Array(o.size ?? 4096);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x0000006f, true);
  le64(view, 8, o.textOffset ?? 0x200000n);
  le64(view, 16, o.imageSize ?? BigInt(Math.max(bytes.length, 0x10000)));
  le64(view, 24, o.flags ?? 0n);
  view.setUint32(32, o.version ?? 2, true);
  if (o.magic ?? true) bytes.set([0x52, 0x49, 0x53, 0x43, 0x56, 0, 0, 0], 48);
  if (o.magic2 ?? true) bytes.set([0x52, 0x53, 0x43, 0x05], 56);
  return bytes;
}

/** An ARMv7 zImage: header words at 0x24, an extension table with a KLSZ tag, and the size word. */
export function zImage(
  o: {
    size?: number;
    start?: number;
    endian?: number;
    decompressed?: number;
    bss?: number;
    textOffset?: number;
    table?: boolean;
    appended?: number;
  } = {},
): Uint8Array {
  const zSize = o.size ?? 8192;
  const bytes = new Uint8Array(zSize + (o.appended ?? 0));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 0x24; i += 4) view.setUint32(i, 0xe1a00000, true); // mov r0, r0
  const start = o.start ?? 0;
  view.setUint32(0x24, 0x016f2818, true);
  view.setUint32(0x28, start, true);
  view.setUint32(0x2c, start + zSize, true);
  view.setUint32(0x30, o.endian ?? 0x04030201, true);
  const sizeWordOffset = zSize - 8; // as in the kernel: the piggy's last word, then GOT and padding
  if (o.table ?? true) {
    view.setUint32(0x34, 0x45454545, true);
    view.setUint32(0x38, 0x100, true);
    const words = o.textOffset === undefined ? 4 : 6;
    view.setUint32(0x100, words, true);
    view.setUint32(0x104, 0x5a534c4b, true);
    view.setUint32(0x108, sizeWordOffset, true);
    view.setUint32(0x10c, o.bss ?? 0x60000, true);
    if (o.textOffset !== undefined) {
      view.setUint32(0x110, o.textOffset, true);
      view.setUint32(0x114, 0x10000, true);
    }
    view.setUint32(0x100 + words * 4, 0, true);
  }
  view.setUint32(sizeWordOffset, o.decompressed ?? 0x1000000, true);
  return bytes;
}

// ---- synthetic ELF --------------------------------------------------------------------------

export interface SyntheticSegment {
  readonly type?: number;
  readonly paddr: bigint;
  readonly vaddr?: bigint;
  readonly offset?: bigint;
  readonly filesz: bigint;
  readonly memsz: bigint;
  readonly flags?: number;
}

/** An ELF executable with the given program headers (file data of each segment left zero). */
export function makeElf(o: {
  class: 32 | 64;
  endianness?: 'little' | 'big';
  machine: number;
  type?: number;
  entry: bigint;
  segments: readonly SyntheticSegment[];
  size?: number;
}): Uint8Array {
  const is64 = o.class === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phoff = ehsize;
  const size = o.size ?? Math.max(4096, phoff + phentsize * o.segments.length);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  const le = (o.endianness ?? 'little') === 'little';
  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  const word = (at: number, v: bigint): void =>
    is64 ? view.setBigUint64(at, v, le) : view.setUint32(at, Number(v), le);
  view.setUint16(16, o.type ?? 2, le);
  view.setUint16(18, o.machine, le);
  view.setUint32(20, 1, le);
  word(24, o.entry);
  word(is64 ? 32 : 28, BigInt(phoff));
  view.setUint16(is64 ? 52 : 40, ehsize, le);
  view.setUint16(is64 ? 54 : 42, phentsize, le);
  view.setUint16(is64 ? 56 : 44, o.segments.length, le);
  o.segments.forEach((s, i) => {
    const at = phoff + i * phentsize;
    view.setUint32(at, s.type ?? 1, le);
    if (is64) {
      view.setUint32(at + 4, s.flags ?? 5, le);
      word(at + 8, s.offset ?? 0n);
      word(at + 16, s.vaddr ?? s.paddr);
      word(at + 24, s.paddr);
      word(at + 32, s.filesz);
      word(at + 40, s.memsz);
    } else {
      word(at + 4, s.offset ?? 0n);
      word(at + 8, s.vaddr ?? s.paddr);
      word(at + 12, s.paddr);
      word(at + 16, s.filesz);
      word(at + 20, s.memsz);
      view.setUint32(at + 24, s.flags ?? 5, le);
    }
  });
  return bytes;
}

export const EM = { ARM: 40, AARCH64: 183, RISCV: 243, X86_64: 62 } as const;
