// Design rules on what manifests claim from the board, in the spirit of `jailhouse config check`:
// explicit cores, memory and devices checked against the board, its reservations and each other.
// Capacity ("not enough free") is the allocator's to explain.
import type { Board, MemRange } from '../board/model.js';
import type { PartitionSpec } from '../manifest/types.js';
import { fieldPosition } from '../manifest/types.js';
import type { Diagnostic } from './diagnostic.js';
import { CODES } from './codes.js';
import { didYouMean } from './suggest.js';
import { formatRange, formatSize } from '../units/format.js';
import { end, overlaps } from '../units/ranges.js';

/** Explicit claims of each partition, and clashes between partitions. `align(spec)` is its base alignment. */
export function checkClaims(
  board: Board,
  specs: readonly PartitionSpec[],
  align: (s: PartitionSpec) => number,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const add = (s: PartitionSpec, code: string, field: string, message: string, hint?: string) =>
    out.push({ code, message, position: fieldPosition(s, field), partition: s.name, ...(hint ? { hint } : {}) });
  const coreOwner = new Map<number, PartitionSpec>();
  const devOwner = new Map<string, PartitionSpec>();
  const memOwner: { spec: PartitionSpec; range: MemRange }[] = [];
  const totalCores = board.cpus.length;
  const assignable = board.cpus.filter((c) => !board.reserved.some((r) => r.cpus.includes(c.id))).length;

  // By name (code-unit order, as the allocator places them), so which of two claimants is told
  // never depends on the order manifest files are read in.
  const ordered = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const s of ordered) {
    if ('ids' in s.cpus) {
      const ids = s.cpus.ids;
      ids.forEach((id, i) => {
        const field = `spec.cpus.${i}`;
        if (!board.cpus.some((c) => c.id === id))
          return add(
            s,
            CODES.coreUnknown,
            field,
            `core ${id} does not exist: ${board.name} has cores 0–${totalCores - 1}`,
          );
        const r = board.reserved.find((x) => x.cpus.includes(id));
        if (r)
          return add(
            s,
            CODES.coreReserved,
            field,
            `core ${id} is reserved by the ${r.owner === 'management' ? 'management partition' : 'monitor'}`,
            `choose from the free cores (see \`vman board\`), or write a count: cpus: ${ids.length}`,
          );
        const o = coreOwner.get(id);
        if (o)
          return add(
            s,
            CODES.coreTwice,
            field,
            `core ${id} is also claimed by partition \`${o.name}\` ` +
              `(${o.source.file}:${fieldPosition(o, 'spec.cpus').line})`,
            'give each partition its own cores',
          );
        coreOwner.set(id, s);
      });
    } else if (s.cpus.count > assignable) {
      add(
        s,
        CODES.tooManyCores,
        'spec.cpus',
        `partition \`${s.name}\` asks for ${s.cpus.count} cores; ` +
          `${board.name} has ${assignable} that partitions can use (of ${totalCores})`,
      );
    }

    const m = s.memory;
    const biggest = Math.max(...board.memory.map((b) => b.size));
    if (m.size > biggest)
      add(
        s,
        CODES.notEnoughMemory,
        'spec.memory.size',
        `partition \`${s.name}\` asks for ${formatSize(m.size)}; ` +
          `the largest RAM bank of ${board.name} is ${formatSize(biggest)}`,
      );
    if (m.base !== undefined) {
      const range = { base: m.base, size: m.size };
      const field = fieldPosition(s, 'spec.memory.base') ? 'spec.memory.base' : 'spec.memory';
      const a = align(s);
      if (m.base % a !== 0) {
        add(
          s,
          CODES.misaligned,
          field,
          `memory base 0x${m.base.toString(16)} is not aligned to ${formatSize(a)}, which this boot needs`,
          `use 0x${(Math.ceil(m.base / a) * a).toString(16)}, or drop base to let vman place it`,
        );
      } else if (!board.memory.some((b) => range.base >= b.base && end(range) <= end(b))) {
        add(
          s,
          CODES.memoryOutsideRam,
          field,
          `memory ${formatRange(range)} is not inside RAM: ` +
            `${board.name} has ${board.memory.map(formatRange).join(', ')}`,
          'choose a base inside a RAM bank (see `vman board`), or drop base to let vman place it',
        );
      } else {
        const r = board.reserved.find((x) => x.memory.some((y) => overlaps(y, range)));
        const hit = r?.memory.find((y) => overlaps(y, range));
        if (r && hit)
          add(
            s,
            CODES.memoryReserved,
            field,
            `memory ${formatRange(range)} overlaps ${formatRange(hit)}, ` +
              `reserved by the ${r.owner === 'management' ? 'management partition' : 'monitor'}`,
            'choose a base outside the reserved memory (see `vman board`), or drop base to let vman place it',
          );
        else {
          const o = memOwner.find((x) => overlaps(x.range, range));
          if (o)
            add(
              s,
              CODES.memoryOverlap,
              field,
              `memory ${formatRange(range)} overlaps partition \`${o.spec.name}\`'s ${formatRange(o.range)} ` +
                `(${o.spec.source.file}:${fieldPosition(o.spec, 'spec.memory.base').line})`,
              'move one of them, or drop base to let vman place it',
            );
          else memOwner.push({ spec: s, range });
        }
      }
    }

    s.devices.forEach((name, i) => {
      const field = `spec.devices.${i}`;
      const d = board.devices.find((x) => x.name === name);
      if (!d) {
        const fix = didYouMean(
          name,
          board.devices.map((x) => x.name),
        );
        return add(
          s,
          CODES.deviceUnknown,
          field,
          `device \`${name}\` does not exist on ${board.name}`,
          fix ?? 'see `vman board` for the assignable devices',
        );
      }
      const r = board.reserved.find((x) => x.devices.includes(name));
      if (r)
        return add(
          s,
          CODES.deviceReserved,
          field,
          `device \`${name}\` is reserved by the ${r.owner === 'management' ? 'management partition' : 'monitor'}`,
          'choose a device that `vman board` lists as assignable',
        );
      if (d.dma.kind === 'unconfined') {
        return add(
          s,
          CODES.dmaUnconfined,
          field,
          `device \`${name}\` masters DMA, and ${board.name} declares no IOMMU or stream id to confine it`,
          'a partition could reach any memory through it; ' +
            'the board must declare an IOMMU or stream id for it before it can be assigned',
        );
      }
      const o = devOwner.get(name);
      if (o)
        return add(
          s,
          CODES.deviceTwice,
          field,
          `device \`${name}\` is also given to partition \`${o.name}\` ` +
            `(${o.source.file}:${fieldPosition(o, 'spec.devices').line})`,
          'a device belongs to one partition only',
        );
      devOwner.set(name, s);
    });
  }
  return out;
}
