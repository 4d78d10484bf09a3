// The YAML parser's errors, explained for the mistakes people make by hand: unclosed quotes and
// brackets, stray indentation, a missing `:` or space. One diagnostic per error, at the real cause.
import { isMap, isScalar, isSeq } from 'yaml';
import type { Document, Node as YamlNode, ParsedNode, YAMLError } from 'yaml';
import { diagnostic as diag, type Diagnostic, type Position } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { allNodes } from './node-checks.js';
import { lineText, positionAt, type SourceFile } from './positions.js';

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

const indentOf = (s: string): number => /^ */.exec(s)?.[0].length ?? 0;

/**
 * One YAML parser error, explained for the mistakes people make by hand: unclosed quotes and brackets,
 * stray indentation, a missing `:` or space.
 */
export function explainYamlError(src: SourceFile, doc: Document.Parsed, err: YAMLError): Diagnostic {
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
