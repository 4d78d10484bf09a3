// The two sides of every plan: desired state (manifests and the files they name, resolved against
// what is live) and live state (what the monitor holds, with vman's records attached).
import type { Diagnostic } from '../rules/diagnostic.js';
import type { Allocation } from '../alloc/types.js';
import type { LivePartition, LiveState, Monitor } from '../backends/types.js';
import { CODES } from '../rules/codes.js';
import { loadDesired, type DesiredInputs } from '../desired/load.js';
import { resolveDesired, type ResolveOptions, type ResolvedSet } from '../desired/resolve.js';
import { sha256Hex } from '../images/digest.js';
import { PARTITIONS_DIR, type ExtraManifest } from '../manifest/load.js';
import { openMonitor } from '../backends/index.js';
import { readRecords } from '../apply/records.js';
import type { Workspace } from './workspace.js';

export interface DesiredState {
  readonly inputs: DesiredInputs;
  readonly set: ResolvedSet;
}

/** The monitor, opened, and what it held when read. */
export interface Live {
  readonly monitor: Monitor;
  readonly state: LiveState;
}

/**
 * Loads manifests and the files they name. `cache: false` leaves the digest cache alone (validate);
 * otherwise the cache in the state directory is kept warm, as git keeps its index, without the lock.
 * `extra` is a manifest loaded as if it were in partitions.d/ (create plans it before writing it).
 */
export async function loadInputs(
  ws: Workspace,
  o: { boardProblems?: readonly Diagnostic[]; cache?: boolean; extra?: ExtraManifest } = {},
): Promise<DesiredInputs> {
  const inputs = await loadDesired({
    configDir: ws.configDir,
    cwd: ws.cwd,
    board: ws.board,
    ...(o.extra ? { extra: o.extra } : {}),
    ...(o.cache === false ? {} : { stateDir: ws.stateDir }),
    ...(ws.imageRoot ? { imageRoot: ws.imageRoot } : {}),
    problems: o.boardProblems ?? [],
  });
  if (inputs.present) return inputs;
  const missing: Diagnostic = {
    code: CODES.noConfig,
    message: `${ws.configDir} has no ${PARTITIONS_DIR}/ directory`,
    hint: `create ${PARTITIONS_DIR}/ with partition manifests, or point -C at the config directory`,
  };
  return { ...inputs, problems: [missing, ...inputs.problems] };
}

/** Resolves loaded inputs (allocation, layout, trees). */
export function resolveInputs(inputs: DesiredInputs, o: Omit<ResolveOptions, 'digest'> = {}): ResolvedSet {
  return resolveDesired(inputs, { ...o, digest: sha256Hex });
}

/** Opens the workspace's backend and reads it, attaching vman's current records to each partition. */
export async function readLive(ws: Workspace): Promise<Live> {
  const records = await readRecords(ws.stateDir);
  const monitor = await openMonitor(ws.backend, { board: ws.board, stateDir: ws.stateDir, cwd: ws.cwd });
  try {
    const raw = await monitor.read();
    const partitions: LivePartition[] = raw.partitions.map((p) => {
      const record = records.partitions[p.name];
      return record ? { ...p, record } : p;
    });
    return { monitor, state: { partitions, orphans: raw.orphans } };
  } catch (err) {
    await monitor.close();
    throw err;
  }
}

/** What live partitions hold, as the allocator sees it. */
export function allocationsOf(state: LiveState): Allocation[] {
  return state.partitions.map((p) => ({ name: p.name, cpus: p.cpus, memory: p.memory, devices: p.devices }));
}
