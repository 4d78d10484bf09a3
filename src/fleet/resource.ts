// The Partition custom resource (deploy/crd.yaml, SPEC "Fleets") and the manifest the engine reads
// for it: the same vman.dev/v1alpha1 shape as a file in partitions.d/, plus `spec.nodeName`, the
// device that runs it, mirrored in the label `vman.dev/node` by which each agent selects its own.
// Pure: the agent's I/O (./kube.ts, ./cache.ts) hands these objects in and out.

export const GROUP = 'vman.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'partitions';
export const KIND = 'Partition';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** The label that names the device running a partition (mirrors spec.nodeName). */
export const NODE_LABEL = 'vman.dev/node';

/** A Partition as the API server returns it (only what the agent reads). */
export interface PartitionObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly status?: Readonly<Record<string, unknown>>;
}

/** What the agent keeps of a Partition: enough to write its manifest and report its status. */
export interface DesiredPartition {
  readonly name: string;
  readonly uid: string;
  readonly generation: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: Readonly<Record<string, unknown>>;
  /** The status last read from or written to the API server (conditions keep their transition times). */
  readonly status?: Readonly<Record<string, unknown>>;
}

/** The agent's view of a Partition object. */
export function desiredOf(o: PartitionObject): DesiredPartition {
  const m = o.metadata;
  return {
    name: m.name,
    uid: m.uid ?? '',
    generation: m.generation ?? 0,
    labels: { ...(m.labels ?? {}) },
    spec: { ...(o.spec ?? {}) },
    ...(o.status ? { status: o.status } : {}),
  };
}

/** Whether a change to a Partition is one the engine must see (its spec or labels; not its status). */
export function specChanged(a: DesiredPartition | undefined, b: DesiredPartition): boolean {
  if (!a) return true;
  return a.uid !== b.uid || a.generation !== b.generation || JSON.stringify(a.labels) !== JSON.stringify(b.labels);
}

/**
 * Why this agent must not run a Partition selected by its label, or undefined when it may: the label
 * and spec.nodeName must agree, so that `kubectl get -l vman.dev/node=…` shows what each device runs.
 */
export function nodeMismatch(p: DesiredPartition, node: string): string | undefined {
  const nodeName = p.spec.nodeName;
  if (nodeName === node) return undefined;
  const given = typeof nodeName === 'string' ? `spec.nodeName is \`${nodeName}\`` : 'spec.nodeName is not set';
  return (
    `${given} but the label ${NODE_LABEL} is \`${node}\`; ` + `set both to the device that runs partition \`${p.name}\``
  );
}

/**
 * The manifest document the engine reads for a Partition: its name and labels, and its spec without
 * nodeName. `paths` rewrites each file path (kernel, initrd, image, overlays) as the agent resolves them.
 */
export function manifestOf(p: DesiredPartition, paths: (v: string) => string): Record<string, unknown> {
  const { nodeName: _node, ...rest } = p.spec;
  const spec: Record<string, unknown> = rest;
  const boot = spec.boot;
  if (boot && typeof boot === 'object' && !Array.isArray(boot)) {
    const b: Record<string, unknown> = { ...(boot as Record<string, unknown>) };
    for (const key of ['kernel', 'initrd', 'image'] as const) if (typeof b[key] === 'string') b[key] = paths(b[key]);
    if (Array.isArray(b.overlays)) b.overlays = b.overlays.map((v) => (typeof v === 'string' ? paths(v) : v));
    spec.boot = b;
  }
  const labels = Object.keys(p.labels).length ? { labels: p.labels } : {};
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name: p.name, ...labels }, spec };
}
