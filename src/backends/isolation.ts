// Defence in depth: the checks a monitor makes before it gives anything to a partition,
// whatever the planner asked. Pure.
import type { Board, MemRange } from '../board/model.js';
import { formatRange } from '../units/format.js';
import { overlaps } from '../units/ranges.js';

export interface Holding {
  readonly name: string;
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  readonly devices: readonly string[];
}

/** Why the monitor must refuse `req`, or undefined when it keeps every partition isolated. */
export function isolationViolation(board: Board, held: readonly Holding[], req: Holding): string | undefined {
  const others = held.filter((h) => h.name !== req.name);
  for (const c of req.cpus) {
    if (!board.cpus.some((x) => x.id === c)) return `core ${c} does not exist on ${board.name}`;
    const r = board.reserved.find((x) => x.cpus.includes(c));
    if (r) return `core ${c} is reserved by the ${r.owner}`;
    const o = others.find((h) => h.cpus.includes(c));
    if (o) return `core ${c} is held by partition \`${o.name}\``;
  }
  if (req.memory.size <= 0) return 'memory size is zero';
  if (!board.memory.some((b) => req.memory.base >= b.base && req.memory.base + req.memory.size <= b.base + b.size)) {
    return `memory ${formatRange(req.memory)} is not inside one RAM bank of ${board.name}`;
  }
  for (const r of board.reserved) {
    const m = r.memory.find((x) => overlaps(x, req.memory));
    if (m) return `memory ${formatRange(req.memory)} overlaps ${formatRange(m)}, reserved by the ${r.owner}`;
  }
  const om = others.find((h) => overlaps(h.memory, req.memory));
  if (om)
    return `memory ${formatRange(req.memory)} overlaps ${formatRange(om.memory)}, held by partition \`${om.name}\``;
  for (const d of req.devices) {
    const dev = board.devices.find((x) => x.name === d);
    if (!dev) return `device \`${d}\` does not exist on ${board.name}`;
    if (dev.dma.kind === 'unconfined') return `device \`${d}\` masters DMA that the monitor cannot confine`;
    const r = board.reserved.find((x) => x.devices.includes(d));
    if (r) return `device \`${d}\` is reserved by the ${r.owner}`;
    const o = others.find((h) => h.devices.includes(d));
    if (o) return `device \`${d}\` is held by partition \`${o.name}\``;
  }
  return undefined;
}

/** Whether [addr, addr+size) lies inside `mem`. */
export function inside(mem: MemRange, addr: number, size: number): boolean {
  return addr >= mem.base && addr + size <= mem.base + mem.size;
}
