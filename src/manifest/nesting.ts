// Nesting limits checked on the text before the YAML parser sees it (it recurses once per level),
// in linear time, so a hostile file costs one clear diagnostic instead of a stack overflow.
import type { Diagnostic } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { positionAt, type SourceFile } from './positions.js';

/** Deeper flow nesting than this is refused before parsing (the YAML parser recurses). */
export const MAX_FLOW_DEPTH = 64;
/**
 * Block content starting further right than this column (indentation plus `- `, `? `, `: ` markers)
 * is refused before parsing: each level of block nesting takes at least one column, and the parser
 * recurses once per level.
 */
export const MAX_BLOCK_COLUMN = 256;

/** The diagnostic for text nested deeper than the parser may go, or undefined. */
export function nestingProblem(source: SourceFile): Diagnostic | undefined {
  const deep = flowDepth(source.text);
  if (deep.depth > MAX_FLOW_DEPTH) {
    return {
      code: CODES.yamlTooDeep,
      message: `brackets are nested ${deep.depth} deep; at most ${MAX_FLOW_DEPTH} are allowed`,
      position: positionAt(source, deep.offset),
      hint: 'write the value in block style, one level per line',
    };
  }
  const block = deepBlockLine(source.text);
  if (block) {
    return {
      code: CODES.yamlTooDeep,
      message:
        'this line is nested too deeply: ' +
        `its content starts past column ${MAX_BLOCK_COLUMN} (indentation and list markers)`,
      position: positionAt(source, block.offset),
      hint: 'a manifest needs only a few levels of nesting; check the indentation',
    };
  }
  return undefined;
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
