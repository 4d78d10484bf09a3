// `vman agent --json` as a child process for the fleet tests, and the little they share: Partition
// YAML, reading a Partition's status through kubectl, polling until something holds.
import { join } from 'node:path';
import { ROOT, vmanJson } from '../helpers/cli.js';
import { CliProcess } from '../helpers/cli-process.js';
import type { Fleet } from './env.js';

export type Ev = Record<string, unknown> & { event: string; time: string };

/** The demo's raw arm64 image (scripts/build-demo.mjs): a bare-metal payload the sim loads. */
export const IMAGE = join(ROOT, '.cache', 'demo', 'rtos-arm64.bin');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One running `vman agent --json` for a device of the fleet, its events collected. */
export class AgentProcess extends CliProcess<Ev> {
  constructor(
    readonly fleet: Fleet,
    readonly node: string,
    readonly stateDir: string,
    extra: readonly string[] = [],
    env: Record<string, string> = {},
  ) {
    const args = ['agent', '--json', '--kubeconfig', fleet.kubeconfig(node), '--node', node, '--state-dir', stateDir];
    super(`vman agent --node ${node}`, stateDir, [...args, ...extra], env);
  }
}

export interface PartitionDoc {
  readonly name: string;
  readonly node: string;
  readonly cpus: readonly number[] | number;
  readonly memory?: string;
  readonly extra?: Record<string, unknown>;
  readonly boot?: Record<string, unknown>;
}

/** A Partition resource as JSON (kubectl takes JSON as YAML). */
export function partition(fleet: Fleet, p: PartitionDoc): string {
  return JSON.stringify({
    apiVersion: 'vman.dev/v1alpha1',
    kind: 'Partition',
    metadata: { name: p.name, namespace: fleet.namespace(p.node), labels: { 'vman.dev/node': p.node } },
    spec: {
      nodeName: p.node,
      cpus: p.cpus,
      memory: p.memory ?? '16Mi',
      boot: { image: IMAGE, ...(p.boot ?? {}) },
      ...(p.extra ?? {}),
    },
  });
}

/** kubectl, failing the test with its output when it exits non-zero. */
export async function kubectlOk(fleet: Fleet, args: readonly string[], input?: string): Promise<string> {
  const r = await fleet.kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface PartitionView {
  metadata: { name: string; generation: number };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    state?: string;
    cpus?: number[];
    restarts?: number;
    conditions?: Condition[];
  };
}

/** A Partition as the API server has it. */
export async function getPartition(fleet: Fleet, node: string, name: string): Promise<PartitionView> {
  return JSON.parse(await kubectlOk(fleet, ['-n', fleet.namespace(node), 'get', 'partition', name, '-o', 'json']));
}

export const condition = (p: PartitionView, type: string) => p.status?.conditions?.find((c) => c.type === type);

/** Polls `get` until `ok` holds of its value, up to `ms`; returns that value or throws with the last one. */
export async function until<T>(what: string, ms: number, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await get();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; last: ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

/** The device's live partitions as `vman status` reads them from its state directory: name → [state, cpus]. */
export function liveOn(stateDir: string): Record<string, [string, number[]]> {
  const r = vmanJson<{ partitions: { name: string; state: string; cpus: number[] }[] }>(stateDir, [
    'status',
    '--state-dir',
    stateDir,
  ]);
  return Object.fromEntries(r.json.partitions.map((p) => [p.name, [p.state, p.cpus]]));
}
