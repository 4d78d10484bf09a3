// XML text → a small element tree with namespaces resolved, or the one reason it is not well-formed.
// fast-xml-parser gives the structure; what it lets through (undefined entities, a DOCTYPE and its
// entity expansion, characters XML 1.0 forbids, `<` in an attribute value, `]]>` in text, several
// roots, unbound prefixes) is checked here, and references are decoded here, so that every
// document that passes is one libxml2 (libvirt's parser) would read the same way.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** An element, its name resolved against the namespaces in scope. */
export interface XmlElement {
  /** The name as written, e.g. `vman:device`. */
  readonly qname: string;
  /** The namespace URI ('' for none). */
  readonly ns: string;
  readonly local: string;
  /** Attributes other than namespace declarations, by name as written, values decoded. */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Character data directly inside (text and CDATA, decoded, in order), without the children's. */
  readonly text: string;
  /** 1-based line of the start tag. */
  readonly line: number;
}

/** Why a text is not a document vman reads, with the line (and column) where that shows. */
export interface XmlSyntaxError {
  readonly message: string;
  readonly line: number;
  readonly column?: number;
}

/** The most characters a domain XML document may have (a vman domain is a few KiB). */
export const MAX_DOMAIN_XML_CHARS = 256 * 1024;
/** How deep elements may nest (vman reads four levels; libvirt's deepest are about ten). */
const MAX_DEPTH = 32;

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

const PARSER = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  // References are checked and decoded by scan() and decode(): the parser's own handling is laxer.
  processEntities: false,
  htmlEntities: false,
});

/** Parses a document, returning its root element or why it is not well-formed. */
export function parseXml(text: string): { root: XmlElement } | { error: XmlSyntaxError } {
  if (text.length > MAX_DOMAIN_XML_CHARS)
    return { error: { message: `the document has more than ${MAX_DOMAIN_XML_CHARS} characters`, line: 1 } };
  const scanned = scan(text);
  if (scanned) return { error: scanned };
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    return { error: { message: cut(lowerFirst(valid.err.msg)), line: valid.err.line, column: valid.err.col } };
  let nodes: unknown;
  try {
    nodes = PARSER.parse(text);
  } catch (err) {
    return { error: { message: cut(lowerFirst((err as Error).message.replace(/^\[SECURITY\] /, ''))), line: 1 } };
  }
  const lines = lineStarts(text);
  const tops = (Array.isArray(nodes) ? (nodes as unknown[]) : []).filter((n) => elementName(n) !== undefined);
  if (tops.length !== 1)
    return {
      error: { message: `a document has exactly one root element, not ${tops.length}`, line: 1 },
    };
  const tagLines = startTagLines(text, lines);
  const built = build(
    tops[0],
    new Map([
      ['', ''],
      ['xml', XML_NS],
    ]),
    { lines: tagLines, next: 0 },
    1,
  );
  return 'error' in built ? built : { root: built.element };
}

// One pass over the raw text for what the parser accepts but XML 1.0 does not (§2.2 Char, §2.4 `]]>`,
// §3.1 no `<` in attribute values, §4.1 references must name a predefined entity or a Char). A DOCTYPE
// is refused outright: libvirt's documents have none, and its internal subset is where entity bombs live.
function scan(text: string): XmlSyntaxError | undefined {
  let line = 1;
  let lineStart = 0;
  const at = (i: number, message: string): XmlSyntaxError => ({ message, line, column: i - lineStart + 1 });
  let state: 'text' | 'tag' = 'text';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    }
    const bad = badChar(text, i);
    if (bad) return at(i, bad);
    if (c >= 0xd800 && c <= 0xdbff) i++; // the low half of a valid pair
    const ch = text[i];
    if (state === 'text') {
      if (ch === '<') {
        const skip = skipMarkup(text, i);
        if (skip === 'doctype') return at(i, 'a DOCTYPE is not accepted (libvirt domain XML has none)');
        if (skip === 'open') return at(i, 'a comment, CDATA section or processing instruction is not closed');
        if (skip !== undefined) {
          for (let j = i + 1; j < skip; j++) {
            const bad2 = badChar(text, j);
            if (bad2) return at(j, bad2);
            if (text.charCodeAt(j) === 0x0a) {
              line++;
              lineStart = j + 1;
            }
          }
          i = skip - 1;
          continue;
        }
        state = 'tag';
      } else if (ch === '&') {
        const ref = checkReference(text, i);
        if (ref) return at(i, ref);
      } else if (ch === ']' && text.startsWith(']]>', i)) return at(i, '`]]>` may not appear in text');
    } else if (quote) {
      if (ch === quote) quote = '';
      else if (ch === '<') return at(i, '`<` may not appear in an attribute value; write &lt;');
      else if (ch === '&') {
        const ref = checkReference(text, i);
        if (ref) return at(i, ref);
      }
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '>') state = 'text';
  }
  return undefined;
}

// Where the comment, CDATA section or processing instruction starting at `i` ends (the index after it);
// undefined for a tag.
function skipMarkup(text: string, i: number): number | 'doctype' | 'open' | undefined {
  const close = (open: string, end: string): number | 'open' | undefined => {
    if (!text.startsWith(open, i)) return undefined;
    const e = text.indexOf(end, i + open.length);
    return e < 0 ? 'open' : e + end.length;
  };
  if (/^<!doctype/i.test(text.slice(i, i + 9)) || text.startsWith('<!ENTITY', i)) return 'doctype';
  return close('<!--', '-->') ?? close('<![CDATA[', ']]>') ?? close('<?', '?>');
}

