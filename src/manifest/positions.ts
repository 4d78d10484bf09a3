// Where things are in a parsed YAML file: offsets → 1-based positions, and the node (or key) at a
// YAML path, for diagnostics that point into a manifest.
import { isAlias, isMap, isScalar, isSeq, LineCounter } from 'yaml';
import type { Document, ParsedNode } from 'yaml';
import type { Position } from '../rules/diagnostic.js';

/** A parsed file: its documents (each with a line counter to turn offsets into positions). */
export interface SourceFile {
  readonly file: string;
  readonly text: string;
  readonly lines: LineCounter;
  readonly docs: readonly Document.Parsed[];
}

// Line starts from the text itself: the parser's own line counter misses lines in some broken
// documents (after a stray `...`, say), which would put positions on the wrong line.
export function lineCounter(text: string): LineCounter {
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  return lines;
}

/** Turns a character offset into a 1-based position. */
export function positionAt(
  src: Pick<SourceFile, 'file' | 'lines'>,
  offset: number,
  path?: readonly (string | number)[],
): Position {
  const lc = src.lines.linePos(offset);
  // linePos answers line 0 before the first recorded line start; positions are 1-based.
  const line = Math.max(1, lc.line);
  const column = Math.max(1, lc.line === 0 ? lc.col + 1 : lc.col);
  return path ? { file: src.file, line, column, path } : { file: src.file, line, column };
}

/** Where a document's content starts (after any `---` and comments), for problems about the whole document. */
export function documentStart(doc: Document.Parsed): number {
  const c = doc.contents as ParsedNode | null;
  return c?.range ? c.range[0] : doc.range[0];
}

/** The text of a 1-based line, without its line break; undefined past the end. */
export function lineText(src: SourceFile, line: number): string | undefined {
  const start = src.lines.lineStarts[line - 1];
  if (start === undefined || start > src.text.length) return undefined;
  const end = src.text.indexOf('\n', start);
  return src.text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
}

/** The node at a path inside a document, or undefined. Aliases are followed. */
export function nodeAt(doc: Document.Parsed, path: readonly (string | number)[]): ParsedNode | undefined {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
    } else return undefined;
  }
  return (node ?? undefined) as ParsedNode | undefined;
}

/** The key node of the last path element (for "unknown field" diagnostics that point at the key). */
export function keyAt(doc: Document.Parsed, path: readonly (string | number)[]): ParsedNode | undefined {
  const parent = nodeAt(doc, path.slice(0, -1));
  const last = path[path.length - 1];
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last));
  return (pair?.key ?? undefined) as ParsedNode | undefined;
}

/** The position of the node at `path`, falling back to its closest ancestor that exists. */
export function positionOf(
  src: SourceFile,
  doc: Document.Parsed,
  path: readonly (string | number)[],
  key = false,
): Position {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    const node = key && n === path.length ? keyAt(doc, sub) : nodeAt(doc, sub);
    if (node?.range) return positionAt(src, node.range[0], path);
  }
  return positionAt(src, documentStart(doc), path);
}
