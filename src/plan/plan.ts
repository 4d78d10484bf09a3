// The pure planner: desired partitions (already placed) + live state → changes and ordered steps.
import type { LivePartition, LiveState, Orphan } from '../backends/types.js';
import type { Placement } from '../alloc/types.js';
import type { Action, AppliedRecord, Change, FieldChange, Plan, Step, StepKind, Target } from './types.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from '../manifest/types.js';
import { formatAddress, formatSize } from '../units/format.js';

/** A desired partition after allocation, layout and tree building. */
export interface Resolved {
  readonly target: Target;
  readonly placement: Placement;
}

export interface PlanOptions {
  /** Only these partitions and what they depend on (SPEC `--target`). */
  readonly targets?: readonly string[];
  /** Replace these even if unchanged (SPEC `--replace`). */
  readonly replace?: readonly string[];
  /**
   * `vman watch`'s restart policy: asked about each partition whose OS ended by itself (live `crashed` or
   * `shutdown`) while its manifest wants it running. A reason holds its start back: the change is a
   * `noop` that gives it. Without this option (`vman plan`, `vman apply`), such a partition is started.
   */
  readonly holdEnded?: (p: EndedPartition) => string | undefined;
}

/** A partition whose OS ended by itself, as the restart policy is asked about it. */
export interface EndedPartition {
  readonly name: string;
  readonly ended: 'crashed' | 'shutdown';
  /** The manifest's (what the record holds may be older: a changed policy takes effect at the next end). */
  readonly policy: RestartPolicy;
}

const CREATE_STEPS: readonly StepKind[] = ['allocate', 'build-fdt', 'load', 'release-cores', 'wait-ready'];
const DELETE_STEPS: readonly StepKind[] = ['stop-cores', 'scrub-memory', 'release-resources'];
const RESTART_STEPS: readonly StepKind[] = [
  'stop-cores',
  'scrub-memory',
  'build-fdt',
  'load',
  'release-cores',
  'wait-ready',
];
const START_STEPS: readonly StepKind[] = ['scrub-memory', 'build-fdt', 'load', 'release-cores', 'wait-ready'];
const STOP_STEPS: readonly StepKind[] = ['stop-cores'];
const RUN_ONLY: ReadonlySet<StepKind> = new Set(['release-cores', 'wait-ready']);

/** The step kinds an action runs, in order (SPEC table); a stopped target never releases its cores. */
export function stepsFor(action: Action, state: 'running' | 'stopped'): StepKind[] {
  const kinds =
    action === 'create'
      ? CREATE_STEPS
      : action === 'delete'
        ? DELETE_STEPS
        : action === 'replace'
          ? [...DELETE_STEPS, ...CREATE_STEPS]
          : action === 'restart'
            ? RESTART_STEPS
            : action === 'start'
              ? START_STEPS
              : action === 'stop'
                ? STOP_STEPS
                : [];
  return kinds.filter((k) => state === 'running' || !RUN_ONLY.has(k));
}

/** Every name in `names` with what it depends on, transitively (SPEC: `--target`). */
export function dependencyClosure(names: readonly string[], deps: (n: string) => readonly string[]): Set<string> {
  const out = new Set<string>();
  const todo = [...names];
  while (todo.length) {
    const n = todo.pop() ?? '';
    if (out.has(n)) continue;
    out.add(n);
    todo.push(...deps(n));
  }
  return out;
}

const isRunningish = (s: LivePartition['state']) => s === 'running';

