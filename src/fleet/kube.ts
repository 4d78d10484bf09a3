// The fleet agent's edge to the Kubernetes API server, through @kubernetes/client-node (its
// KubeConfig for credentials, its generated clients and its Watch): list and watch this device's
// Partitions, patch their status, renew the device's Lease, post Events. Every call has a deadline,
// since a server that stops answering must not stall the agent; errors come back as FleetApiError.
// The package is loaded when the agent starts, so no other command pays for it.
import { createRequire } from 'node:module';
import type * as K8s from '@kubernetes/client-node';
import { GROUP, NODE_LABEL, PLURAL, VERSION, API_VERSION, KIND, type PartitionObject } from './resource.js';

/** How long one request may take before the agent treats the server as unreachable. */
const REQUEST_TIMEOUT_MS = 10_000;

/** A failed call: `status` is the HTTP status when the server answered (403, 404, 410…), else undefined. */
export class FleetApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One watch event, as the API server streams it. */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Record<string, unknown>;
}

/** A running watch: `ended` resolves when the stream closes (undefined) or fails (the error). */
export interface RunningWatch {
  readonly ended: Promise<FleetApiError | undefined>;
  stop(): void;
}

/** What the agent asks of the API server, scoped to one device's namespace and label. */
export interface FleetApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly namespace: string;
  list(): Promise<{ readonly items: readonly PartitionObject[]; readonly resourceVersion: string }>;
  watch(resourceVersion: string, onEvent: (e: WatchEvent) => void): Promise<RunningWatch>;
  /** Merge-patches the status subresource; returns the object as stored. */
  patchStatus(name: string, status: unknown): Promise<PartitionObject>;
  /** Creates or renews the device's Lease (its heartbeat). */
  heartbeat(leaseSeconds: number): Promise<void>;
  /** Posts an Event about a Partition (best effort: callers ignore failures). */
  event(p: { name: string; uid: string }, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

// The API server's own words when it sent a Status object (403 Forbidden names the verb and resource).
function statusMessage(body: unknown): string | undefined {
  let o: unknown = body;
  if (typeof body === 'string') {
    try {
      o = JSON.parse(body);
    } catch {
      return body.trim() || undefined;
    }
  }
  const m = (o as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : undefined;
}

function asApiError(err: unknown, what: string, server: string): FleetApiError {
  if (err instanceof FleetApiError) return err;
  const e = err as { code?: unknown; body?: unknown; statusCode?: unknown };
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined) {
    const said = statusMessage(e.body) ?? message(err);
    return new FleetApiError(`${what}: ${server} answered ${status}: ${said}`, status, { cause: err });
  }
  return new FleetApiError(`${what}: ${server} is unreachable: ${message(err)}`, undefined, { cause: err });
}

// A call with a deadline: a server that accepts the connection and never answers fails it.
async function deadline<T>(what: string, server: string, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new FleetApiError(`${what}: ${server} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`, undefined)),
      REQUEST_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([call(), timeout]);
  } catch (err) {
    throw asApiError(err, what, server);
  } finally {
    clearTimeout(timer);
  }
}

export interface ConnectOptions {
  readonly kubeconfig: string;
  readonly node: string;
  /** Else the kubeconfig context's namespace, else `default`. */
  readonly namespace?: string;
}

/** Reads the kubeconfig and makes the device's API; throws an Error that says what is wrong with the file. */
export async function connectFleet(o: ConnectOptions): Promise<FleetApi> {
  // require(), not import(): the CLI runs as one script in which a dynamic import has no loader (Node ≥ 20.19
  // requires an ES module).
  const k8s = createRequire(import.meta.url)('@kubernetes/client-node') as typeof K8s;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`${o.kubeconfig}: no current context with a cluster; set current-context`);
  const context = kc.getContextObject(kc.getCurrentContext());
  const namespace = o.namespace ?? context?.namespace ?? 'default';
  return new Api(k8s, kc, cluster.server, namespace, o.node);
}

