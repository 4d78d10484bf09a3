// YAML text → documents whose every node knows its line and column.
// Guards keep hostile input (binary, alias bombs, deep nesting) to one clear diagnostic in bounded time:
// bytes are checked before decoding (./decode.ts), nesting before parsing (./nesting.ts); the parser's
// errors are explained (./yaml-errors.ts) and the documents checked (./node-checks.ts).
import { isScalar, parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
import type { Diagnostic } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { checkNodes } from './node-checks.js';
import { nestingProblem } from './nesting.js';
import { lineCounter, positionAt, type SourceFile } from './positions.js';
import { explainYamlError } from './yaml-errors.js';

export { decodeManifest, MAX_MANIFEST_BYTES } from './decode.js';
export { MAX_BLOCK_COLUMN, MAX_FLOW_DEPTH } from './nesting.js';
export { documentStart, keyAt, nodeAt, positionAt, positionOf, type SourceFile } from './positions.js';

// uniqueKeys is checked by walking the nodes (checkNodes): the parser's own check is quadratic.
// logLevel 'error': the parser's warnings would go to the terminal; checkNodes reports what matters.
const YAML_OPTIONS = {
  uniqueKeys: false,
  prettyErrors: false,
  strict: true,
  keepSourceTokens: false,
  logLevel: 'error',
} as const;

/** Whether a document declares nothing: no content at all, a lone `---`, or only comments. */
export function isEmptyDocument(doc: Document.Parsed): boolean {
  const c = doc.contents;
  if (c === null) return true;
  return isScalar(c) && c.value === null && c.source === '' && !c.tag && !c.anchor;
}

/** Parses YAML text into documents, turning every YAML error into a diagnostic at its position. */
export function parseYaml(file: string, text: string): { source: SourceFile; problems: Diagnostic[] } {
  const lines = lineCounter(text);
  const unparsed: SourceFile = { file, text, lines, docs: [] };
  const tooDeep = nestingProblem(unparsed);
  if (tooDeep) return { source: unparsed, problems: [tooDeep] };
  const docs = parseDocuments(text);
  if (!docs) {
    return {
      source: unparsed,
      problems: [{ code: CODES.yamlSyntax, message: 'the file is not valid YAML', position: positionAt(unparsed, 0) }],
    };
  }
  const source: SourceFile = { file, text, lines, docs };
  const problems: Diagnostic[] = [];
  for (const doc of docs) {
    // The parser's later errors in a document mostly follow from its first: report that one, explained.
    const first = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
    if (first) problems.push(explainYamlError(source, doc, first));
    else problems.push(...checkNodes(source, doc.contents));
  }
  return { source, problems };
}

// Hostile input can make the parser raise one error per token; without stack traces each costs little.
function parseDocuments(text: string): Document.Parsed[] | undefined {
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const docs = parseAllDocuments(text, YAML_OPTIONS);
    return Array.isArray(docs) ? (docs as Document.Parsed[]) : undefined;
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
}
