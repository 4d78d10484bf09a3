// YAML text → documents whose every node knows its line and column.
// Guards keep hostile input (binary, alias bombs, deep nesting) to one clear diagnostic in bounded time.
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isPair, isAlias } from 'yaml';
import type { Document, Node as YamlNode, ParsedNode, YAMLError } from 'yaml';
import type { Diagnostic, Position } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';

/**
 * Manifests larger than this are refused before parsing. A manifest is about 1 KiB; the YAML parser
 * reads hostile text at a few hundred KiB per second, so this bound keeps any file under a second.
 */
export const MAX_MANIFEST_BYTES = 256 * 1024;
/** Deeper flow nesting than this is refused before parsing (the YAML parser recurses). */
export const MAX_FLOW_DEPTH = 64;
/**
 * Block content starting further right than this column (indentation plus `- `, `? `, `: ` markers)
 * is refused before parsing: each level of block nesting takes at least one column, and the parser
 * recurses once per level.
 */
export const MAX_BLOCK_COLUMN = 256;

// uniqueKeys is checked by walking the nodes (checkNodes): the parser's own check is quadratic.
// logLevel 'error': the parser's warnings would go to the terminal; checkNodes reports what matters.
const YAML_OPTIONS = {
  uniqueKeys: false,
  prettyErrors: false,
  strict: true,
  keepSourceTokens: false,
  logLevel: 'error',
} as const;

/** A parsed file: its documents (each with a line counter to turn offsets into positions). */
export interface SourceFile {
  readonly file: string;
  readonly text: string;
  readonly lines: LineCounter;
  readonly docs: readonly Document.Parsed[];
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

/** Whether a document declares nothing: no content at all, a lone `---`, or only comments. */
export function isEmptyDocument(doc: Document.Parsed): boolean {
  const c = doc.contents;
  if (c === null) return true;
  return isScalar(c) && c.value === null && c.source === '' && !c.tag && !c.anchor;
}

/** Checks raw bytes before they are decoded: size, NUL bytes, UTF-8. Returns the text or a diagnostic. */
export function decodeManifest(file: string, bytes: Uint8Array): { text: string } | { problem: Diagnostic } {
  const at = (line: number, column: number): Position => ({ file, line, column });
  if (bytes.length > MAX_MANIFEST_BYTES) {
    return {
      problem: {
        code: CODES.fileTooLarge,
        message: `file is ${bytes.length} bytes; vman reads YAML files of at most ${MAX_MANIFEST_BYTES / 1024} KiB`,
        position: at(1, 1),
        hint: 'split it into several files, or check that it is the file you meant',
      },
    };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const { line, column } = lineColOfByte(bytes, nul);
    return {
      problem: {
        code: CODES.binaryFile,
        message: 'file contains a NUL byte: it is not a YAML text file',
        position: at(line, column),
        hint: 'partitions.d/ holds YAML manifests only; move binaries elsewhere',
      },
    };
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    return { text };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const { line, column } = lineColOfByte(bytes, bad);
    return {
      problem: {
        code: CODES.notUtf8,
        message: `file is not valid UTF-8 (byte 0x${(bytes[bad] ?? 0).toString(16).padStart(2, '0')} at offset ${bad})`,
        position: at(line, column),
        hint: 'save the file as UTF-8',
      },
    };
  }
}

function lineColOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++)
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
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

