// Defence in depth: what a monitor refuses, whatever the plan asks. Every backend asks these checks
// before it carries out a step (sim, qemu, and a provider process speaking the provider protocol),
// over a small view of what it holds for the partition, so a saved plan edited by hand (an entry moved
// by 0x1000, another core, a DTB that is not the one built) is refused the same way everywhere.
// Pure: the backend gathers the view (its files, its processes) and computes digests; these only compare.
//
// One function per step kind, each returning why the monitor must refuse the step, or undefined:
//
//   allocate           no partition of that name, or one holding exactly these resources (a repeat);
//                      the cores, memory and devices exist, are nobody else's, and keep isolation
//   build-fdt          the partition exists; the planned DTB's bytes have the step's digest and size
//   load               the partition exists, its cores are not running, its DTB was built; every item
//                      lies inside its memory; exactly one DTB, the one built, at the boot's DTB address;
//                      the boot core is the partition's and the entry lies inside it
//   release-cores      something is loaded; the step's boot core, entry and DTB address are the loaded
//                      ones; the core is the partition's, the entry inside it; it has not powered off or crashed
//   wait-ready         something is loaded and its cores were released (not stopped or paused)
//   stop-cores         never refused (stopping is always safe, also of what is absent)
//   scrub-memory       its cores are not running (absent: nothing to scrub)
//   release-resources  its cores are not running and its memory was scrubbed (absent: nothing to release)
//
// A refusal becomes `the monitor refused KIND for \`NAME\`: WHY` (refusalError).
import type { Board, MemRange } from '../board/model.js';
import type { Step, StepKind } from '../plan/types.js';
import { VmanError } from '../errors.js';
import { formatAddress, formatRange } from '../units/format.js';
import { overlaps } from '../units/ranges.js';
import type { BootEntry, LoadedImage, PowerState } from './types.js';

/** What a partition holds: the resources isolation is about. */
export interface Holding {
  readonly name: string;
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  readonly devices: readonly string[];
}

/** How what was loaded is entered (the load's BootEntry). */
export type LoadedBoot = BootEntry;

/** What the monitor holds for one partition, as the checks read it. Any backend can fill it in. */
export interface PartitionView extends Holding {
  readonly power: PowerState;
  /** The DTB the monitor built (build-fdt); `size` is absent when the backend did not record it. */
  readonly dtb?: { readonly sha256: string; readonly size?: number };
  /** What is in its memory; empty when scrubbed or never loaded. */
  readonly loaded: readonly LoadedImage[];
  /** Set by a completed load, cleared by a scrub. */
  readonly boot?: LoadedBoot;
}

/** Everything a check reads besides the step. */
export interface CheckInput {
  readonly board: Board;
  /** The partition as the monitor holds it; undefined when it holds none of that name. */
  readonly partition: PartitionView | undefined;
  /** What the monitor's other partitions hold (read by allocate alone). */
  readonly others?: readonly Holding[];
  /** How the planned boot is entered (StepContext.boot), for load. */
  readonly plannedBoot?: BootEntry;
  /** Digest and size of the planned DTB's bytes (Target.dtb), as the backend computed them (build-fdt). */
  readonly plannedDtb?: { readonly sha256: string; readonly size: number };
}

type StepOf<K extends StepKind> = Extract<Step, { readonly kind: K }>;
/** A check: why the monitor must refuse `step`, or undefined. */
export type Check<K extends StepKind> = (step: StepOf<K>, input: CheckInput) => string | undefined;

/** Bytes of the first instruction at the entry point, for "the entry lies inside the partition". */
const INSTRUCTION_BYTES = 4;

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

/** Whether two holdings name the same cores, memory and devices (in the same order). */
export function sameAllocation(a: Omit<Holding, 'name'>, b: Omit<Holding, 'name'>): boolean {
  return (
    a.cpus.join() === b.cpus.join() &&
    a.memory.base === b.memory.base &&
    a.memory.size === b.memory.size &&
    a.devices.join() === b.devices.join()
  );
}

/** allocate: a repeat of what took effect is fine; anything else must keep every partition isolated. */
export const checkAllocate: Check<'allocate'> = (step, { board, partition, others = [] }) => {
  if (partition)
    return sameAllocation(partition, step) ? undefined : 'a partition of that name already holds other resources';
  return isolationViolation(board, others, {
    name: step.partition,
    cpus: step.cpus,
    memory: step.memory,
    devices: step.devices,
  });
};

/** build-fdt: the bytes to build from are the ones the step names. */
export const checkBuildFdt: Check<'build-fdt'> = (step, { partition, plannedDtb }) => {
  if (!partition) return 'no such partition';
  if (!plannedDtb) return 'no tree was planned';
  if (plannedDtb.sha256 !== step.dtbSha256) return 'the planned device tree does not match its digest';
  if (plannedDtb.size !== step.size)
    return `the planned device tree is ${plannedDtb.size} bytes, not the ${step.size} its step names`;
  return undefined;
};

