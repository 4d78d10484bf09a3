// The pure allocator: which cores, memory and devices each partition gets.
//
// How it decides, and why:
// 1. Stability first. An existing allocation that still satisfies its request (and still fits the
//    board) is kept exactly; it is settled before anything is placed, so no other request can move it.
//    An existing allocation with no request is released unless `options.keep` holds it.
// 2. Everything else is placed one request at a time, all or nothing, in a fixed order: requests that
//    pin something (core ids or a memory base) first, then those whose memory must cover an image
//    (an ELF's segments), then the flexible ones; by name within each group. The order never depends on
//    input order. Since a request takes everything or nothing and later requests only take more, a
//    failure is real: the request would not fit in what is left at the end either, and a failure
//    never costs another request anything.
// 3. Memory is best-fit: the smallest free block that holds a window of the size at an aligned base
//    (lowest address among equal blocks), at the lowest aligned base in it. Small partitions fill small
//    gaps and large free blocks stay whole for large partitions, so fragmentation grows slowly and a
//    failure quotes a largest free block that is as large as it can be. A window never spans banks.
//    A window that must cover an image can only lie in the free block around the image; it takes the
//    lowest aligned base that covers it.
// 4. Cores for a count: the lowest free logical ids.
// 5. While requests that pin resources are still waiting, a placement avoids what they pin (core ids,
//    memory bases, image ranges) when it can, so `cpus: [2]` is not taken by a neighbour that merely
//    sorts earlier by name; when it cannot, it takes them rather than fail.
import type { Board, MemRange } from '../board/model.js';
import { formatAddress, formatRange, formatSize } from '../units/format.js';
import type { AllocFailure, AllocOptions, AllocRequest, AllocResult, Allocation, Placement } from './types.js';
import { PAGE, alignUp, contains, end, isPageAlignment, overlaps, subtract } from '../units/ranges.js';

/** Who holds a resource. */
type Holder =
  | { readonly kind: 'reserved'; readonly owner: 'management' | 'monitor' }
  | { readonly kind: 'partition'; readonly name: string };

interface HeldRange {
  readonly range: MemRange;
  readonly holder: Holder;
}

/** What is taken so far: the board's reservations, then kept allocations, then new placements. */
interface Ledger {
  readonly cores: Map<number, Holder>;
  readonly devices: Map<string, Holder>;
  readonly memory: HeldRange[];
}

/** Resources a waiting request pins, which others avoid when they can (see 5. above). */
interface Pins {
  readonly cores: ReadonlySet<number>;
  readonly memory: readonly MemRange[];
}

type Outcome =
  | { readonly ok: true; readonly allocation: Allocation }
  | { readonly ok: false; readonly failures: readonly AllocFailure[] };

/**
 * Gives each request cores, memory and devices, keeping every existing allocation that still satisfies
 * its request. `existing` is what live partitions hold now. See the top of this file for the strategy.
 */
