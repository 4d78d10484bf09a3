// Editing partitions.d/, the one source of truth every front end writes through: read a manifest a
// user hands over (one Partition, its relative paths made absolute), find the document that declares
// a partition, add one file, remove one document (and only that one) from a file.
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, isMap, isScalar } from 'yaml';
import type { PartitionSpec } from '../manifest/types.js';
import { VmanError, inputError } from '../errors.js';
import { displayName, isManifestName, PARTITIONS_DIR, readSmallFile } from '../manifest/load.js';
import { decodeManifest, isEmptyDocument, parseYaml } from '../manifest/source.js';
import { toPartitionSpec } from '../manifest/partition.js';
import { getValidator } from '../manifest/validators.js';
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

/** A manifest ready to be added to partitions.d/. */
export interface NewManifest {
  readonly spec: PartitionSpec;
  /** The file it goes to: partitions.d/NAME.yaml. */
  readonly file: string;
  /** Its text, paths absolute, comments kept. */
  readonly text: string;
  /** The declaration it replaces (a redefinition), if any. */
  readonly replaces?: Declaration;
}

/**
 * Reads a manifest file holding one Partition and prepares it for partitions.d/: relative paths
 * become absolute, so it means the same thing from there. Refuses a name already declared or a
 * file already present.
 */
export async function prepareManifest(configDir: string, cwd: string, given: string): Promise<NewManifest> {
  const abs = resolve(cwd, given);
  const display = displayName(abs, cwd);
  const read = await readSmallFile(abs, display);
  if ('problem' in read) throw inputError([read.problem]);
  const decoded = decodeManifest(display, read.bytes);
  if ('problem' in decoded) throw inputError([decoded.problem]);
  return prepareManifestText(configDir, cwd, { display, abs, text: decoded.text });
}

/**
 * Prepares manifest text (one Partition) for partitions.d/. `abs` is where relative paths in it are
 * relative to. With `replace`, a partition already declared is redefined in place (its file, or its
 * document in a file of several); without, that is refused.
 */
export async function prepareManifestText(
  configDir: string,
  cwd: string,
  src: { readonly display: string; readonly abs: string; readonly text: string },
  o: { readonly replace?: boolean } = {},
): Promise<NewManifest> {
  const { display, abs } = src;
  const { source, problems } = parseYaml(display, src.text);
  if (problems.length) throw inputError(problems);
  const docs = source.docs.filter((d) => !isEmptyDocument(d));
  const doc = docs[0];
  if (!doc || docs.length !== 1) {
    const why = `${display} must hold exactly one Partition document (it has ${docs.length})`;
    throw new VmanError('input', why, { file: display, line: 1 });
  }
  const r = toPartitionSpec(source, abs, 0, doc, await getValidator('partition'));
  if (!r.spec) throw inputError(r.problems);
  const spec = r.spec;
  const existing = await findDeclaration(configDir, spec.name);
  if (existing && !o.replace) {
    throw new VmanError(
      'input',
      `partition \`${spec.name}\` is already declared in ${displayName(existing.file, cwd)}; edit that file, ` +
        `or \`vman delete ${spec.name}\` first`,
      { file: display, line: spec.source.position.line },
    );
  }
  const b = spec.boot;
  if (b.kind === 'kernel') {
    doc.setIn(['spec', 'boot', 'kernel'], b.kernel);
    if (b.initrd) doc.setIn(['spec', 'boot', 'initrd'], b.initrd);
  } else doc.setIn(['spec', 'boot', 'image'], b.image);
  if (b.overlays.length) doc.setIn(['spec', 'boot', 'overlays'], doc.createNode([...b.overlays], { flow: true }));
  const text = doc.toString();
  if (existing) return { spec, file: existing.file, text, replaces: existing };
  const file = join(configDir, PARTITIONS_DIR, `${spec.name}.yaml`);
  try {
    await fs.access(file);
  } catch {
    return { spec, file, text };
  }
  throw new VmanError(
    'input',
    `${displayName(file, cwd)} already exists and does not declare \`${spec.name}\`; ` +
      'choose another name, or remove that file first',
    { file: displayName(file, cwd) },
  );
}