// The first line whose content starts past MAX_BLOCK_COLUMN, counting block markers as indentation; linear time.
function deepBlockLine(text: string): { offset: number; column: number } | undefined {
  let start = 0;
  while (start <= text.length) {
    let i = start;
    for (;;) {
      const c = text[i];
      if (c === ' ') i++;
      else if ((c === '-' || c === '?' || c === ':') && (text[i + 1] === ' ' || text[i + 1] === '\t')) i += 2;
      else break;
      if (i - start > MAX_BLOCK_COLUMN) {
        let first = start;
        while (text[first] === ' ') first++;
        return { offset: first, column: i - start };
      }
    }
    const nl = text.indexOf('\n', i);
    if (nl < 0) break;
    start = nl + 1;
  }
  return undefined;
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
    else if (c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === '[' || c === '{') {
      depth++;
      if (depth > max) {
        max = depth;
        at = i;
      }
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
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
  RESOURCE_EXHAUSTION: [
    'the document is nested too deeply to read',
    'a manifest needs only a few levels of nesting; check the indentation and brackets',
  ],
  BAD_INDENT: ['indentation does not line up with the lines above', 'align this line with its siblings'],
  MISSING_CHAR: ['a closing bracket or quote is missing'],
  MULTILINE_IMPLICIT_KEY: ['a key must fit on one line; is a `:` or a quote missing?'],
  BLOCK_AS_IMPLICIT_KEY: ['a nested block cannot be a key; is a `:` missing on the line above?'],
  UNEXPECTED_TOKEN: ['unexpected text here'],
  BAD_ALIAS: ['this alias refers to an anchor that is not defined above it'],
};

/** YAML tags that stand for plain JSON values; any other tag (`!!binary`, `!!set`, `!foo`) is refused. */
const PLAIN_TAGS: ReadonlySet<string> = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

/** Parses YAML text into documents, turning every YAML error into a diagnostic at its position. */
export function parseYaml(file: string, text: string): { source: SourceFile; problems: Diagnostic[] } {
  // Line starts from the text itself: the parser's own line counter misses lines in some broken
  // documents (after a stray `...`, say), which would put positions on the wrong line.
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  const problems: Diagnostic[] = [];
  const deep = flowDepth(text);
  const block = deep.depth > MAX_FLOW_DEPTH ? undefined : deepBlockLine(text);
  if (deep.depth > MAX_FLOW_DEPTH || block) {
    const source: SourceFile = { file, text, lines, docs: [] };
    problems.push(
      block
        ? {
            code: CODES.yamlTooDeep,
            message: `this line is nested too deeply: its content starts past column ${MAX_BLOCK_COLUMN} (indentation and list markers)`,
            position: positionAt(source, block.offset),
            hint: 'a manifest needs only a few levels of nesting; check the indentation',
          }
        : {
            code: CODES.yamlTooDeep,
            message: `brackets are nested ${deep.depth} deep; at most ${MAX_FLOW_DEPTH} are allowed`,
            position: positionAt(source, deep.offset),
            hint: 'write the value in block style, one level per line',
          },
    );
    return { source, problems };
  }
  // Hostile input can make the parser raise one error per token; without stack traces each costs little.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let docs: Document.Parsed[] | ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, YAML_OPTIONS);
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  const list = (Array.isArray(docs) ? docs : []) as Document.Parsed[];
  const source: SourceFile = { file, text, lines, docs: list };
  if (!Array.isArray(docs)) {
    problems.push({ code: CODES.yamlSyntax, message: 'the file is not valid YAML', position: positionAt(source, 0) });
    return { source, problems };
  }
  for (const doc of list) {
    // The parser's later errors in a document mostly follow from its first: report that one, explained.
    const first = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
    if (first) problems.push(explainYamlError(source, doc, first));
    else problems.push(...checkNodes(source, doc.contents));
  }
  return { source, problems };
}

function diag(code: string, message: string, position: Position, hint?: string): Diagnostic {
  return hint ? { code, message, position, hint } : { code, message, position };
}

// Every node of a document (keys included), for the checks that need to look at all of them.
function allNodes(root: YamlNode | null): YamlNode[] {
  const out: YamlNode[] = [];
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (isPair(node)) {
      stack.push(node.value, node.key);
      continue;
    }
    if (!node || typeof node !== 'object') continue;
    out.push(node as YamlNode);
    if (isMap(node)) for (const pair of node.items) stack.push(pair.value, pair.key);
    else if (isSeq(node)) for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]);
  }
  return out;
}

// The innermost node matching `pred` that starts before `offset` and reaches it: the unclosed quote or bracket.
function openerBefore(doc: Document.Parsed, offset: number, pred: (n: YamlNode) => boolean): ParsedNode | undefined {
  let best: ParsedNode | undefined;
  for (const n of allNodes(doc.contents)) {
    const r = (n as ParsedNode).range;
    if (!r || !pred(n) || r[0] >= offset) continue;
    const reaches = r[1] >= offset;
    const bestReaches = best ? best.range[1] >= offset : false;
    if (!best || (reaches && !bestReaches) || (reaches === bestReaches && r[0] > best.range[0])) best = n as ParsedNode;
  }
  return best;
}

/** The text of a 1-based line, without its line break; undefined past the end. */
function lineText(src: SourceFile, line: number): string | undefined {
  const start = src.lines.lineStarts[line - 1];
  if (start === undefined || start > src.text.length) return undefined;
  const end = src.text.indexOf('\n', start);
  return src.text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
}

const indentOf = (s: string): number => /^ */.exec(s)?.[0].length ?? 0;

