// Who depends on whom, for the writers that take partitions away: `delete` refuses to leave a manifest
// whose dependsOn names a partition no longer declared (or, with --cascade, takes the dependants too,
// dependants first); `destroy --cascade` takes live dependants; and any plan that destroys or stops a
// partition that stays depended on by a running one says so. Pure.
import type { LiveState } from '../backends/types.js';
import type { Plan } from '../plan/types.js';

/** One `spec.dependsOn` entry of a document in partitions.d/, where it is written. */
export interface DependsOnEdge {
  /** The partition the document declares (the dependant). */
  readonly from: string;
  /** The partition it names. */
  readonly on: string;
  /** Absolute path of the manifest. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Every partition that depends on one of `names`, directly or through others (`names` excluded), sorted. */
export function dependantClosure(
  names: readonly string[],
  dependsOn: readonly { readonly from: string; readonly on: string }[],
): string[] {
  const out = new Set<string>();
  const todo = [...names];
  while (todo.length) {
    const n = todo.pop() ?? '';
    for (const e of dependsOn) {
      if (e.on !== n || names.includes(e.from) || out.has(e.from)) continue;
      out.add(e.from);
      todo.push(e.from);
    }
  }
  return [...out].sort();
}

/** `names` in an order where each comes after every one of them that depends on it (dependants first). */
export function dependantsFirst(
  names: readonly string[],
  dependsOn: readonly { readonly from: string; readonly on: string }[],
): string[] {
  const left = new Set(names);
  const out: string[] = [];
  while (left.size) {
    const free = [...left].filter((n) => !dependsOn.some((e) => e.on === n && e.from !== n && left.has(e.from)));
    // A cycle (already a manifest problem) cannot block the removal: take the rest in name order.
    const next = free.length ? free.sort() : [...left].sort();
    for (const n of next) left.delete(n);
    out.push(...next);
  }
  return out;
}

/** What each live partition was brought up depending on (its record), as edges. */
export function liveDependsOn(live: LiveState): { from: string; on: string }[] {
  return live.partitions.flatMap((p) => (p.record?.dependsOn ?? []).map((on) => ({ from: p.name, on })));
}

/** A partition a plan destroys or stops while running partitions that depend on it stay up. */
export interface DependencyWarning {
  readonly partition: string;
  readonly action: 'delete' | 'stop';
  /** The running partitions that depend on it and that the plan leaves running, sorted. */
  readonly dependants: readonly string[];
}

/**
 * The plan's deletes and stops of partitions that running partitions depend on (by what they were
 * brought up with, or what the plan brings them up with) and that the plan neither deletes nor stops.
 */
export function dependencyWarnings(plan: Plan, live: LiveState): DependencyWarning[] {
  const action = new Map(plan.changes.map((c) => [c.partition, c.action]));
  const goes = (n: string) => action.get(n) === 'delete' || action.get(n) === 'stop';
  const edges = [
    ...liveDependsOn(live),
    ...Object.values(plan.targets).flatMap((t) => t.dependsOn.map((on) => ({ from: t.name, on }))),
  ];
  const running = new Set(live.partitions.filter((p) => p.state === 'running').map((p) => p.name));
  const out: DependencyWarning[] = [];
  for (const c of plan.changes) {
    if (c.action !== 'delete' && c.action !== 'stop') continue;
    const dependants = [
      ...new Set(edges.filter((e) => e.on === c.partition && running.has(e.from) && !goes(e.from)).map((e) => e.from)),
    ].sort();
    if (dependants.length) out.push({ partition: c.partition, action: c.action, dependants });
  }
  return out;
}