/** load: what goes into memory stays inside the partition, and the DTB is the one built, where the boot looks. */
export const checkLoad: Check<'load'> = (step, { partition, plannedBoot: target }) => {
  if (!partition) return 'no such partition';
  if (!target) return 'no boot was planned';
  if (partition.power === 'running') return 'its cores are running; stop them first';
  const built = partition.dtb;
  if (!built) return 'its device tree has not been built';
  const mem = partition.memory;
  for (const item of step.items) {
    if (!inside(mem, item.addr, item.size + (item.zero ?? 0))) {
      const at = formatRange({ base: item.addr, size: item.size });
      return `${item.what} at ${at} lies outside the partition's memory ${formatRange(mem)}`;
    }
  }
  const dtbs = step.items.filter((i) => i.what === 'dtb');
  const dtb = dtbs[0];
  if (!dtb || dtbs.length > 1) return `the load names ${dtbs.length} DTBs, not one`;
  if (dtb.sha256 !== built.sha256) return 'the DTB to load is not the one built';
  if (built.size !== undefined && dtb.size !== built.size)
    return `the DTB to load is ${dtb.size} bytes, and the one built ${built.size}`;
  if (dtb.addr !== target.dtbAddr)
    return `the DTB goes to ${formatAddress(dtb.addr)}, but the boot core is given ${formatAddress(target.dtbAddr)}`;
  if (!partition.cpus.includes(target.bootCpu)) return `core ${target.bootCpu} is not the partition's`;
  if (!inside(mem, target.entry, INSTRUCTION_BYTES))
    return `entry ${formatAddress(target.entry)} lies outside the partition`;
  return undefined;
};

/** release-cores: the core is released exactly as what was loaded is to be entered. */
export const checkRelease: Check<'release-cores'> = (step, { partition }) => {
  if (!partition) return 'no such partition';
  const boot = partition.boot;
  if (!boot || partition.loaded.length === 0) return 'nothing is loaded';
  if (!partition.cpus.includes(step.bootCpu)) return `core ${step.bootCpu} is not the partition's`;
  if (boot.entry !== step.entry || boot.bootCpu !== step.bootCpu || boot.dtbAddr !== step.dtbAddr) {
    const hex = formatAddress;
    const loaded = `core ${boot.bootCpu} at ${hex(boot.entry)} with the DTB at ${hex(boot.dtbAddr)}`;
    const asked = `core ${step.bootCpu} at ${hex(step.entry)} with ${hex(step.dtbAddr)}`;
    return `what was loaded enters ${loaded}, not ${asked}`;
  }
  if (!inside(partition.memory, step.entry, INSTRUCTION_BYTES))
    return `entry ${formatAddress(step.entry)} lies outside the partition`;
  if (partition.power === 'shutdown' || partition.power === 'crashed')
    return `the partition is ${partition.power}; it must be loaded again`;
  return undefined;
};

/** wait-ready: there is something to wait for. A guest that already powered off may have been ready first. */
export const checkWaitReady: Check<'wait-ready'> = (_step, { partition }) => {
  if (!partition) return 'no such partition';
  if (!partition.boot || partition.loaded.length === 0) return 'nothing is loaded';
  if (partition.power === 'stopped' || partition.power === 'paused') return `the partition is ${partition.power}`;
  return undefined;
};

/** stop-cores: never refused. */
export const checkStop: Check<'stop-cores'> = () => undefined;

/** scrub-memory: never under running cores. */
export const checkScrub: Check<'scrub-memory'> = (_step, { partition }) => {
  if (!partition) return undefined;
  if (partition.power === 'running') return 'its cores are running';
  return undefined;
};

/** release-resources: nothing runs and nothing is left in its memory for the next holder. */
export const checkReleaseResources: Check<'release-resources'> = (_step, { partition }) => {
  if (!partition) return undefined;
  if (partition.power === 'running') return 'its cores are running';
  if (partition.boot || partition.loaded.length > 0) return 'its memory has not been scrubbed';
  return undefined;
};

/** The check of each step kind. */
export const CHECKS = {
  allocate: checkAllocate,
  'build-fdt': checkBuildFdt,
  load: checkLoad,
  'release-cores': checkRelease,
  'wait-ready': checkWaitReady,
  'stop-cores': checkStop,
  'scrub-memory': checkScrub,
  'release-resources': checkReleaseResources,
} as const satisfies { readonly [K in StepKind]: Check<K> };

/** Why the monitor must refuse `step`, or undefined: the check of its kind. */
export function refusal(step: Step, input: CheckInput): string | undefined {
  const check = CHECKS[step.kind] as Check<StepKind>;
  return check(step as StepOf<StepKind>, input);
}

/** The error a refusal is reported as. */
export function refusalError(step: Step, why: string, reason: 'refused' | 'no-such-partition' = 'refused'): VmanError {
  return new VmanError('backend', `the monitor refused ${step.kind} for \`${step.partition}\`: ${why}`, { reason });
}

/** Throws the refusal of `step`, if its check refuses it. */
export function enforce(step: Step, input: CheckInput): void {
  const why = refusal(step, input);
  if (why === undefined) return;
  // A step that needs the partition and finds none; allocate's refusals are all about isolation.
  const absent = !input.partition && step.kind !== 'allocate';
  throw refusalError(step, why, absent ? 'no-such-partition' : 'refused');
}