/** One YAML parser error, explained for the mistakes people make by hand: unclosed quotes and brackets, stray indentation, a missing `:` or space. */
function explainYamlError(src: SourceFile, doc: Document.Parsed, err: YAMLError): Diagnostic {
  const at = err.pos[0];
  const code = YAML_CODE[err.code] ?? CODES.yamlSyntax;
  if (err.code === 'MISSING_CHAR' && /quote/.test(err.message)) {
    const q = openerBefore(doc, at, (n) => isScalar(n) && (n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE'));
    if (q) {
      const ch = src.text[q.range[0]] === "'" ? "'" : '"';
      return diag(
        code,
        `this quoted value is never closed: the closing ${ch} is missing`,
        positionAt(src, q.range[0]),
        `add ${ch} at the end of the value, on the same line`,
      );
    }
  }
  if (err.code === 'BAD_INDENT' && /^Flow (sequence|map)/.test(err.message)) {
    const seq = err.message.startsWith('Flow sequence');
    const [open, close] = seq ? ['[', ']'] : ['{', '}'];
    const n = openerBefore(doc, at, (x) => (seq ? isSeq(x) : isMap(x)) && (x as { flow?: boolean }).flow === true);
    if (n)
      return diag(
        code,
        `this \`${open}\` is never closed: a \`${close}\` is missing`,
        positionAt(src, n.range[0]),
        `add \`${close}\` after the last ${seq ? 'item' : 'entry'}`,
      );
  }
  if (err.code === 'MULTILINE_IMPLICIT_KEY' || err.code === 'BLOCK_AS_IMPLICIT_KEY') {
    const e = explainKeyError(src, at);
    if (e) return e;
  }
  const [message, hint] = YAML_MESSAGE[err.code] ?? [err.message.split(' at line ')[0] ?? err.message];
  // An indentation error points at the line's first character, not at its leading spaces.
  let offset = at;
  if (err.code === 'BAD_INDENT') while (src.text[offset] === ' ') offset++;
  return diag(code, message, positionAt(src, offset), hint);
}

// A key the parser could not read: `key:value` (no space), `key` (no colon), a list item among keys,
// a value continued by a more indented line, or a value with an unquoted `: ` in it.
function explainKeyError(src: SourceFile, at: number): Diagnostic | undefined {
  const pos = positionAt(src, at);
  const cur = lineText(src, pos.line) ?? '';
  const before = cur.slice(0, pos.column - 1);
  const rest = cur.slice(pos.column - 1);
  const here = (column: number): Position => ({ file: src.file, line: pos.line, column });
  if (before.trim() === '') {
    if (rest === '-' || rest.startsWith('- ')) {
      return diag(
        CODES.yamlSyntax,
        'a list item (`-`) where a key was expected: a mapping and a list cannot share one level',
        pos,
        'indent the list under its key, e.g. `devices:` followed by `  - virtio0`',
      );
    }
    const glued = /^([^\s:#]+):(\S.*)$/.exec(rest);
    if (glued)
      return diag(
        CODES.yamlSyntax,
        `\`${glued[1]}:${glued[2]}\` needs a space after the \`:\``,
        here(pos.column + (glued[1]?.length ?? 0)),
        `write \`${glued[1]}: ${glued[2]}\``,
      );
    const word = /^[^\s:#]+/.exec(rest)?.[0];
    if (word && !rest.includes(':'))
      return diag(CODES.yamlSyntax, `\`${word}\` needs a \`:\` after it to be a key`, pos, `write \`${word}:\``);
    return undefined;
  }
  const key = /^\s*(?:-\s+)?([^\s:#][^:#]*?)\s*:(?:\s|$)/.exec(cur)?.[1];
  if (!key) return undefined;
  for (let n = pos.line + 1; ; n++) {
    const t = lineText(src, n);
    if (t === undefined) break;
    if (t.trim() === '' || t.trim().startsWith('#')) continue;
    if (indentOf(t) > indentOf(cur)) {
      const next = /^[^\s:#]+/.exec(t.trimStart())?.[0];
      return diag(
        CODES.yamlSyntax,
        `this line is indented more than \`${key}\` above it, so YAML reads it as part of the value of \`${key}\``,
        { file: src.file, line: n, column: indentOf(t) + 1 },
        `indent ${next ? `\`${next}\`` : 'it'} by ${indentOf(cur)} spaces, like \`${key}\``,
      );
    }
    break;
  }
  if (/:(\s|$)/.test(rest)) {
    const quoted = rest.length <= 60 ? `: \`${key}: "${rest.trim().replace(/"/g, '\\"')}"\`` : '';
    return diag(CODES.yamlSyntax, 'a plain value cannot contain `: `', pos, `put the value in quotes${quoted}`);
  }
  return undefined;
}

const shortTag = (tag: string): string => tag.replace(/^tag:yaml\.org,2002:/, '!!');

// The offset of the `!tag` written just before a node's value, else the value's own offset.
function tagOffset(text: string, valueAt: number): number {
  let i = valueAt - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i--;
  let start = i;
  while (start > 0 && !/\s/.test(text[start - 1] ?? ' ')) start--;
  return text[start] === '!' ? start : valueAt;
}

// One linear pass over a parsed document: keys repeated in a mapping (once per key, with a count),
// keys that are not scalars, tags that are not plain JSON types, and aliases with no anchor before them.
function checkNodes(src: SourceFile, root: YamlNode | null): Diagnostic[] {
  const out: { offset: number; d: Diagnostic }[] = [];
  const add = (offset: number, d: Diagnostic) => out.push({ offset, d });
  const anchors: { name: string; range: readonly number[] }[] = [];
  const aliases: { name: string; offset: number }[] = [];
  for (const node of allNodes(root)) {
    const range = (node as ParsedNode).range;
    if (!range) continue;
    if (isAlias(node)) {
      aliases.push({ name: node.source, offset: range[0] });
      continue;
    }
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) anchors.push({ name: anchor, range });
    const tag = (node as { tag?: string }).tag;
    if (tag && !PLAIN_TAGS.has(tag)) {
      const at = tagOffset(src.text, range[0]);
      add(
        at,
        diag(
          CODES.yamlSyntax,
          `the YAML tag \`${shortTag(tag)}\` is not supported in vman files`,
          positionAt(src, at),
          'remove the tag and write a plain value',
        ),
      );
    }
    if (!isMap(node)) continue;
    const seen = new Map<string, { first: number; second: number; count: number }>();
    for (const pair of node.items) {
      const keyNode = pair.key as ParsedNode | null;
      if (!keyNode?.range) continue;
      if (!isScalar(keyNode)) {
        add(
          keyNode.range[0],
          diag(
            CODES.yamlSyntax,
            'a key must be a plain name, not a list, a mapping or an alias',
            positionAt(src, keyNode.range[0]),
          ),
        );
        continue;
      }
      const key = String(keyNode.value);
      const hit = seen.get(key);
      if (!hit) seen.set(key, { first: keyNode.range[0], second: -1, count: 1 });
      else {
        hit.count++;
        if (hit.second < 0) hit.second = keyNode.range[0];
      }
    }
    for (const [key, hit] of seen) {
      if (hit.count < 2) continue;
      const times = hit.count === 2 ? 'twice' : `${hit.count} times`;
      out.push({
        offset: hit.second,
        d: {
          code: CODES.duplicateKey,
          message: `\`${key}\` appears ${times} in the same mapping`,
          position: positionAt(src, hit.second),
          related: positionAt(src, hit.first),
          hint: 'remove or rename one of them',
        },
      });
    }
  }
  // An alias needs an anchor of that name earlier in the document, and must not sit inside the node it names.
  anchors.sort((a, b) => (a.range[0] ?? 0) - (b.range[0] ?? 0));
  aliases.sort((a, b) => a.offset - b.offset);
  const defined = new Map<string, readonly number[]>();
  let k = 0;
  for (const alias of aliases) {
    while (k < anchors.length && (anchors[k]?.range[0] ?? Infinity) < alias.offset) {
      const a = anchors[k++];
      if (a) defined.set(a.name, a.range);
    }
    const target = defined.get(alias.name);
    if (!target)
      add(
        alias.offset,
        diag(
          CODES.yamlSyntax,
          `alias \`*${alias.name}\` refers to no anchor \`&${alias.name}\` defined before it`,
          positionAt(src, alias.offset),
          `define \`&${alias.name}\` above, or write the value out`,
        ),
      );
    else if (alias.offset < (target[1] ?? 0))
      add(
        alias.offset,
        diag(
          CODES.yamlSyntax,
          `alias \`*${alias.name}\` is inside the value it refers to, which would make it infinite`,
          positionAt(src, alias.offset),
          'write the value out',
        ),
      );
  }
  return out.sort((a, b) => a.offset - b.offset).map((x) => x.d);
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
