// Fdt → DTS source that `dtc -I dts -O dtb` compiles back to the same tree. Values are printed
// as `dtc -O dts` prints a blob's: strings and string lists when every byte is printable text,
// else `<cells>` when the length is a multiple of 4, else `[bytes]`.
import type { Fdt } from './types.js';
import { walk } from './walk.js';

const CELL = 4;
const ADDRESS_DIGITS = 16;

/** DTS for the tree. The boot CPU, which DTS cannot state, is named in a comment (dtc's `-b`). */
export function toDts(fdt: Fdt): string {
  const out: string[] = ['/dts-v1/;\n\n'];
  if (fdt.bootCpuidPhys !== 0) {
    out.push(`// boot_cpuid_phys is ${hexCell(fdt.bootCpuidPhys)}: DTS cannot say so; compile with dtc -b ${fdt.bootCpuidPhys}\n`);
  }
  for (const r of fdt.reservations) {
    out.push(`/memreserve/\t0x${r.address.toString(16).padStart(ADDRESS_DIGITS, '0')} 0x${r.size.toString(16).padStart(ADDRESS_DIGITS, '0')};\n`);
  }
  walk(
    fdt.root,
    (node, chain) => {
      const depth = chain.length - 1;
      if (depth > 0) out.push('\n');
      out.push(`${'\t'.repeat(depth)}${depth === 0 ? '/' : node.name} {\n`);
      const indent = '\t'.repeat(depth + 1);
      for (const prop of node.props) out.push(`${indent}${prop.name}${formatValue(prop.value)};\n`);
    },
    (_node, chain) => {
      out.push(`${'\t'.repeat(chain.length - 1)}};\n`);
    },
  );
  return out.join('');
}

/** ` = <value>` for a property value, or '' for an empty (boolean) one. */
export function formatValue(value: Uint8Array): string {
  if (value.length === 0) return '';
  if (isText(value)) return ` = ${formatStrings(value)}`;
  if (value.length % CELL === 0) {
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const cells: string[] = [];
    for (let i = 0; i < value.length; i += CELL) cells.push(hexCell(view.getUint32(i)));
    return ` = <${cells.join(' ')}>`;
  }
  const bytes: string[] = [];
  for (const b of value) bytes.push(b.toString(16).padStart(2, '0'));
  return ` = [${bytes.join(' ')}]`;
}

/** dtc prints cells as `0x%02x`. */
function hexCell(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

// dtc's guess: NUL-terminated, only printable bytes or C escapes, and no more NULs than other bytes.
function isText(value: Uint8Array): boolean {
  if (value[value.length - 1] !== 0) return false;
  let nuls = 0;
  for (const b of value) {
    if (b === 0) nuls++;
    else if (!(b >= 0x20 && b < 0x7f) && !(b >= 0x07 && b <= 0x0d)) return false;
  }
  return nuls <= value.length - nuls;
}

const ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0b: '\\v',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

/** `"a", "b"` for a string list: each NUL-terminated piece quoted and escaped. */
function formatStrings(value: Uint8Array): string {
  const pieces: string[] = [];
  let piece = '';
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!;
    if (b === 0) {
      pieces.push(`"${piece}"`);
      piece = '';
    } else {
      piece += ESCAPES[b] ?? String.fromCharCode(b);
    }
  }
  return pieces.join(', ');
}