export function allocate(
  board: Board,
  requests: readonly AllocRequest[],
  existing: readonly Allocation[],
  options: AllocOptions = {},
): AllocResult {
  for (const r of requests) checkRequest(r);
  const byName = uniqueByName(requests, 'request');
  const live = uniqueByName(existing, 'existing allocation');
  const keep = new Set(options.keep ?? []);
  const forced = new Set(options.replace ?? []);

  const ledger: Ledger = { cores: new Map(), devices: new Map(), memory: [] };
  for (const res of board.reserved)
    claim(ledger, { kind: 'reserved', owner: res.owner }, res.cpus, res.memory, res.devices);

  // Unrequested partitions the planner leaves alone hold what they hold, whatever it is.
  const released: Allocation[] = [];
  for (const a of sortByName(existing)) {
    if (byName.has(a.name)) continue;
    if (keep.has(a.name)) claim(ledger, { kind: 'partition', name: a.name }, a.cpus, [a.memory], a.devices);
    else released.push(a);
  }

  const allocations = new Map<string, Allocation>();
  const placements = new Map<string, Placement>();
  const moved = new Map<string, string>();
  const pending: AllocRequest[] = [];
  for (const r of sortByName(requests)) {
    const old = live.get(r.name);
    if (!old) {
      pending.push(r);
      continue;
    }
    const why = forced.has(r.name) ? 'replacement was requested' : (unsatisfied(r, old) ?? unfit(board, ledger, old));
    if (why === undefined) {
      claim(ledger, { kind: 'partition', name: r.name }, old.cpus, [old.memory], old.devices);
      allocations.set(r.name, {
        name: r.name,
        cpus: [...old.cpus].sort((x, y) => x - y),
        memory: old.memory,
        devices: [...new Set(r.devices)],
      });
      placements.set(r.name, { name: r.name, kind: 'kept', handover: [] });
    } else {
      moved.set(r.name, why);
      released.push(old);
      pending.push(r);
    }
  }

  pending.sort((a, b) => rank(a) - rank(b) || compareNames(a.name, b.name));
  const failures: AllocFailure[] = [];
  for (const [i, r] of pending.entries()) {
    const outcome = place(board, ledger, r, pinsOf(pending.slice(i + 1)));
    if (!outcome.ok) {
      failures.push(...outcome.failures);
      continue;
    }
    const a = outcome.allocation;
    claim(ledger, { kind: 'partition', name: a.name }, a.cpus, [a.memory], a.devices);
    allocations.set(a.name, a);
    const why = moved.get(a.name);
    const handover = released
      .filter((old) => shares(a, old))
      .map((old) => old.name)
      .sort(compareNames);
    placements.set(
      a.name,
      why === undefined
        ? { name: a.name, kind: 'new', handover }
        : { name: a.name, kind: 'moved', reason: why, handover },
    );
  }

  const names = [...allocations.keys()].sort(compareNames);
  return {
    allocations: names.map((n) => allocations.get(n) as Allocation),
    placements: names.map((n) => placements.get(n) as Placement),
    failures: failures.sort((a, b) => compareNames(a.name, b.name)),
    released: released.map((a) => a.name).sort(compareNames),
  };
}

// Contract violations are the caller's bugs (manifests are validated upstream), so they throw.
function checkRequest(r: AllocRequest): void {
  const bad = (what: string): never => {
    throw new RangeError(`allocate: request \`${r.name}\`: ${what}`);
  };
  if ('count' in r.cpus) {
    if (!Number.isSafeInteger(r.cpus.count) || r.cpus.count < 1)
      bad(`cpus count ${r.cpus.count} is not a positive integer`);
  } else if (r.cpus.ids.length === 0 || !r.cpus.ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
    bad(`cpus ids [${r.cpus.ids.join(', ')}] are not a non-empty list of core ids`);
  }
  const m = r.memory;
  if (!Number.isSafeInteger(m.size) || m.size <= 0 || m.size % PAGE !== 0)
    bad(`memory size ${m.size} is not a positive multiple of 4 KiB`);
  if (!isPageAlignment(m.align)) bad(`memory align ${m.align} is not a power of two of at least 4 KiB`);
  if (m.base !== undefined && (!Number.isSafeInteger(m.base) || m.base < 0))
    bad(`memory base ${m.base} is not an address`);
  if (
    m.cover &&
    (!Number.isSafeInteger(m.cover.base) || !Number.isSafeInteger(m.cover.size) || m.cover.base < 0 || m.cover.size < 0)
  ) {
    bad(`memory cover ${m.cover.base}+${m.cover.size} is not a range`);
  }
}

function uniqueByName<T extends { readonly name: string }>(list: readonly T[], what: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of list) {
    if (map.has(item.name)) throw new RangeError(`allocate: two ${what}s are named \`${item.name}\``);
    map.set(item.name, item);
  }
  return map;
}

// Code-unit order, not localeCompare: the same on every machine and locale.
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortByName<T extends { readonly name: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => compareNames(a.name, b.name));
}

/** Placement order: requests that pin resources, then those covering an image, then the flexible ones. */
function rank(r: AllocRequest): number {
  if ('ids' in r.cpus || r.memory.base !== undefined) return 0;
  return r.memory.cover ? 1 : 2;
}

function pinsOf(waiting: readonly AllocRequest[]): Pins {
  const cores = new Set<number>();
  const memory: MemRange[] = [];
  for (const r of waiting) {
    if ('ids' in r.cpus) for (const id of r.cpus.ids) cores.add(id);
    if (r.memory.base !== undefined) memory.push({ base: r.memory.base, size: r.memory.size });
    else if (r.memory.cover) memory.push(r.memory.cover);
  }
  return { cores, memory };
}