class Api implements FleetApi {
  private readonly custom: K8s.CustomObjectsApi;
  private readonly leases: K8s.CoordinationV1Api;
  private readonly core: K8s.CoreV1Api;
  private readonly selector: string;

  constructor(
    private readonly k8s: typeof K8s,
    private readonly kc: K8s.KubeConfig,
    readonly server: string,
    readonly namespace: string,
    private readonly node: string,
  ) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.leases = kc.makeApiClient(k8s.CoordinationV1Api);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.selector = `${NODE_LABEL}=${node}`;
  }

  private scope() {
    return { group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL };
  }

  async list() {
    const what = `listing partitions in namespace ${this.namespace}`;
    const r = (await deadline(what, this.server, () =>
      this.custom.listNamespacedCustomObject({ ...this.scope(), labelSelector: this.selector }),
    )) as { items?: PartitionObject[]; metadata?: { resourceVersion?: string } };
    return { items: r.items ?? [], resourceVersion: r.metadata?.resourceVersion ?? '' };
  }

  async watch(resourceVersion: string, onEvent: (e: WatchEvent) => void): Promise<RunningWatch> {
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(this.namespace)}/${PLURAL}`;
    let settle: (e: FleetApiError | undefined) => void = () => undefined;
    const ended = new Promise<FleetApiError | undefined>((r) => {
      settle = r;
    });
    const what = `watching partitions in namespace ${this.namespace}`;
    const w = new this.k8s.Watch(this.kc);
    const controller = await deadline(what, this.server, () =>
      w.watch(
        path,
        { labelSelector: this.selector, resourceVersion, allowWatchBookmarks: true },
        (type, object) => onEvent({ type: type as WatchEvent['type'], object: object as Record<string, unknown> }),
        (err: unknown) => settle(err ? asApiError(err, what, this.server) : undefined),
      ),
    );
    return { ended, stop: () => controller.abort() };
  }

  async patchStatus(name: string, status: unknown): Promise<PartitionObject> {
    const what = `patching the status of partition ${name}`;
    const options = this.k8s.setHeaderOptions('Content-Type', this.k8s.PatchStrategy.MergePatch);
    return (await deadline(what, this.server, () =>
      this.custom.patchNamespacedCustomObjectStatus({ ...this.scope(), name, body: { status } }, options),
    )) as PartitionObject;
  }

  async heartbeat(leaseSeconds: number): Promise<void> {
    const what = `renewing the lease ${this.namespace}/${this.node}`;
    // A Lease's times are MicroTime, which the API server parses only with six fractional digits.
    const renewTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const spec = { holderIdentity: this.node, leaseDurationSeconds: leaseSeconds, renewTime };
    const options = this.k8s.setHeaderOptions('Content-Type', this.k8s.PatchStrategy.MergePatch);
    const renew = () =>
      this.leases.patchNamespacedLease({ name: this.node, namespace: this.namespace, body: { spec } }, options);
    await deadline(what, this.server, async () => {
      try {
        await renew();
      } catch (err) {
        if ((err as { code?: unknown }).code !== 404) throw err;
        // The first heartbeat of this device: create the Lease, then renew it as every later one does.
        const body = { metadata: { name: this.node, namespace: this.namespace }, spec: { holderIdentity: this.node } };
        await this.leases.createNamespacedLease({ namespace: this.namespace, body });
        await renew();
      }
    });
  }

  async event(p: { name: string; uid: string }, type: 'Normal' | 'Warning', reason: string, text: string) {
    const now = new Date();
    const body = {
      metadata: { generateName: `${p.name}.`, namespace: this.namespace },
      involvedObject: { apiVersion: API_VERSION, kind: KIND, name: p.name, namespace: this.namespace, uid: p.uid },
      type,
      reason,
      message: text,
      source: { component: 'vman-agent', host: this.node },
      reportingComponent: 'vman.dev/agent',
      reportingInstance: this.node,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await deadline(`posting an event about ${p.name}`, this.server, () =>
      this.core.createNamespacedEvent({ namespace: this.namespace, body }),
    );
  }
}
