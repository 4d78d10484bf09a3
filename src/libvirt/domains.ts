// Partitions as libvirt domains: which exist (declared, live, or both), their UUIDs and states in
// libvirt's vocabulary, and the lifecycle events between two looks at them. Pure: the dispatcher feeds
// it the engine's inventory.
import type { PartitionSpec } from '../manifest/types.js';
import type { LiveState, PowerState } from '../backends/types.js';
import { nameUuid } from './domain-xml/uuid.js';

/** virDomainState (include/libvirt/libvirt-domain.h). */
export const DOMAIN_STATE = {
  nostate: 0,
  running: 1,
  blocked: 2,
  paused: 3,
  shutdown: 4,
  shutoff: 5,
  crashed: 6,
  pmsuspended: 7,
} as const;

/** The reasons vman reports with a state (virDomainRunningReason, …ShutoffReason, …CrashedReason). */
export const STATE_REASON = {
  runningBooted: 1,
  pausedUser: 1,
  shutoffUnknown: 0,
  shutoffShutdown: 1,
  shutoffDestroyed: 2,
  crashedPanicked: 1,
} as const;

/** virDomainEventType and the details vman sends (libvirt-domain.h). */
export const EVENT = {
  defined: 0,
  undefined: 1,
  started: 2,
  suspended: 3,
  resumed: 4,
  stopped: 5,
  crashed: 8,
} as const;
export const EVENT_DETAIL = {
  definedAdded: 0,
  definedUpdated: 1,
  undefinedRemoved: 0,
  startedBooted: 0,
  suspendedPaused: 0,
  resumedUnpaused: 0,
  stoppedShutdown: 0,
  stoppedDestroyed: 1,
  stoppedCrashed: 2,
  crashedPanicked: 0,
} as const;

/** One partition as a libvirt domain. */
export interface Domain {
  readonly name: string;
  /** Lower-case RFC 4122 text. */
  readonly uuid: string;
  /** The manifest that declares it, if any (a live partition without one is shown as transient). */
  readonly spec: PartitionSpec | undefined;
  /** The monitor's power state; undefined when nothing is live under that name. */
  readonly power: PowerState | undefined;
  readonly state: number;
  readonly reason: number;
  readonly active: boolean;
  /** What the partition holds now (live), else what its manifest asks for. */
  readonly cpus: number;
  readonly memoryBytes: number;
}

function stateOf(power: PowerState | undefined): { state: number; reason: number } {
  switch (power) {
    case 'running':
      return { state: DOMAIN_STATE.running, reason: STATE_REASON.runningBooted };
    case 'paused':
      return { state: DOMAIN_STATE.paused, reason: STATE_REASON.pausedUser };
    case 'shutdown':
      return { state: DOMAIN_STATE.shutoff, reason: STATE_REASON.shutoffShutdown };
    case 'crashed':
      return { state: DOMAIN_STATE.crashed, reason: STATE_REASON.crashedPanicked };
    case 'stopped':
      return { state: DOMAIN_STATE.shutoff, reason: STATE_REASON.shutoffDestroyed };
    default:
      return { state: DOMAIN_STATE.shutoff, reason: STATE_REASON.shutoffUnknown };
  }
}

/** Every domain: declared partitions and live ones, in name order. */
export function domainsOf(specs: readonly PartitionSpec[], live: LiveState): Domain[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const held = new Map(live.partitions.map((p) => [p.name, p]));
  const names = [...new Set([...byName.keys(), ...held.keys()])].sort();
  return names.map((name) => {
    const spec = byName.get(name);
    const p = held.get(name);
    const { state, reason } = stateOf(p?.state);
    const cpus = p ? p.cpus.length : spec ? ('ids' in spec.cpus ? spec.cpus.ids.length : spec.cpus.count) : 0;
    return {
      name,
      uuid: spec?.uid ?? nameUuid(name),
      spec,
      power: p?.state,
      state,
      reason,
      // libvirt's "active": it has an id and runs (or is paused); vman's stopped partitions hold
      // resources but run nothing, which libvirt calls shut off.
      active: state === DOMAIN_STATE.running || state === DOMAIN_STATE.paused,
      cpus,
      memoryBytes: p ? p.memory.size : (spec?.memory.size ?? 0),
    };
  });
}

/** A lifecycle event for one domain. */
export interface LifecycleEvent {
  readonly name: string;
  readonly event: number;
  readonly detail: number;
}

/** What a domain looked like at the last look: for diffing. */
export interface Snapshot {
  readonly declared: boolean;
  readonly state: number;
  readonly power: PowerState | undefined;
  /** Identifies the declaration's content (a redefinition changes it). */
  readonly definition: string | undefined;
}

export function snapshotOf(d: Domain, definition: string | undefined): Snapshot {
  return { declared: d.spec !== undefined, state: d.state, power: d.power, definition };
}

// The events a change of power state means, in the order libvirt sends them.
function powerEvents(name: string, was: PowerState | undefined, now: PowerState | undefined): LifecycleEvent[] {
  if (was === now) return [];
  const ev = (event: number, detail: number): LifecycleEvent => ({ name, event, detail });
  const running = (p: PowerState | undefined) => p === 'running' || p === 'paused';
  if (now === 'running' && was === 'paused') return [ev(EVENT.resumed, EVENT_DETAIL.resumedUnpaused)];
  if (now === 'paused' && was === 'running') return [ev(EVENT.suspended, EVENT_DETAIL.suspendedPaused)];
  if (running(now)) {
    const started = [ev(EVENT.started, EVENT_DETAIL.startedBooted)];
    return now === 'paused' ? [...started, ev(EVENT.suspended, EVENT_DETAIL.suspendedPaused)] : started;
  }
  if (!running(was)) return now === 'crashed' ? [ev(EVENT.crashed, EVENT_DETAIL.crashedPanicked)] : [];
  if (now === 'crashed') {
    return [ev(EVENT.crashed, EVENT_DETAIL.crashedPanicked), ev(EVENT.stopped, EVENT_DETAIL.stoppedCrashed)];
  }
  return [ev(EVENT.stopped, now === 'shutdown' ? EVENT_DETAIL.stoppedShutdown : EVENT_DETAIL.stoppedDestroyed)];
}

/** The lifecycle events between two looks, domain by domain in name order. */
export function lifecycleEvents(
  before: ReadonlyMap<string, Snapshot>,
  after: ReadonlyMap<string, Snapshot>,
): LifecycleEvent[] {
  const out: LifecycleEvent[] = [];
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const was = before.get(name);
    const now = after.get(name);
    const ev = (event: number, detail: number) => out.push({ name, event, detail });
    if (now?.declared && !was?.declared) ev(EVENT.defined, EVENT_DETAIL.definedAdded);
    else if (now?.declared && was?.declared && now.definition !== was.definition) {
      ev(EVENT.defined, EVENT_DETAIL.definedUpdated);
    }
    out.push(...powerEvents(name, was?.power, now?.power));
    if (was?.declared && !now?.declared) ev(EVENT.undefined, EVENT_DETAIL.undefinedRemoved);
  }
  return out;
}
