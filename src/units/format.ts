// Sizes and addresses as vman prints them in messages, plans and status: one voice everywhere.
// Pure; the parsing side (what manifests may write) lives in src/manifest/units.ts.

const KIB = 1024;

/** Binary units from the largest down; a size is printed in the largest one that divides it exactly. */
const UNITS = [
  ['TiB', KIB ** 4],
  ['GiB', KIB ** 3],
  ['MiB', KIB ** 2],
  ['KiB', KIB],
] as const satisfies readonly (readonly [string, number])[];

/** A byte count in the largest exact binary unit: `384 MiB`, `2 GiB`, `4 KiB`, else `1536 bytes`. */
export function formatSize(bytes: number): string {
  if (bytes !== 0) {
    for (const [unit, scale] of UNITS) {
      if (bytes % scale === 0) return `${bytes / scale} ${unit}`;
    }
  }
  return bytes === 1 ? '1 byte' : `${bytes} bytes`;
}

/** An address as lower-case `0x` hex, no padding: `0x48000000`. */
export function formatAddress(address: number): string {
  return `0x${address.toString(16)}`;
}

/** A range as first and last byte, inclusive: `0x40000000–0x47ffffff` (an empty range prints its base alone). */
export function formatRange(range: { readonly base: number; readonly size: number }): string {
  if (range.size <= 0) return formatAddress(range.base);
  return `${formatAddress(range.base)}–${formatAddress(range.base + range.size - 1)}`;
}
