// Checks on a parsed document that the YAML parser leaves to us: repeated keys, keys that are not
// names, tags beyond plain JSON types, aliases with no anchor before them. One linear pass.
import { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Node as YamlNode, ParsedNode } from 'yaml';
import { diagnostic as diag, type Diagnostic } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { positionAt, type SourceFile } from './positions.js';

/** YAML tags that stand for plain JSON values; any other tag (`!!binary`, `!!set`, `!foo`) is refused. */
const PLAIN_TAGS: ReadonlySet<string> = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

// Every node of a document (keys included), for the checks that need to look at all of them.
export function allNodes(root: YamlNode | null): YamlNode[] {
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
export function checkNodes(src: SourceFile, root: YamlNode | null): Diagnostic[] {
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