// Why the character at `i` may not appear in an XML 1.0 document (§2.2 Char), if it may not.
function badChar(text: string, i: number): string | undefined {
  const c = text.charCodeAt(i);
  if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return `control character U+${hex4(c)} is not allowed in XML`;
  if (c === 0xfffe || c === 0xffff) return `character U+${hex4(c)} is not allowed in XML`;
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = text.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return 'the text holds a lone surrogate (not valid UTF-16)';
  } else if (c >= 0xdc00 && c <= 0xdfff) return 'the text holds a lone surrogate (not valid UTF-16)';
  return undefined;
}

// Why the reference starting at `i` (an `&`) is not one XML defines, if it is not.
function checkReference(text: string, i: number): string | undefined {
  const m = /^&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z_][-A-Za-z0-9._]{0,31});/.exec(text.slice(i, i + 40));
  if (!m) return '`&` starts no reference; write &amp; for a literal &';
  const body = m[1] ?? '';
  if (!body.startsWith('#'))
    return PREDEFINED[body] !== undefined
      ? undefined
      : `entity &${body}; is not defined (XML predefines only &lt; &gt; &amp; &apos; &quot;)`;
  const code = body.startsWith('#x') ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
  if (!isChar(code)) return `character reference &${body}; names a character XML does not allow`;
  return undefined;
}

function isChar(c: number): boolean {
  return (
    c === 0x09 ||
    c === 0x0a ||
    c === 0x0d ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

/** Decodes the references of text that scan() accepted. */
function decode(raw: string): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (_, body: string) =>
    body.startsWith('#x')
      ? String.fromCodePoint(parseInt(body.slice(2), 16))
      : body.startsWith('#')
        ? String.fromCodePoint(parseInt(body.slice(1), 10))
        : (PREDEFINED[body] ?? ''),
  );
}

function elementName(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  return Object.keys(node).find((k) => k !== ':@' && !k.startsWith('#'));
}

// The lines on which start tags begin, in document order (the parser keeps no positions).
function startTagLines(text: string, lines: readonly number[]): number[] {
  const out: number[] = [];
  const re = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<([^/!?][^\s/>]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) if (m[1] !== undefined) out.push(lineOf(lines, m.index));
  return out;
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

function lineOf(starts: readonly number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

// Elements in document order consume start-tag lines in the same order.
function build(
  node: unknown,
  scope: ReadonlyMap<string, string>,
  tags: { readonly lines: readonly number[]; next: number },
  depth: number,
): { element: XmlElement } | { error: XmlSyntaxError } {
  const qname = elementName(node) ?? '';
  const line = tags.lines[tags.next++] ?? 1;
  if (depth > MAX_DEPTH) return { error: { message: `elements nest more than ${MAX_DEPTH} deep`, line } };
  const rec = node as Record<string, unknown>;
  const rawAttrs = (rec[':@'] ?? {}) as Record<string, string>;
  const inner = new Map(scope);
  const attrs = new Map<string, string>();
  for (const [k, v] of Object.entries(rawAttrs)) {
    const value = decode(String(v));
    if (k === 'xmlns') inner.set('', value);
    else if (k.startsWith('xmlns:')) {
      const prefix = k.slice(6);
      if (value === '') return { error: { message: `namespace prefix \`${prefix}\` is bound to an empty URI`, line } };
      if (prefix === 'xmlns' || (prefix === 'xml') !== (value === XML_NS))
        return { error: { message: `namespace prefix \`${prefix}\` may not be bound to ${value}`, line } };
      inner.set(prefix, value);
    } else attrs.set(k, value);
  }
  for (const k of attrs.keys()) {
    const colon = k.indexOf(':');
    if (colon >= 0 && !inner.has(k.slice(0, colon)))
      return {
        error: { message: `attribute \`${k}\` uses namespace prefix \`${k.slice(0, colon)}\`, never declared`, line },
      };
  }
  const parts = qname.split(':');
  if (parts.length > 2 || parts.some((p) => p === ''))
    return { error: { message: `element name \`${qname}\` is not a valid qualified name`, line } };
  const [prefix, local] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : ['', qname];
  const ns = inner.get(prefix);
  if (ns === undefined)
    return { error: { message: `element \`${qname}\` uses namespace prefix \`${prefix}\`, never declared`, line } };
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (rec[qname] ?? []) as unknown[]) {
    const c = child as Record<string, unknown>;
    if (typeof c['#text'] === 'string') text += decode(c['#text']);
    else if (Array.isArray(c['#cdata']))
      for (const t of c['#cdata'] as Record<string, unknown>[]) text += String(t['#text'] ?? '');
    else if (elementName(child) !== undefined) {
      const b = build(child, inner, tags, depth + 1);
      if ('error' in b) return b;
      children.push(b.element);
    }
  }
  return { element: { qname, ns, local, attrs, children, text, line } };
}

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, '0');
}

// The parser quotes what it found, which can be the whole document: keep messages short.
function cut(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
