// Partitions as libvirt domains: which exist (declared, live, or both), their UUIDs and states in
// libvirt's vocabulary, and the lifecycle events between two looks at them. Pure: the dispatcher feeds
// it the engine's inventory.
import type { PartitionSpec } from '../manifest/types.js';
import type { LiveState, PowerState } from '../backends/types.js';
import { nameUuid } from './domain-xml/uuid.js';
import * as P from './procedures.js';

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
      return { state: P.VIR_DOMAIN_RUNNING, reason: P.VIR_DOMAIN_RUNNING_BOOTED };
    case 'paused':
      return { state: P.VIR_DOMAIN_PAUSED, reason: P.VIR_DOMAIN_PAUSED_USER };
    case 'shutdown':
      return { state: P.VIR_DOMAIN_SHUTOFF, reason: P.VIR_DOMAIN_SHUTOFF_SHUTDOWN };
    case 'crashed':
      return { state: P.VIR_DOMAIN_CRASHED, reason: P.VIR_DOMAIN_CRASHED_PANICKED };
    case 'stopped':
      return { state: P.VIR_DOMAIN_SHUTOFF, reason: P.VIR_DOMAIN_SHUTOFF_DESTROYED };
    default:
      return { state: P.VIR_DOMAIN_SHUTOFF, reason: P.VIR_DOMAIN_SHUTOFF_UNKNOWN };
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
      active: state === P.VIR_DOMAIN_RUNNING || state === P.VIR_DOMAIN_PAUSED,
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
  if (now === 'running' && was === 'paused')
    return [ev(P.VIR_DOMAIN_EVENT_RESUMED, P.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)];
  if (now === 'paused' && was === 'running')
    return [ev(P.VIR_DOMAIN_EVENT_SUSPENDED, P.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)];
  if (running(now)) {
    const started = [ev(P.VIR_DOMAIN_EVENT_STARTED, P.VIR_DOMAIN_EVENT_STARTED_BOOTED)];
    return now === 'paused'
      ? [...started, ev(P.VIR_DOMAIN_EVENT_SUSPENDED, P.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)]
      : started;
  }
  if (!running(was))
    return now === 'crashed' ? [ev(P.VIR_DOMAIN_EVENT_CRASHED, P.VIR_DOMAIN_EVENT_CRASHED_PANICKED)] : [];
  if (now === 'crashed') {
    return [
      ev(P.VIR_DOMAIN_EVENT_CRASHED, P.VIR_DOMAIN_EVENT_CRASHED_PANICKED),
      ev(P.VIR_DOMAIN_EVENT_STOPPED, P.VIR_DOMAIN_EVENT_STOPPED_CRASHED),
    ];
  }
  return [
    ev(
      P.VIR_DOMAIN_EVENT_STOPPED,
      now === 'shutdown' ? P.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN : P.VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
    ),
  ];
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
    if (now?.declared && !was?.declared) ev(P.VIR_DOMAIN_EVENT_DEFINED, P.VIR_DOMAIN_EVENT_DEFINED_ADDED);
    else if (now?.declared && was?.declared && now.definition !== was.definition) {
      ev(P.VIR_DOMAIN_EVENT_DEFINED, P.VIR_DOMAIN_EVENT_DEFINED_UPDATED);
    }
    out.push(...powerEvents(name, was?.power, now?.power));
    if (was?.declared && !now?.declared) ev(P.VIR_DOMAIN_EVENT_UNDEFINED, P.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
  }
  return out;
}
