// Who holds each core, device and byte of memory of the board: the management partition or the monitor
// (the board's reservations), a live partition, or an orphan (what the monitor holds for no partition).
// What `vman board` shows, so that nothing held is called free. Pure.
import type { Board, MemRange } from '../board/model.js';
import type { LiveState } from '../backends/types.js';

export type Holder =
  | { readonly kind: 'reserved'; readonly owner: 'management' | 'monitor' }
  | { readonly kind: 'partition'; readonly name: string }
  | { readonly kind: 'orphan'; readonly name: string };

/** A stretch of a memory bank: held by someone, or free (no holder). */
export interface MemoryStretch extends MemRange {
  readonly holder?: Holder;
}

export interface Occupancy {
  readonly cpus: ReadonlyMap<number, Holder>;
  readonly devices: ReadonlyMap<string, Holder>;
  /** Each bank of the board, cut into stretches in address order, free ones included. */
  readonly memory: readonly { readonly bank: MemRange; readonly stretches: readonly MemoryStretch[] }[];
}

/** The board's occupancy given what is live (nothing when `live` is undefined: only the reservations). */
export function occupancy(board: Board, live?: LiveState): Occupancy {
  const cpus = new Map<number, Holder>();
  const devices = new Map<string, Holder>();
  const held: { range: MemRange; holder: Holder }[] = [];
  const claim = (holder: Holder, c: readonly number[], m: readonly MemRange[], d: readonly string[]) => {
    for (const id of c) if (!cpus.has(id)) cpus.set(id, holder);
    for (const name of d) if (!devices.has(name)) devices.set(name, holder);
    for (const range of m) held.push({ range, holder });
  };
  for (const r of board.reserved) claim({ kind: 'reserved', owner: r.owner }, r.cpus, r.memory, r.devices);
  for (const p of live?.partitions ?? []) claim({ kind: 'partition', name: p.name }, p.cpus, [p.memory], p.devices);
  for (const o of live?.orphans ?? []) claim({ kind: 'orphan', name: o.owner }, o.cpus, o.memory, o.devices);
  const memory = board.memory.map((bank) => ({ bank, stretches: stretchesOf(bank, held) }));
  return { cpus, devices, memory };
}

// One bank cut at every held range inside it; the gaps are free. Overlaps (which isolation forbids) are
// shown as they come, never hidden.
function stretchesOf(bank: MemRange, held: readonly { range: MemRange; holder: Holder }[]): MemoryStretch[] {
  const end = bank.base + bank.size;
  const inside = held
    .map((h) => ({ base: Math.max(h.range.base, bank.base), end: Math.min(h.range.base + h.range.size, end), h }))
    .filter((x) => x.base < x.end)
    .sort((a, b) => a.base - b.base || a.end - b.end);
  const out: MemoryStretch[] = [];
  let at = bank.base;
  for (const x of inside) {
    if (x.base > at) out.push({ base: at, size: x.base - at });
    out.push({ base: x.base, size: x.end - x.base, holder: x.h.holder });
    at = Math.max(at, x.end);
  }
  if (at < end) out.push({ base: at, size: end - at });
  return out;
}
