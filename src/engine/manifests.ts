// Editing partitions.d/, the one source of truth every front end writes through: read a manifest a
// user hands over (one Partition, its relative paths made absolute), find the document that declares
// a partition, add one file, remove one document (and only that one) from a file.
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isScalar, isSeq } from 'yaml';
import type { PartitionSpec } from '../manifest/types.js';
import { VmanError, inputError } from '../errors.js';
import { displayName, isManifestName, PARTITIONS_DIR, readSmallFile } from '../manifest/load.js';
import { decodeManifest, isEmptyDocument, parseYaml } from '../manifest/source.js';
import { toPartitionSpec } from '../manifest/partition.js';
import { getValidator } from '../manifest/validators.js';
import { writeFileAtomic } from '../state/files.js';
import type { DependsOnEdge } from './dependants.js';

export interface Declaration {
  readonly file: string;
  readonly index: number;
  /** How many non-empty documents the file holds. */
  readonly count: number;
}

type YamlDocument = ReturnType<typeof parseAllDocuments>[number];

/** A manifest file of partitions.d/ as its YAML documents (the non-empty ones), with line positions. */
interface ManifestDocuments {
  readonly file: string;
  readonly docs: readonly YamlDocument[];
  readonly lines: LineCounter;
}

// Every manifest file of partitions.d/, in name order, as YAML documents; files that cannot be read or do
// not parse are skipped (their problems are the loader's to report).
async function readDocuments(configDir: string): Promise<ManifestDocuments[]> {
  const dir = join(configDir, PARTITIONS_DIR);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter(isManifestName).sort();
  } catch {
    return [];
  }
  const out: ManifestDocuments[] = [];
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
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { uniqueKeys: false, lineCounter: lines });
    if (!Array.isArray(docs)) continue;
    out.push({ file, docs: docs.filter((d) => !isEmptyDocument(d)), lines });
  }
  return out;
}

/** Where `name` is declared in partitions.d/, if anywhere (files that do not parse are skipped). */
export async function findDeclaration(configDir: string, name: string): Promise<Declaration | undefined> {
  for (const { file, docs } of await readDocuments(configDir)) {
    const index = docs.findIndex((d) => isMap(d.contents) && d.getIn(['metadata', 'name']) === name);
    if (index >= 0) return { file, index, count: docs.length };
  }
  return undefined;
}

/** The file that declares each partition named in partitions.d/ (the first, if several do). */
export async function declaredIn(configDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { file, docs } of await readDocuments(configDir)) {
    for (const d of docs) {
      const name: unknown = isMap(d.contents) ? d.getIn(['metadata', 'name']) : undefined;
      if (typeof name === 'string' && !out.has(name)) out.set(name, file);
    }
  }
  return out;
}

/**
 * Every `spec.dependsOn` entry in partitions.d/, with where it is written. Read from the YAML itself, so a
 * document that has other problems still counts.
 */
export async function dependsOnEdges(configDir: string): Promise<DependsOnEdge[]> {
  const out: DependsOnEdge[] = [];
  for (const { file, docs, lines } of await readDocuments(configDir)) {
    for (const d of docs) {
      const from: unknown = isMap(d.contents) ? d.getIn(['metadata', 'name']) : undefined;
      const list: unknown = isMap(d.contents) ? d.getIn(['spec', 'dependsOn'], true) : undefined;
      if (typeof from !== 'string' || !isSeq(list)) continue;
      for (const item of list.items) {
        if (!isScalar(item) || typeof item.value !== 'string') continue;
        const at = lines.linePos(item.range?.[0] ?? 0);
        out.push({ from, on: item.value, file, line: at.line, column: at.col });
      }
    }
  }
  return out;
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
  /** The manifest as given: where it is (its relative paths are relative to it) and its text. */
  readonly given: { readonly display: string; readonly abs: string; readonly text: string };
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
  const given = { display, abs, text: src.text };
  if (existing) return { spec, file: existing.file, text, replaces: existing, given };
  const file = join(configDir, PARTITIONS_DIR, `${spec.name}.yaml`);
  try {
    await fs.access(file);
  } catch {
    return { spec, file, text, given };
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
