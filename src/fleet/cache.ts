// The fleet agent's copy of the desired state on the device (SPEC "Fleets": it keeps working from its
// last known desired state while the API server is unreachable). STATE/fleet/desired.json is the
// Partitions as last listed or watched; STATE/fleet/partitions.d/ is their manifests, the config
// directory the engine reconciles, so the agent runs the very path `vman watch` runs. Both are
// written atomically, desired.json first: a crash between the two is repaired by the next write.
import { promises as fs } from 'node:fs';
import { join, resolve, isAbsolute } from 'node:path';
import { stringify } from 'yaml';
import { ensurePrivateDir, readJson, writeFileAtomic } from '../state/files.js';
import { PARTITIONS_DIR } from '../manifest/load.js';
import { FLEET_DESIRED_FILE, FLEET_DIR } from '../engine/workspace.js';
import { manifestOf, nodeMismatch, type DesiredPartition } from './resource.js';

export interface DesiredCache {
  readonly version: 1;
  readonly node: string;
  readonly namespace: string;
  readonly server: string;
  /** When the API server last gave the whole list (ISO time). */
  readonly listedAt: string;
  readonly partitions: readonly DesiredPartition[];
}

/** The engine's config directory for the agent in `stateDir`. */
export function fleetConfigDir(stateDir: string): string {
  return join(stateDir, FLEET_DIR);
}

/** The desired state the agent last saw for `node`, or undefined (none yet, or another node's). */
export async function readDesired(stateDir: string, node: string): Promise<DesiredCache | undefined> {
  let c: DesiredCache | undefined;
  try {
    c = await readJson<DesiredCache>(join(fleetConfigDir(stateDir), FLEET_DESIRED_FILE));
  } catch {
    return undefined;
  }
  if (!c || c.version !== 1 || c.node !== node || !Array.isArray(c.partitions)) return undefined;
  return c;
}

/**
 * Saves the desired state and writes the manifests the engine reads: one file per partition that may
 * run here, others removed. Relative file paths in a spec resolve against `pathBase`.
 */
export async function writeDesired(stateDir: string, cache: DesiredCache, pathBase: string): Promise<void> {
  const dir = fleetConfigDir(stateDir);
  const manifests = join(dir, PARTITIONS_DIR);
  await ensurePrivateDir(dir);
  await ensurePrivateDir(manifests);
  await writeFileAtomic(join(dir, FLEET_DESIRED_FILE), `${JSON.stringify(cache, null, 1)}\n`);
  const paths = (v: string) => (isAbsolute(v) ? v : resolve(pathBase, v));
  const keep = new Set<string>();
  for (const p of cache.partitions) {
    if (nodeMismatch(p, cache.node)) continue;
    const file = manifestFile(p.name);
    keep.add(file);
    const from = `${cache.namespace}/${p.name} (uid ${p.uid}, generation ${p.generation}), from ${cache.server}`;
    const text = `# Partition ${from}\n`;
    await writeFileAtomic(join(manifests, file), text + stringify(manifestOf(p, paths)));
  }
  for (const f of await fs.readdir(manifests)) if (!keep.has(f)) await fs.rm(join(manifests, f), { force: true });
}

/** The file in STATE/fleet/partitions.d/ that holds a partition's manifest. */
export function manifestFile(name: string): string {
  return `${name}.yaml`;
}
