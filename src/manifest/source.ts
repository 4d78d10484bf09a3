// YAML text → documents whose every node knows its line and column.
// Guards keep hostile input (binary, alias bombs, deep nesting) to one clear diagnostic in bounded time.
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isPair, isAlias } from 'yaml';
import type { Document, Node as YamlNode, ParsedNode } from 'yaml';
import type { Diagnostic, Position } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';

/** Manifests larger than this are refused before parsing. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Deeper flow nesting than this is refused before parsing (the YAML parser recurses). */
export const MAX_FLOW_DEPTH = 64;

/** A parsed file: its documents (each with a line counter to turn offsets into positions). */
export interface SourceFile {
  readonly file: string;
  readonly text: string;
  readonly lines: LineCounter;
  readonly docs: readonly Document.Parsed[];
}

/** Turns a character offset into a 1-based position. */
export function positionAt(src: Pick<SourceFile, 'file' | 'lines'>, offset: number, path?: readonly (string | number)[]): Position {
  const { line, col } = src.lines.linePos(offset);
  return path ? { file: src.file, line, column: col, path } : { file: src.file, line, column: col };
}

/** Checks raw bytes before they are decoded: size, NUL bytes, UTF-8. Returns the text or a diagnostic. */
export function decodeManifest(file: string, bytes: Uint8Array): { text: string } | { problem: Diagnostic } {
  const at = (line: number, column: number): Position => ({ file, line, column });
  if (bytes.length > MAX_MANIFEST_BYTES) {
    return { problem: { code: CODES.fileTooLarge, message: `file is ${bytes.length} bytes; a manifest may be at most ${MAX_MANIFEST_BYTES} bytes`, position: at(1, 1), hint: 'split it into several files, or check that it is the file you meant' } };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const { line, column } = lineColOfByte(bytes, nul);
    return { problem: { code: CODES.binaryFile, message: 'file contains a NUL byte: it is not a YAML text file', position: at(line, column), hint: 'partitions.d/ holds YAML manifests only; move binaries elsewhere' } };
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    return { text };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const { line, column } = lineColOfByte(bytes, bad);
    return { problem: { code: CODES.notUtf8, message: `file is not valid UTF-8 (byte 0x${(bytes[bad] ?? 0).toString(16).padStart(2, '0')} at offset ${bad})`, position: at(line, column), hint: 'save the file as UTF-8' } };
  }
}

function lineColOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) { line++; start = i + 1; }
  return { line, column: offset - start + 1 };
}

// The offset of the first byte that breaks UTF-8 (RFC 3629 §4), for the message.
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}

// Deepest nesting of flow collections, ignoring quoted scalars and comments; linear time.
function flowDepth(text: string): { depth: number; offset: number } {
  let depth = 0;
  let max = 0;
  let at = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"') i++;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#') { const nl = text.indexOf('\n', i); i = nl < 0 ? text.length : nl; }
    else if (c === '[' || c === '{') { depth++; if (depth > max) { max = depth; at = i; } }
    else if ((c === ']' || c === '}') && depth > 0) depth--;
    else if (c === '\n') quote = '';
  }
  return { depth: max, offset: at };
}

const YAML_CODE: Readonly<Record<string, string>> = {
  TAB_AS_INDENT: CODES.yamlTabs,
  DUPLICATE_KEY: CODES.duplicateKey,
  RESOURCE_EXHAUSTION: CODES.yamlTooDeep,
};

// Messages for the YAML parser's error codes, without its own caret excerpt (vman prints one).
const YAML_MESSAGE: Readonly<Record<string, [string, string?]>> = {
  TAB_AS_INDENT: ['tabs are not allowed for indentation in YAML', 'indent with spaces'],
  DUPLICATE_KEY: ['this key appears twice in the same mapping', 'remove or rename one of them'],
  RESOURCE_EXHAUSTION: ['the document is nested too deeply or expands too many aliases', 'simplify the document'],
  BAD_INDENT: ['indentation does not line up with the lines above', 'align this line with its siblings'],
  MISSING_CHAR: ['a closing bracket or quote is missing'],
  MULTILINE_IMPLICIT_KEY: ['a key must fit on one line; is a `:` or a quote missing?'],
  BLOCK_AS_IMPLICIT_KEY: ['a nested block cannot be a key; is a `:` missing on the line above?'],
  UNEXPECTED_TOKEN: ['unexpected text here'],
  BAD_ALIAS: ['this alias refers to an anchor that is not defined above it'],
};

/** Parses YAML text into documents, turning every YAML error into a diagnostic at its position. */
export function parseYaml(file: string, text: string): { source: SourceFile; problems: Diagnostic[] } {
  const lines = new LineCounter();
  const problems: Diagnostic[] = [];
  const deep = flowDepth(text);
  if (deep.depth > MAX_FLOW_DEPTH) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines.addNewLine(i + 1);
    const source: SourceFile = { file, text, lines, docs: [] };
    problems.push({ code: CODES.yamlTooDeep, message: `brackets are nested ${deep.depth} deep; at most ${MAX_FLOW_DEPTH} are allowed`, position: positionAt(source, deep.offset) });
    return { source, problems };
  }
  // uniqueKeys is checked by walking the nodes below: the parser's own check is quadratic.
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, strict: true, keepSourceTokens: false });
  const list = (Array.isArray(docs) ? docs : []) as Document.Parsed[];
  const source: SourceFile = { file, text, lines, docs: list };
  if (!Array.isArray(docs)) {
    problems.push({ code: CODES.yamlSyntax, message: 'the file is not valid YAML', position: positionAt(source, 0) });
    return { source, problems };
  }
  for (const doc of list) {
    for (const err of doc.errors) {
      const [message, hint] = YAML_MESSAGE[err.code] ?? [err.message.split(' at line ')[0] ?? err.message];
      const d: Diagnostic = { code: YAML_CODE[err.code] ?? CODES.yamlSyntax, message, position: positionAt(source, err.pos[0]) };
      problems.push(hint ? { ...d, hint } : d);
    }
    if (doc.errors.length === 0) problems.push(...duplicateKeys(source, doc.contents));
  }
  return { source, problems };
}

// Linear duplicate-key check over every mapping in a document.
function duplicateKeys(src: SourceFile, root: YamlNode | null): Diagnostic[] {
  const out: Diagnostic[] = [];
  const stack: (YamlNode | null)[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : null;
        const keyNode = pair.key as ParsedNode | null;
        if (key !== null && keyNode?.range) {
          const first = seen.get(key);
          if (first !== undefined) {
            out.push({ code: CODES.duplicateKey, message: `\`${key}\` appears twice in the same mapping`, position: positionAt(src, keyNode.range[0]), related: positionAt(src, first), hint: 'remove or rename one of them' });
          } else seen.set(key, keyNode.range[0]);
        }
        stack.push(pair.value as YamlNode | null);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item as YamlNode | null);
    } else if (isPair(node)) {
      stack.push(node.value as YamlNode | null);
    }
  }
  return out;
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
export function positionOf(src: SourceFile, doc: Document.Parsed, path: readonly (string | number)[], key = false): Position {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    const node = key && n === path.length ? keyAt(doc, sub) : nodeAt(doc, sub);
    if (node?.range) return positionAt(src, node.range[0], path);
  }
  return positionAt(src, doc.range[0], path);
}
