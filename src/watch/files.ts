// The agent's file I/O: stamping a path, listing partitions.d/, and finding the files the
// manifests name (images, initrds, overlays), which the agent watches too.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isManifestName, loadManifests, PARTITIONS_DIR } from '../manifest/load.js';
import { filesOf } from '../desired/files.js';
import type { Observation } from './core.js';

/** Stats a path: its stamp and the age of its mtime, or null when it is not there (or not a file). */
export async function observe(path: string): Promise<Observation | null> {
  try {
    const st = await fs.stat(path, { bigint: true });
    if (!st.isFile()) return null;
    return {
      stamp: {
        size: Number(st.size),
        mtimeNs: st.mtimeNs.toString(),
        ctimeNs: st.ctimeNs.toString(),
        ino: Number(st.ino),
      },
      ageMs: Date.now() - Number(st.mtimeNs / 1_000_000n),
    };
  } catch {
    // Gone, or unreadable: either way there is nothing to apply from it.
    return null;
  }
}

/** The manifest files in `configDir/partitions.d` (absolute paths), empty when the directory is missing. */
export async function listManifests(configDir: string): Promise<string[]> {
  const dir = join(configDir, PARTITIONS_DIR);
  try {
    return (await fs.readdir(dir))
      .filter(isManifestName)
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** Every file the valid manifests name (absolute paths, each once). */
export async function namedFiles(configDir: string, cwd: string): Promise<string[]> {
  const loaded = await loadManifests(configDir, cwd);
  return [...new Set(loaded.partitions.flatMap((s) => filesOf(s).map((f) => f.path)))].sort();
}
