// Tiny demo payloads, generated (never committed) so `npm ci && npx vman apply --auto-approve`
// has something to boot on a fresh machine: each prints one line on the partition's console UART
// and parks its core. One follows the arm64 Linux boot protocol (an Image header), one is a raw
// bare-metal image. They run under QEMU as they are; on `sim` only their headers matter.
import { assemble, label, type Item } from '../boot/asm.js';
import * as a64 from '../boot/a64.js';

/** QEMU virt's PL011 data register (the console of every ARM partition). */
const PL011_DR = 0x0900_0000n;

/** STRB Wt, [Xn, #0] — Arm ARM C6.2 "STRB (immediate)", unsigned offset: 00 111 0 01 00 imm12 Rn Rt. */
function strb(rt: number, rn: number): number {
  return (0x39000000 | (rn << 5) | rt) >>> 0;
}

// Writes `text` to the UART one byte at a time (QEMU's PL011 never fills), then parks in WFI.
function printAndPark(text: string): Item[] {
  const items: Item[] = [...a64.movImm64(0, PL011_DR)];
  for (const byte of new TextEncoder().encode(text)) items.push(a64.movz(1, byte, 0), strb(1, 0));
  items.push(label('park'), a64.wfi(), (here, at) => a64.b(at('park') - here));
  return items;
}

/** arm64 Image header fields (Documentation/arch/arm64/booting.rst §4). */
const ARM64_MAGIC = 0x644d5241; // "ARM\x64"
const ARM64_HEADER = 64;
/** flags: little-endian, 4 KiB pages, placement anywhere. */
const ARM64_FLAGS = 0b1010;

/** A payload that boots like an arm64 Linux Image: 64-byte header, entered at its first byte. */
export function helloArm64Image(text: string): Uint8Array {
  const code = assemble(printAndPark(text));
  const out = new Uint8Array(ARM64_HEADER + code.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, a64.b(ARM64_HEADER), true); // code0: branch over the header
  v.setBigUint64(8, 0n, true); // text_offset
  v.setBigUint64(16, BigInt(out.length), true); // image_size
  v.setBigUint64(24, BigInt(ARM64_FLAGS), true);
  v.setUint32(56, ARM64_MAGIC, true);
  out.set(code, ARM64_HEADER);
  return out;
}

/** A raw bare-metal image: loaded at the partition's base and entered there. */
export function helloArm64Raw(text: string): Uint8Array {
  return assemble(printAndPark(text));
}