function show(v: unknown): string {
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  if (v && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// Field-level differences between what was applied and what is desired.
function fieldChanges(
  before: AppliedRecord | undefined,
  after: AppliedRecord,
  live: LivePartition,
  placement: Placement,
): FieldChange[] {
  const out: FieldChange[] = [];
  const moved = placement.kind === 'moved';
  const add = (field: string, b: unknown, a: unknown, forces = false) => {
    if (show(b) !== show(a))
      out.push({
        field,
        ...(b === undefined ? {} : { before: show(b) }),
        ...(a === undefined ? {} : { after: show(a) }),
        ...(forces ? { forcesReplacement: true } : {}),
      });
  };
  // In the units and form the plan's other blocks print: `128 MiB`, `16 MiB at 0x48000000`.
  const memShow = (m: { readonly size: number; readonly base?: number | undefined }) =>
    m.base === undefined ? formatSize(m.size) : `${formatSize(m.size)} at ${formatAddress(m.base)}`;
  add('spec.cpus', before?.cpus ?? live.cpus, after.cpus, moved);
  add('spec.memory', memShow(before?.memory ?? live.memory), memShow(after.memory), moved);
  add('spec.devices', before?.devices ?? live.devices, after.devices, moved);
  if (before) {
    const keys = new Set([...Object.keys(before.boot), ...Object.keys(after.boot)]);
    for (const k of [...keys].sort()) add(`spec.boot.${k}`, before.boot[k], after.boot[k]);
    add('spec.state', before.state, after.state);
  }
  // Only differences that force the replace are marked; drop the markers for unchanged fields.
  return out.filter((f) => !f.forcesReplacement || moved);
}

// What changed in the things vman ignores for actions (uid, labels, dependsOn, readiness, restartPolicy).
function ignoredChanges(before: AppliedRecord | undefined, after: AppliedRecord): string[] {
  if (!before) return [];
  const out: string[] = [];
  if (before.uid !== after.uid) out.push('metadata.uid changed (no action needed)');
  if (show(before.labels) !== show(after.labels)) out.push('metadata.labels changed (no action needed)');
  if (show(before.dependsOn) !== show(after.dependsOn))
    out.push('spec.dependsOn changed (takes effect at the next bring-up)');
  if (show(before.readiness) !== show(after.readiness))
    out.push('spec.readiness changed (takes effect at the next bring-up)');
  // Records written before vman had restartPolicy hold none: the default, Never.
  if ((before.restartPolicy ?? 'Never') !== (after.restartPolicy ?? 'Never'))
    out.push('spec.restartPolicy changed (takes effect the next time the partition ends by itself)');
  for (const k of ['kernel', 'initrd', 'image', 'overlays']) {
    if (before.boot[k] !== after.boot[k] && before.boot[`${k}.sha256`] === after.boot[`${k}.sha256`])
      out.push(`spec.boot.${k} names another path with the same content (nothing to reload)`);
  }
  return out;
}

// Why the boot differs: field names when the applied record tells, else the loaded digests.
function bootReasons(before: AppliedRecord | undefined, target: Target, live: LivePartition): string[] {
  if (before) {
    const keys = new Set([...Object.keys(before.boot), ...Object.keys(target.record.boot)]);
    const changed = [...keys].sort().filter((k) => before.boot[k] !== target.record.boot[k]);
    if (changed.length) return changed.map((k) => `spec.boot.${k} changed`);
  }
  if (!live.bootDigest) return ['nothing is loaded in the partition (an interrupted apply, or drift)'];
  return ['what is loaded differs from the manifest (images changed on disk, or drift)'];
}

// A start or stop always names the state it changes: when the manifest did not change it (the
// partition stopped or crashed behind vman's back), the difference is the live state's.
function withLiveState(fields: readonly FieldChange[], live: LivePartition, want: Target['state']): FieldChange[] {
  if (fields.some((f) => f.field === 'spec.state')) return [...fields];
  return [...fields, { field: 'spec.state', before: live.state, after: want }];
}

/** Decides one partition's action from its desired target and live state. */
function decide(r: Resolved, live: LivePartition, forced: boolean, hold: PlanOptions['holdEnded']): Change {
  const t = r.target;
  const before = live.record;
  const fields = fieldChanges(before, t.record, live, r.placement);
  const base = { partition: t.name, fields };
  if (forced) return { ...base, action: 'replace', reasons: ['replacement requested with --replace'], drift: false };
  if (r.placement.kind === 'moved') {
    return { ...base, action: 'replace', reasons: [r.placement.reason ?? 'its resources changed'], drift: !before };
  }
  const liveRunning = isRunningish(live.state);
  if (live.bootDigest !== t.bootDigest) {
    return {
      ...base,
      action: 'restart',
      reasons: bootReasons(before, t, live),
      drift: !before || live.bootDigest === undefined,
    };
  }
  if (t.state === 'running' && !liveRunning) {
    const ended = live.state === 'crashed' || live.state === 'shutdown' ? live.state : undefined;
    const held = ended && hold?.({ name: t.name, ended, policy: t.record.restartPolicy ?? DEFAULT_RESTART_POLICY });
    if (held) return { ...base, fields: [], action: 'noop', reasons: [held], drift: false };
    const wasIntended = before?.state === 'stopped' && live.state === 'stopped';
    const reason = wasIntended
      ? 'spec.state changed from stopped to running'
      : `the partition is ${live.state}, but should be running`;
    return {
      ...base,
      fields: withLiveState(fields, live, t.state),
      action: 'start',
      reasons: [reason],
      drift: !wasIntended,
    };
  }
  if (t.state === 'stopped' && liveRunning) {
    const wasIntended = before?.state === 'running';
    return {
      ...base,
      fields: withLiveState(fields, live, t.state),
      action: 'stop',
      reasons: [
        wasIntended ? 'spec.state changed from running to stopped' : 'the partition is running, but should be stopped',
      ],
      drift: !wasIntended,
    };
  }
  return { ...base, fields: [], action: 'noop', reasons: ignoredChanges(before, t.record), drift: false };
}

/** Builds the plan: one change per partition in scope, steps with their `after` edges. */
export function makePlan(desired: readonly Resolved[], live: LiveState, opts: PlanOptions = {}): Plan {
  const want = new Map(desired.map((r) => [r.target.name, r]));
  const have = new Map(live.partitions.map((p) => [p.name, p]));
  const depsOf = (n: string) => want.get(n)?.target.dependsOn ?? [];
  const scope = opts.targets?.length ? dependencyClosure(opts.targets, depsOf) : undefined;
  const inScope = (n: string) => !scope || scope.has(n);
  const forced = new Set(opts.replace ?? []);

  const orphaned = new Map(live.orphans.map((o) => [o.owner, o]));
  const orphanReason = (o: Orphan) =>
    `the monitor holds resources for \`${o.owner}\`, which is no partition (${o.detail})`;
  const changes: Change[] = [];
  for (const name of [...new Set([...want.keys(), ...have.keys()])].sort()) {
    if (!inScope(name)) continue;
    const r = want.get(name);
    const l = have.get(name);
    const o = orphaned.get(name);
    // An orphan under a desired name is torn down first, then the partition is created: a replace.
    if (r && !l && o)
      changes.push({ partition: name, action: 'replace', reasons: [orphanReason(o)], fields: [], drift: true });
    else if (r && !l)
      changes.push({
        partition: name,
        action: 'create',
        reasons: ['no live partition has this name'],
        fields: [],
        drift: false,
      });
    else if (!r && l)
      changes.push({
        partition: name,
        action: 'delete',
        reasons: [
          l.record
            ? 'no manifest declares it'
            : 'no manifest declares it (it has no record: left over from an interrupted apply, or made outside vman)',
        ],
        fields: [],
        drift: !l.record,
      });
    else if (r && l) changes.push(decide(r, l, forced.has(name), opts.holdEnded));
  }
  for (const o of live.orphans) {
    if (!inScope(o.owner) || want.has(o.owner) || have.has(o.owner)) continue;
    changes.push({ partition: o.owner, action: 'delete', reasons: [orphanReason(o)], fields: [], drift: true });
  }
  return {
    changes,
    steps: orderSteps(changes, want, have, new Set(orphaned.keys())),
    targets: Object.fromEntries(
      changes
        .filter((c) => want.has(c.partition) && c.action !== 'noop' && c.action !== 'delete')
        .map((c) => [c.partition, want.get(c.partition)?.target as Target]),
    ),
  };
}

const id = (partition: string, kind: StepKind) => `${partition}/${kind}`;

// Steps of every change with their edges: each partition's own chain, hand-overs (teardown
// before bring-up of what it frees), dependsOn (bring-up after dependencies are ready) and
// reversed dependsOn for teardown (dependants stop first).
function orderSteps(
  changes: readonly Change[],
  want: ReadonlyMap<string, Resolved>,
  have: ReadonlyMap<string, LivePartition>,
  orphans: ReadonlySet<string>,
): Step[] {
  const kindsOf = new Map<string, StepKind[]>();
  for (const c of changes) {
    const state = want.get(c.partition)?.target.state ?? 'stopped';
    kindsOf.set(c.partition, stepsFor(c.action, state));
  }
  const has = (p: string, k: StepKind) => kindsOf.get(p)?.includes(k) ?? false;
  const edges = new Map<string, Set<string>>();
  const edge = (from: string, to: string) => {
    if (from === to) return;
    const set = edges.get(to) ?? new Set<string>();
    set.add(from);
    edges.set(to, set);
  };
  for (const [p, kinds] of kindsOf) kinds.forEach((k, i) => i > 0 && edge(id(p, kinds[i - 1] as StepKind), id(p, k)));
  for (const [p, kinds] of kindsOf) {
    const r = want.get(p);
    const firstUp = kinds.find((k) => k === 'allocate');
    if (r && firstUp) {
      for (const h of r.placement.handover)
        if (h !== p && has(h, 'release-resources')) edge(id(h, 'release-resources'), id(p, firstUp));
      // The allocator cannot see what orphans hold: every allocation waits until they are gone.
      for (const o of orphans)
        if (o !== p && has(o, 'release-resources')) edge(id(o, 'release-resources'), id(p, firstUp));
    }
    if (r && has(p, 'release-cores')) {
      for (const d of r.target.dependsOn) if (has(d, 'wait-ready')) edge(id(d, 'wait-ready'), id(p, 'release-cores'));
    }
    // Teardown in reverse dependency order: a partition stops after those that depend on it.
    if (has(p, 'stop-cores')) {
      const liveDeps = have.get(p)?.record?.dependsOn ?? r?.target.dependsOn ?? [];
      for (const d of liveDeps) if (has(d, 'stop-cores')) edge(id(p, 'stop-cores'), id(d, 'stop-cores'));
    }
  }
  const steps: Step[] = [];
  for (const c of changes) {
    const kinds = kindsOf.get(c.partition) ?? [];
    const t = want.get(c.partition)?.target;
    const live = have.get(c.partition);
    for (const k of kinds) {
      const sid = id(c.partition, k);
      const after = [...(edges.get(sid) ?? [])].sort();
      steps.push(makeStep(k, sid, c.partition, after, t, live));
    }
  }
  return topoSort(steps);
}

function makeStep(
  kind: StepKind,
  sid: string,
  partition: string,
  after: string[],
  t: Target | undefined,
  live: LivePartition | undefined,
): Step {
  const base = { id: sid, partition, after };
  const need = (): Target => {
    if (!t) throw new Error(`bug: step ${sid} needs a desired target`);
    return t;
  };
  switch (kind) {
    case 'allocate': {
      const x = need();
      return { ...base, kind, cpus: x.cpus, memory: x.memory, devices: x.devices };
    }
    case 'build-fdt': {
      const x = need();
      return { ...base, kind, dtbSha256: x.dtbSha256, size: x.dtbSize };
    }
    case 'load':
      return { ...base, kind, items: need().loads };
    case 'release-cores': {
      const x = need();
      return { ...base, kind, bootCpu: x.bootCpu, entry: x.entry, dtbAddr: x.dtbAddr };
    }
    case 'wait-ready': {
      const x = need();
      return {
        ...base,
        kind,
        ...(x.readiness.console !== undefined ? { console: x.readiness.console } : {}),
        timeoutMs: x.readiness.timeoutMs,
      };
    }
    case 'stop-cores':
      return { ...base, kind };
    // An orphan has neither a live partition nor a target: the monitor scrubs what it holds under that owner.
    case 'scrub-memory':
      return { ...base, kind, memory: live?.memory ?? t?.memory ?? { base: 0, size: 0 } };
    case 'release-resources':
      return { ...base, kind };
  }
}

// Kahn's algorithm, taking ready steps in their original order so the result is deterministic.
// The ready steps wait in a min-heap of original indices: O(S log S + E), not O(S²), for big plans.
function topoSort(steps: readonly Step[]): Step[] {
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const indeg = new Array<number>(steps.length).fill(0);
  const next: number[][] = steps.map(() => []);
  steps.forEach((s, i) => {
    for (const a of s.after) {
      const from = index.get(a);
      if (from === undefined) continue;
      indeg[i]!++;
      next[from]!.push(i);
    }
  });
  const ready = new MinHeap();
  indeg.forEach((d, i) => d === 0 && ready.push(i));
  const out: Step[] = [];
  const done = new Array<boolean>(steps.length).fill(false);
  while (out.length < steps.length) {
    const i = ready.pop();
    if (i === undefined)
      throw new Error(
        `bug: the plan's steps form a cycle (${steps
          .filter((_, k) => !done[k])
          .map((s) => s.id)
          .join(', ')})`,
      );
    done[i] = true;
    out.push(steps[i]!);
    for (const j of next[i]!) if (--indeg[j]! === 0) ready.push(j);
  }
  return out;
}

/** A binary min-heap of integers. */
class MinHeap {
  private readonly items: number[] = [];

  push(v: number): void {
    const a = this.items;
    let i = a.push(v) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= v) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = v;
  }

  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
