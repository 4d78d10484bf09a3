// The live partitions and how each differs from its manifest: what `vman status` shows, and what
// the libvirt endpoint and the fleet agent report. It never fails because the manifests are
// invalid: drift is then unknown (null) and the problems say why.
import type { Change } from '../plan/types.js';
import type { Orphan } from '../backends/types.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import type { PowerState } from '../backends/types.js';
import { VmanError } from '../errors.js';
import { CODES } from '../rules/codes.js';
import { planAgainst } from './planning.js';
import { readLive } from './state.js';
import { readRestartBook } from './restart-book.js';
import type { Workspace } from './workspace.js';

export interface PartitionStatus {
  readonly name: string;
  readonly state: PowerState;
  readonly cpus: readonly number[];
  readonly memory: { readonly base: number; readonly size: number };
  readonly devices: readonly string[];
  /** What differs from the manifest: the action and its reasons first, then each field; null when unknown. */
  readonly drift: readonly string[] | null;
  /** How many times `vman watch` restarted it after its OS ended by itself (spec.restartPolicy). */
  readonly restarts: number;
}

export interface StatusReport {
  readonly partitions: readonly PartitionStatus[];
  readonly orphans: readonly Orphan[];
  /** Declared but not live. */
  readonly pending: readonly string[];
  /** Why drift is unknown (the manifests' problems); empty when it is known. */
  readonly problems: readonly Diagnostic[];
}

function driftOf(c: Change | undefined): string[] {
  if (!c || c.action === 'noop') return [];
  const fields = c.fields.map((f) => `${f.field}: ${f.before ?? '(none)'} -> ${f.after ?? '(none)'}`);
  return [`${c.action}: ${c.reasons.join('; ')}`, ...fields];
}

/** Reads the monitor and compares it with the manifests. Fails only when the monitor cannot be read. */
export async function readStatus(ws: Workspace): Promise<StatusReport> {
  const live = await readLive(ws);
  await live.monitor.close();
  const book = await readRestartBook(ws.stateDir);
  let changes: Map<string, Change> | undefined;
  let pending: string[] = [];
  let problems: readonly Diagnostic[] = [];
  try {
    const { plan } = await planAgainst(ws, live.state);
    changes = new Map(plan.changes.map((c) => [c.partition, c]));
    pending = plan.changes.filter((c) => c.action === 'create').map((c) => c.partition);
  } catch (err) {
    if (!(err instanceof VmanError) || err.kind === 'backend') throw err;
    problems = err.diagnostics.length ? err.diagnostics : [{ code: CODES.unreadable, message: err.message }];
  }
  const partitions = live.state.partitions.map((p) => ({
    name: p.name,
    state: p.state,
    cpus: p.cpus,
    memory: { base: p.memory.base, size: p.memory.size },
    devices: p.devices,
    drift: changes ? driftOf(changes.get(p.name)) : null,
    restarts: book.partitions[p.name]?.restarts ?? 0,
  }));
  return { partitions, orphans: live.state.orphans, pending, problems };
}