/** Records resources as held; what already has a holder keeps it (only corrupt live state overlaps). */
function claim(
  ledger: Ledger,
  holder: Holder,
  cpus: readonly number[],
  memory: readonly MemRange[],
  devices: readonly string[],
): void {
  for (const id of cpus) if (!ledger.cores.has(id)) ledger.cores.set(id, holder);
  for (const d of devices) if (!ledger.devices.has(d)) ledger.devices.set(d, holder);
  for (const range of memory) ledger.memory.push({ range, holder });
}

/** Whether an allocation uses any core, byte or device of another. */
function shares(a: Allocation, b: Allocation): boolean {
  return (
    a.cpus.some((id) => b.cpus.includes(id)) ||
    overlaps(a.memory, b.memory) ||
    a.devices.some((d) => b.devices.includes(d))
  );
}

function sameSet<T>(a: readonly T[], b: readonly T[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

/** Why an existing allocation no longer satisfies its request, or undefined when it does. */
function unsatisfied(r: AllocRequest, a: Allocation): string | undefined {
  if ('count' in r.cpus) {
    if (a.cpus.length !== r.cpus.count)
      return `cpus changed from ${plural(a.cpus.length, 'core')} to ${plural(r.cpus.count, 'core')}`;
  } else if (!sameSet(r.cpus.ids, a.cpus)) {
    return (
      `cpus changed from cores ${a.cpus.join(', ')} to cores ` +
      `${[...new Set(r.cpus.ids)].sort((x, y) => x - y).join(', ')}`
    );
  }
  const m = r.memory;
  if (a.memory.size !== m.size) return `memory size changed from ${formatSize(a.memory.size)} to ${formatSize(m.size)}`;
  if (m.base !== undefined && a.memory.base !== m.base)
    return `memory base changed from ${formatAddress(a.memory.base)} to ${formatAddress(m.base)}`;
  if (a.memory.base % m.align !== 0)
    return `memory base ${formatAddress(a.memory.base)} is not aligned to ${formatSize(m.align)}`;
  if (m.cover && !contains(a.memory, m.cover))
    return `memory ${formatRange(a.memory)} does not cover the image at ${formatRange(m.cover)}`;
  if (!sameSet(r.devices, a.devices))
    return `devices changed from ${listOrNone(a.devices)} to ${listOrNone(r.devices)}`;
  return undefined;
}

/** Why an existing allocation can no longer stay on this board (it changed, or live state is corrupt), or undefined. */
function unfit(board: Board, ledger: Ledger, a: Allocation): string | undefined {
  for (const id of a.cpus) {
    if (!board.cpus.some((c) => c.id === id)) return `core ${id} is not on the board`;
    const h = ledger.cores.get(id);
    if (h) return `core ${id} is ${heldBy(h)}`;
  }
  if (!board.memory.some((bank) => contains(bank, a.memory))) return `memory ${formatRange(a.memory)} is outside RAM`;
  const clash = ledger.memory.find((h) => overlaps(h.range, a.memory));
  if (clash) return `memory ${formatRange(a.memory)} overlaps ${memoryOf(clash)}`;
  for (const d of a.devices) {
    if (!board.devices.some((dev) => dev.name === d)) return `device \`${d}\` is not on the board`;
    const h = ledger.devices.get(d);
    if (h) return `device \`${d}\` is ${heldBy(h)}`;
  }
  return undefined;
}

/** Places one request, all or nothing; every problem is reported, one failure each. */
function place(board: Board, ledger: Ledger, r: AllocRequest, pins: Pins): Outcome {
  const failures: AllocFailure[] = [];
  const fail = (resource: AllocFailure['resource'], message: string): void => {
    failures.push({ name: r.name, resource, message });
  };

  const devices = [...new Set(r.devices)];
  for (const d of devices) {
    const problem = !board.devices.some((dev) => dev.name === d)
      ? 'the board has no such device'
      : heldDevice(ledger, d);
    if (problem) fail('devices', `cannot give \`${d}\` to \`${r.name}\`: ${problem}`);
  }

  const cpus = placeCores(board, ledger, r, pins);
  if (typeof cpus === 'string') fail('cpus', cpus);
  else for (const message of cpus.problems) fail('cpus', message);

  const memory = placeMemory(board, ledger, r, pins);
  if (typeof memory === 'string') fail('memory', memory);

  if (failures.length > 0 || typeof cpus === 'string' || typeof memory === 'string') return { ok: false, failures };
  return { ok: true, allocation: { name: r.name, cpus: cpus.ids, memory, devices } };
}

function heldDevice(ledger: Ledger, d: string): string | undefined {
  const h = ledger.devices.get(d);
  return h ? `it is ${heldBy(h)}` : undefined;
}

/** The cores for a request, with a problem per unavailable explicit id; or why a count cannot be met. */
function placeCores(
  board: Board,
  ledger: Ledger,
  r: AllocRequest,
  pins: Pins,
): { readonly ids: number[]; readonly problems: string[] } | string {
  const onBoard = board.cpus.map((c) => c.id).sort((a, b) => a - b);
  if ('ids' in r.cpus) {
    const ids = [...new Set(r.cpus.ids)].sort((a, b) => a - b);
    const problems: string[] = [];
    for (const id of ids) {
      const h = ledger.cores.get(id);
      if (!onBoard.includes(id))
        problems.push(
          `cannot give core ${id} to \`${r.name}\`: the board has no core ${id} (its cores are ${idRanges(onBoard)})`,
        );
      else if (h) problems.push(`cannot give core ${id} to \`${r.name}\`: it is ${heldBy(h)}`);
    }
    return { ids, problems };
  }
  const count = r.cpus.count;
  // Unpinned cores first; cores another waiting request pins only when there are not enough others.
  // One pass that stops once `count` unpinned free cores are found: on a board of hundreds of
  // cores, listing every free core for every request was most of the allocator's time.
  const ids: number[] = [];
  const pinned: number[] = [];
  for (const id of onBoard) {
    if (ledger.cores.has(id)) continue;
    if (!pins.cores.has(id)) {
      ids.push(id);
      if (ids.length === count) break;
    } else if (pinned.length < count) pinned.push(id);
  }
  if (ids.length < count) {
    const free = onBoard.filter((id) => !ledger.cores.has(id));
    if (free.length < count) {
      const which =
        free.length === 0
          ? 'none are free'
          : `${free.length} ${free.length === 1 ? 'is' : 'are'} free (${free.join(', ')})`;
      return `cannot place \`${r.name}\`: needs ${plural(count, 'core')}; ${which}`;
    }
    ids.push(...pinned.slice(0, count - ids.length));
  }
  ids.sort((a, b) => a - b);
  return { ids, problems: [] };
}

/** The memory window for a request, or why there is none. */
function placeMemory(board: Board, ledger: Ledger, r: AllocRequest, pins: Pins): MemRange | string {
  const m = r.memory;
  if (m.base !== undefined) return placeAt(board, ledger, r, m.base);
  const taken = ledger.memory.map((h) => h.range);
  const free = subtract(board.memory, taken);
  // Try around what waiting requests pin, then (only if that fails) over it.
  const freeAvoiding = pins.memory.length > 0 ? subtract(free, pins.memory) : free;
  if (m.cover) {
    const cover = m.cover;
    return (
      coverWindow(freeAvoiding, m.size, m.align, cover) ??
      coverWindow(free, m.size, m.align, cover) ??
      coverFailure(board, ledger, r, cover, free)
    );
  }
  const fit = bestFit(freeAvoiding, m.size, m.align) ?? bestFit(free, m.size, m.align);
  if (fit) return fit;
  const largest = free.reduce<MemRange | undefined>((best, b) => (!best || b.size > best.size ? b : best), undefined);
  const needs = `needs ${formatSize(m.size)} contiguous`;
  if (!largest) return `cannot place \`${r.name}\`: ${needs}; no memory is free`;
  const at = `${formatSize(largest.size)} at ${formatAddress(largest.base)}`;
  if (largest.size < m.size) return `cannot place \`${r.name}\`: ${needs}; largest free block is ${at}`;
  return (
    `cannot place \`${r.name}\`: ${needs} at a ${formatSize(m.align)}-aligned base; ` +
    `no free block has room for one (largest free block is ${at})`
  );
}

/** Best fit: the smallest free block with room for an aligned window, lowest address among equals. */
function bestFit(free: readonly MemRange[], size: number, align: number): MemRange | undefined {
  let best: { block: MemRange; base: number } | undefined;
  for (const block of free) {
    const base = alignUp(block.base, align);
    if (base + size > end(block)) continue;
    if (!best || block.size < best.block.size || (block.size === best.block.size && block.base < best.block.base))
      best = { block, base };
  }
  return best && { base: best.base, size };
}

/** The lowest aligned window of `size` that contains `cover` inside one free block. */
function coverWindow(free: readonly MemRange[], size: number, align: number, cover: MemRange): MemRange | undefined {
  const block = free.find((b) => contains(b, cover));
  if (!block) return undefined;
  const base = alignUp(Math.max(block.base, end(cover) - size), align);
  return base <= cover.base && base + size <= end(block) ? { base, size } : undefined;
}

function coverFailure(
  board: Board,
  ledger: Ledger,
  r: AllocRequest,
  cover: MemRange,
  free: readonly MemRange[],
): string {
  const m = r.memory;
  const head = `cannot place \`${r.name}\`: its image at ${formatRange(cover)}`;
  if (cover.size > m.size)
    return `${head} spans ${formatSize(cover.size)}, more than its ${formatSize(m.size)} of memory`;
  if (!board.memory.some((bank) => contains(bank, cover))) return `${head} ${outsideRam(board, cover)}`;
  const clashes = ledger.memory.filter((h) => overlaps(h.range, cover));
  if (clashes.length > 0) return `${head} overlaps ${clashList(clashes)}`;
  const block = free.find((b) => contains(b, cover));
  const around = block ? `${formatRange(block)}, ${formatSize(block.size)}` : 'none';
  return (
    `${head} needs a ${formatSize(m.size)} window at a ${formatSize(m.align)}-aligned base that covers it; ` +
    `none fits in the free block around it (${around})`
  );
}

/** Checks an explicit base: aligned, inside one bank, covering any image, and free. */
function placeAt(board: Board, ledger: Ledger, r: AllocRequest, base: number): MemRange | string {
  const m = r.memory;
  const window = { base, size: m.size };
  const head = `cannot place \`${r.name}\` at ${formatAddress(base)}`;
  if (base % m.align !== 0) return `${head}: the base is not aligned to ${formatSize(m.align)}`;
  if (!board.memory.some((bank) => contains(bank, window)))
    return `${head}: ${formatRange(window)} ${outsideRam(board, window)}`;
  if (m.cover && !contains(window, m.cover))
    return `${head}: ${formatRange(window)} does not cover its image at ${formatRange(m.cover)}`;
  const clashes = ledger.memory.filter((h) => overlaps(h.range, window));
  if (clashes.length > 0) return `${head}: ${formatRange(window)} overlaps ${clashList(clashes)}`;
  return window;
}

function clashList(clashes: readonly HeldRange[]): string {
  return [...clashes]
    .sort((a, b) => a.range.base - b.range.base)
    .map(memoryOf)
    .join(' and ');
}

function memoryOf(h: HeldRange): string {
  const range = formatRange(h.range);
  if (h.holder.kind === 'reserved') return `memory reserved by ${ownerName(h.holder.owner)} (${range})`;
  return `\`${h.holder.name}\`'s memory (${range})`;
}

function heldBy(h: Holder): string {
  return h.kind === 'reserved' ? `reserved by ${ownerName(h.owner)}` : `already given to \`${h.name}\``;
}

function ownerName(owner: 'management' | 'monitor'): string {
  return owner === 'management' ? 'the management partition' : 'the monitor';
}

/** Why a range that no bank contains is not in RAM: it leaves RAM, or it straddles banks that touch. */
function outsideRam(board: Board, range: MemRange): string {
  const straddles = subtract([range], board.memory).length === 0;
  return `${straddles ? 'spans more than one RAM bank' : 'is outside RAM'} (${ramList(board)})`;
}

function ramList(board: Board): string {
  return board.memory.length === 0
    ? 'the board has none'
    : `RAM is ${[...board.memory]
        .sort((a, b) => a.base - b.base)
        .map(formatRange)
        .join(', ')}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function listOrNone(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

/** Ascending ids with runs collapsed: "0–7", "0–3, 6, 7". */
function idRanges(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length;) {
    let j = i;
    while (j + 1 < ids.length && (ids[j + 1] as number) === (ids[j] as number) + 1) j++;
    const first = ids[i] as number;
    const last = ids[j] as number;
    parts.push(j - i >= 2 ? `${first}–${last}` : j > i ? `${first}, ${last}` : `${first}`);
    i = j + 1;
  }
  return parts.length === 0 ? 'none' : parts.join(', ');
}
