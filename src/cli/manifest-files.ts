// Editing partitions.d/ for `create` and `delete`: find the document that declares a partition,
// add one file, remove one document (and only that one) from a file.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, isMap } from 'yaml';
import { isManifestName, PARTITIONS_DIR } from '../manifest/load.js';
import { isEmptyDocument } from '../manifest/source.js';
import { writeFileAtomic } from '../state/files.js';

export interface Declaration {
  readonly file: string;
  readonly index: number;
  /** How many non-empty documents the file holds. */
  readonly count: number;
}

/** Where `name` is declared in partitions.d/, if anywhere (files that do not parse are skipped). */
export async function findDeclaration(configDir: string, name: string): Promise<Declaration | undefined> {
  const dir = join(configDir, PARTITIONS_DIR);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter(isManifestName).sort();
  } catch {
    return undefined;
  }
  for (const n of names) {
    const file = join(dir, n);
    let text: string;
    try {
      const st = await fs.stat(file);
      if (!st.isFile() || st.size > 1024 * 1024) continue;
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue;
    }
    const docs = parseAllDocuments(text, { uniqueKeys: false });
    if (!Array.isArray(docs)) continue;
    const live = docs.filter((d) => !isEmptyDocument(d));
    const index = live.findIndex((d) => isMap(d.contents) && d.getIn(['metadata', 'name']) === name);
    if (index >= 0) return { file, index, count: live.length };
  }
  return undefined;
}

/** Removes one document from a file (the whole file when it was the only one). */
export async function removeDeclaration(d: Declaration): Promise<void> {
  if (d.count === 1) {
    await fs.rm(d.file);
    return;
  }
  const text = await fs.readFile(d.file, 'utf8');
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  if (!Array.isArray(docs)) return;
  const kept = docs.filter((doc) => !isEmptyDocument(doc)).filter((_, i) => i !== d.index);
  await writeFileAtomic(d.file, kept.map((doc) => doc.toString()).join('---\n'));
}
