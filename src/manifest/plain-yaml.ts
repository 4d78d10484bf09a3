// A quick reader for the plain YAML that manifests are written in: block mappings with simple keys,
// block sequences, one-line flow sequences, plain and quoted scalars without escapes, comments.
// yaml's parser is built from nested generators: on a cold start it takes ~4 ms and allocates
// ~0.5 MiB for the demo's two 500-byte manifests, a tenth of `vman plan`. This reader builds yaml's
// own node classes with the ranges yaml's parser gives them, so positions, checks and toJS() see the
// same document. Anything else (anchors, aliases, tags, block scalars, flow mappings, several
// documents, escapes, numbers other than plain decimals and hexadecimals, null, booleans, tabs,
// anything unusual) makes it answer undefined, and yaml parses the text. It keeps no comments: a
// document that is written back is read by yaml's parser. test/manifest/plain-yaml.test.ts holds it
// to yaml's output.
import { Document, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { DocumentOptions, ParseOptions, SchemaOptions } from 'yaml';

type Node = Scalar | YAMLMap | YAMLSeq;
type Range = [number, number, number];

/** Text with any of these is left to yaml: tabs, carriage returns, control characters, Unicode line breaks, the byte order mark. */
const OUTSIDE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/;
/** A key vman's manifests use: a plain name followed by `:` and a space or the end of the line. */
const KEY = /[A-Za-z_][A-Za-z0-9_-]*:(?=[ \n]|$)/y;
/** Plain scalars the YAML 1.2 core schema reads as something other than a string (null, booleans, numbers). */
const NOT_STRING = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
/** The integers this reader resolves itself, those exact as doubles: plain decimals, and hexadecimals (addresses). */
const DECIMAL = /^(?:0|[1-9][0-9]{0,14})$/;
const HEX = /^0x[0-9a-fA-F]{1,13}$/;
/** A line that opens the document: `---`, then at most a comment. */
const DOC_START = /^---(?: +(?:#.*)?)?$/;
/** Characters a plain scalar may not start with here: YAML's indicators. */
const NOT_FIRST = new Set('-?:,[]{}#&*!|>\'"%@`');

/** A line with content: where it starts, its indentation, where it ends (its `\n`, or the text's end). */
interface Line {
  readonly start: number;
  readonly indent: number;
  readonly end: number;
  /** Whether comment lines come between it and the content line before it. */
  readonly afterComment: boolean;
}

/** The documents of `text` as yaml's parser would compose them, or undefined when the text is outside the subset. */
export function parsePlainYaml(text: string, options: ParseOptions & DocumentOptions & SchemaOptions): Document.Parsed[] | undefined {
  if (OUTSIDE.test(text)) return undefined;
  let lines = contentLines(text);
  const marker = lines?.[0];
  // One `---` may open the document (as in files written for Kubernetes); a second one starts another document.
  const opened = marker !== undefined && DOC_START.test(text.slice(marker.start, marker.end));
  if (opened) lines = lines?.slice(1);
  if (!lines || lines[0]?.indent !== 0) return undefined;
  const doc = new Document(undefined, options);
  if (opened && doc.directives) doc.directives.docStart = true;
  const r = new Reader(text, lines, doc.schema);
  const root = r.block(0, false);
  if (!root || r.i !== lines.length) return undefined;
  doc.contents = root;
  const range = root.range as Range;
  const parsed = doc as unknown as Document.Parsed;
  parsed.range = [opened ? (marker as Line).start : range[0], range[2], text.length];
  return [parsed];
}

// Lines that hold something; blank lines and lines of only a comment are skipped. yaml counts a
// comment line indented past the next line into the node before it (its range ends after the
// comment), so such a text is left to yaml (undefined).
function contentLines(text: string): Line[] | undefined {
  const out: Line[] = [];
  let comment = -1;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let c = start;
    while (c < end && text.charCodeAt(c) === 0x20) c++;
    if (c < end && text[c] === '#') comment = Math.max(comment, c - start);
    else if (c < end) {
      if (comment > c - start) return undefined;
      out.push({ start, indent: c - start, end, afterComment: comment >= 0 });
      comment = -1;
    }
    start = end + 1;
  }
  return comment > 0 ? undefined : out;
}

class Reader {
  /** The next line to read. */
  i = 0;

  constructor(
    private readonly text: string,
    private readonly lines: readonly Line[],
    private readonly schema: Document['schema'],
  ) {}

  /** The mapping or sequence starting at the current line, indented by `indent`. */
  block(indent: number, underKey: boolean): YAMLMap | YAMLSeq | undefined {
    const line = this.lines[this.i];
    if (!line) return undefined;
    return this.isItem(line) ? this.seq(indent, underKey) : this.map(indent);
  }

  private isItem(line: Line): boolean {
    const at = line.start + line.indent;
    return this.text[at] === '-' && (at + 1 === line.end || this.text[at + 1] === ' ');
  }

  private map(indent: number): YAMLMap | undefined {
    const map = new YAMLMap(this.schema);
    for (let line = this.lines[this.i]; line && line.indent === indent && !this.isItem(line); line = this.lines[this.i]) {
      const at = line.start + indent;
      KEY.lastIndex = at;
      const name = KEY.exec(this.text)?.[0].slice(0, -1);
      if (name === undefined || NOT_STRING.test(name)) return undefined;
      const key = scalar(name, name, Scalar.PLAIN, [at, at + name.length, at + name.length]);
      const value = this.value(line, at + name.length + 1, indent, true);
      if (!value) return undefined;
      map.items.push(new Pair(key, value));
    }
    // A line further in than a key, or a list item level with the keys, is not a simple mapping.
    const next = this.lines[this.i];
    if (next && next.indent >= indent) return undefined;
    // It spans from its first key to the end of its last value.
    const first = map.items[0]?.key as Scalar | undefined;
    const last = map.items.at(-1)?.value as Node | undefined;
    if (!first || !last) return undefined;
    const end = (last.range as Range)[2];
    map.range = [(first.range as Range)[0], end, end];
    return map;
  }

  private seq(indent: number, underKey: boolean): YAMLSeq | undefined {
    const seq = new YAMLSeq(this.schema);
    let dash = -1;
    for (let line = this.lines[this.i]; line && line.indent === indent && this.isItem(line); line = this.lines[this.i]) {
      const at = line.start + indent;
      if (dash < 0) dash = at;
      const item = this.value(line, at + 1, indent, false);
      if (!item) return undefined;
      seq.items.push(item);
    }
    // After a list level with its key, the key's mapping goes on; anywhere else the list must end its
    // block. yaml counts comment lines between such an indented list and the next key into the list.
    const next = this.lines[this.i];
    if (next && (next.indent > indent || (next.indent === indent && (!underKey || (indent > 0 && next.afterComment))))) return undefined;
    const last = seq.items.at(-1) as Node | undefined;
    if (!last) return undefined;
    seq.range = [dash, (last.range as Range)[2], (last.range as Range)[2]];
    return seq;
  }

  // What follows a key's `:` or an item's `-` on `line` from `from`: a value on the same line, or a block on the next ones.
  private value(line: Line, from: number, indent: number, afterKey: boolean): Node | undefined {
    const text = this.text;
    let at = from;
    while (at < line.end && text.charCodeAt(at) === 0x20) at++;
    this.i++;
    if (at === line.end || text[at] === '#') {
      const next = this.lines[this.i];
      if (next && next.indent > indent) return this.block(next.indent, false);
      // A list level with its key is the key's value; anything else (an empty value is null) is yaml's.
      if (afterKey && next && next.indent === indent && this.isItem(next)) return this.seq(indent, true);
      return undefined;
    }
    // `- key: value` (a mapping inside a list item) is left to yaml.
    if (!afterKey && /^[^'"[]*?:(?: |$)/.test(text.slice(at, line.end))) return undefined;
    const node = this.inline(at, line.end);
    // A line further in would continue a plain scalar over several lines.
    const next = this.lines[this.i];
    if (!node || (next && next.indent > indent)) return undefined;
    return node;
  }

  // A scalar or a flow sequence filling the rest of a line (a comment may follow).
  private inline(at: number, end: number): Node | undefined {
    const text = this.text;
    const nodeEnd = end === text.length ? end : end + 1;
    let node: Node | undefined;
    let after: number;
    if (text[at] === '[') {
      const flow = this.flow(at, end);
      if (!flow) return undefined;
      [node, after] = flow;
    } else if (text[at] === '"' || text[at] === "'") {
      const close = quoteEnd(text, at, end);
      if (close < 0) return undefined;
      const inner = text.slice(at + 1, close);
      node = scalar(inner, inner, text[at] === '"' ? Scalar.QUOTE_DOUBLE : Scalar.QUOTE_SINGLE, [at, close + 1, nodeEnd]);
      after = close + 1;
    } else {
      // A comment starts at ` #`; searched within the line, so that a long file stays linear.
      let stop = at;
      while (stop < end && !(text[stop] === '#' && text[stop - 1] === ' ')) stop++;
      let valueEnd = stop;
      while (valueEnd > at && text.charCodeAt(valueEnd - 1) === 0x20) valueEnd--;
      const source = text.slice(at, valueEnd);
      if (source.includes(': ') || source.endsWith(':')) return undefined;
      node = plain(source, [at, valueEnd, nodeEnd]);
      after = valueEnd;
    }
    if (!node) return undefined;
    // Only spaces, then the end of the line or a comment (which needs a space before its `#`).
    let c = after;
    while (c < end && text.charCodeAt(c) === 0x20) c++;
    if (c < end && !(text[c] === '#' && c > after)) return undefined;
    if (node instanceof YAMLSeq) node.range = [at, after, nodeEnd];
    return node;
  }

  // `[a, "b", 3]` on one line; returns the sequence and the offset after its `]`.
  private flow(open: number, end: number): [YAMLSeq, number] | undefined {
    const text = this.text;
    const seq = new YAMLSeq(this.schema);
    seq.flow = true;
    let at = open + 1;
    const skip = () => {
      while (at < end && text.charCodeAt(at) === 0x20) at++;
    };
    skip();
    if (text[at] === ']') return [seq, at + 1];
    for (;;) {
      let item: Scalar | undefined;
      if (text[at] === '"' || text[at] === "'") {
        const close = quoteEnd(text, at, end);
        if (close < 0) return undefined;
        const inner = text.slice(at + 1, close);
        const start = at;
        at = close + 1;
        skip();
        item = scalar(inner, inner, text[start] === '"' ? Scalar.QUOTE_DOUBLE : Scalar.QUOTE_SINGLE, [start, close + 1, at]);
      } else {
        const start = at;
        while (at < end && text[at] !== ',' && text[at] !== ']') at++;
        let valueEnd = at;
        while (valueEnd > start && text.charCodeAt(valueEnd - 1) === 0x20) valueEnd--;
        const source = text.slice(start, valueEnd);
        if (/[:#[{}]/.test(source)) return undefined;
        item = plain(source, [start, valueEnd, at]);
      }
      if (!item) return undefined;
      seq.items.push(item);
      if (text[at] === ']') return [seq, at + 1];
      if (text[at] !== ',') return undefined;
      at++;
      skip();
      // A trailing comma, or a sequence going on past the line, is yaml's to read.
      if (at >= end || text[at] === ']' || text[at] === ',') return undefined;
    }
  }
}

// The closing quote of a quoted scalar on this line, or -1: also for escapes (`\` between double
// quotes, `''` between single ones), which yaml reads.
function quoteEnd(text: string, open: number, end: number): number {
  const close = text.indexOf(text[open] as string, open + 1);
  if (close < 0 || close >= end) return -1;
  if (text[open] === '"') return text.slice(open + 1, close).includes('\\') ? -1 : close;
  return text[close + 1] === "'" ? -1 : close;
}

// A plain scalar as the core schema reads it: a plain decimal is a number, null, booleans and other numbers are yaml's.
function plain(source: string, range: Range): Scalar | undefined {
  if (source === '' || NOT_FIRST.has(source[0] as string)) return undefined;
  if (DECIMAL.test(source)) return scalar(Number(source), source, Scalar.PLAIN, range);
  if (HEX.test(source)) {
    // As the core schema's hexadecimal integer: the number, and the format to write it back in.
    const s = scalar(parseInt(source.slice(2), 16), source, Scalar.PLAIN, range);
    s.format = 'HEX';
    return s;
  }
  if (NOT_STRING.test(source)) return undefined;
  return scalar(source, source, Scalar.PLAIN, range);
}

function scalar(value: string | number, source: string, type: Scalar.Type, range: Range): Scalar {
  const s = new Scalar(value);
  s.source = source;
  s.type = type;
  s.range = range;
  return s;
}
