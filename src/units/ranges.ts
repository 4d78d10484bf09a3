// Arithmetic on byte ranges (the allocator, the design rules, boot layouts and the
// monitors' checks). Numbers are bytes, exact up to 2^53, so no bitwise operators.
import type { MemRange } from '../board/model.js';

/** Smallest page the allocator deals in; every size and alignment is a multiple of it. */
export const PAGE = 4096;

/** One past the last byte. */
export function end(r: MemRange): number {
  return r.base + r.size;
}

/** Whether two ranges share a byte (empty ranges share none). */
export function overlaps(a: MemRange, b: MemRange): boolean {
  return a.size > 0 && b.size > 0 && a.base < end(b) && b.base < end(a);
}

/** Whether `inner` lies within `outer`. */
export function contains(outer: MemRange, inner: MemRange): boolean {
  return outer.base <= inner.base && end(inner) <= end(outer);
}

/** `n` rounded up to a multiple of `align` (a power of two; division by it is exact in floating point). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Whether `n` is a power of two that is at least one page. */
export function isPageAlignment(n: number): boolean {
  return Number.isSafeInteger(n) && n >= PAGE && 2 ** Math.round(Math.log2(n)) === n;
}

/** What is left of `from` once every range in `taken` is cut out: disjoint, non-empty, sorted by base. */
export function subtract(from: readonly MemRange[], taken: readonly MemRange[]): MemRange[] {
  const cuts = taken.filter((t) => t.size > 0).sort((a, b) => a.base - b.base);
  const out: MemRange[] = [];
  for (const r of [...from].sort((a, b) => a.base - b.base)) {
    let cursor = r.base;
    const stop = end(r);
    for (const c of cuts) {
      if (end(c) <= cursor) continue;
      if (c.base >= stop) break;
      if (c.base > cursor) out.push({ base: cursor, size: c.base - cursor });
      cursor = Math.max(cursor, end(c));
      if (cursor >= stop) break;
    }
    if (cursor < stop) out.push({ base: cursor, size: stop - cursor });
  }
  return out;
}