/** A function that puts a file back as it was before an edit. */
export type Undo = () => Promise<void>;

// What a file holds now, and how to put it back: rewrite the old text, or remove a file that was not there.
async function undoFor(file: string): Promise<Undo> {
  const before = await fs.readFile(file, 'utf8').catch(() => undefined);
  return before === undefined ? () => fs.rm(file, { force: true }) : () => writeFileAtomic(file, before);
}

/**
 * Writes a prepared manifest into partitions.d/ (atomically): a new file, or in place of the document it
 * redefines. Returns the function that takes the edit back.
 */
export async function addManifest(m: NewManifest): Promise<Undo> {
  await fs.mkdir(join(m.file, '..'), { recursive: true });
  const undo = await undoFor(m.file);
  if (m.replaces && m.replaces.count > 1) await editDocument(m.replaces, () => parseAllDocuments(m.text)[0]);
  else await writeFileAtomic(m.file, m.text);
  return undo;
}

/**
 * Sets `spec.state` in the document that declares a partition; returns the undo (a no-op when unchanged).
 * Only that value changes: the rest of the file stays byte for byte as written, comments included.
 */
export async function setDeclaredState(d: Declaration, state: 'running' | 'stopped'): Promise<Undo> {
  const text = await fs.readFile(d.file, 'utf8');
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  const doc = Array.isArray(docs) ? docs.filter((x) => !isEmptyDocument(x))[d.index] : undefined;
  // `running` is the default: a document without spec.state already says it.
  const now = doc?.getIn(['spec', 'state']) ?? 'running';
  if (now === state) return async () => undefined;
  const undo = await undoFor(d.file);
  const edited = doc ? withState(text, doc, state) : undefined;
  if (edited !== undefined) await writeFileAtomic(d.file, edited);
  else
    await editDocument(d, (x) => {
      x.setIn(['spec', 'state'], state);
      return x;
    });
  return undo;
}

type YamlDocument = ReturnType<typeof parseAllDocuments>[number];

// The file's text with the document's `spec.state` set by editing the text itself: the value replaced
// where it is written, or `state:` added as spec's first key (above that key's comments). The yaml
// library's toString would re-space flow lists (`[virtio0]` → `[ virtio0 ]`) and quotes. Undefined for
// shapes left to the library (a flow `spec: {…}`, an alias).
function withState(text: string, doc: YamlDocument, state: string): string | undefined {
  const spec = doc.get('spec', true);
  if (!isMap(spec) || spec.flow) return undefined;
  const pair = spec.items.find((p) => isScalar(p.key) && p.key.value === 'state');
  if (pair) {
    const v = pair.value;
    if (!isScalar(v) || !v.range) return undefined;
    return `${text.slice(0, v.range[0])}${state}${text.slice(v.range[1])}`;
  }
  const first = spec.items[0]?.key;
  if (!isScalar(first) || !first.range) return undefined;
  const key = first.range[0];
  let at = text.lastIndexOf('\n', key - 1) + 1;
  const indent = text.slice(at, key);
  if (!/^ *$/.test(indent)) return undefined;
  // Above the comment lines that introduce the first key, which stay with it.
  for (;;) {
    const prev = text.lastIndexOf('\n', at - 2) + 1;
    if (at === 0 || !/^[ \t]*(#.*)?$/.test(text.slice(prev, at - 1))) break;
    at = prev;
  }
  return `${text.slice(0, at)}${indent}state: ${state}\n${text.slice(at)}`;
}

// Rewrites one document of a file (comments and the other documents kept), atomically.
async function editDocument(d: Declaration, edit: (doc: YamlDocument) => YamlDocument | undefined): Promise<void> {
  const text = await fs.readFile(d.file, 'utf8');
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  if (!Array.isArray(docs)) throw new VmanError('input', `${d.file} no longer parses; fix it first`, { file: d.file });
  const live = docs.filter((doc) => !isEmptyDocument(doc));
  const next = live.map((doc, i) => (i === d.index ? edit(doc) : doc)).filter((x) => x !== undefined);
  await writeFileAtomic(d.file, next.map((doc) => doc.toString()).join('---\n'));
}
