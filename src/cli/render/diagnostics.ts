// Diagnostics as people read them: `FILE:LINE:COL: message [CODE]`, the line with a caret, a hint.
import type { Diagnostic } from '../../rules/diagnostic.js';
import type { Style } from './style.js';

/** Source text by display file name, for excerpts; a missing file just gets no excerpt. */
export type SourceLookup = (file: string) => string | undefined;

function excerpt(text: string, line: number, column: number, style: Style): string[] {
  const lines = text.split('\n');
  const src = (lines[line - 1] ?? '').replace(/\r$/, '');
  if (src.length > 200) return [];
  const rest = src.slice(Math.max(0, column - 1));
  const width = Math.max(1, /^[^\s:,\]}#]+/.exec(rest)?.[0].length ?? 1);
  const gutter = String(line).length;
  const pad = src.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, ' ');
  return [
    `  ${style.dim(`${line} |`)} ${src}`,
    `  ${' '.repeat(gutter)} ${style.dim('|')} ${pad}${style.red('^'.repeat(width))}`,
  ];
}

/** One diagnostic, as lines of text. */
export function renderDiagnostic(d: Diagnostic, style: Style, lookup?: SourceLookup): string {
  const p = d.position;
  const head = p ? `${p.file}:${p.line}:${p.column}: ` : '';
  const out = [`${style.bold(head)}${d.message} ${style.dim(`[${d.code}]`)}`];
  if (p && lookup) {
    const text = lookup(p.file);
    if (text !== undefined) out.push(...excerpt(text, p.line, p.column, style));
  }
  if (d.hint) out.push(`  ${style.cyan('hint:')} ${d.hint}`);
  if (d.related) out.push(`  ${style.dim(`see also ${d.related.file}:${d.related.line}:${d.related.column}`)}`);
  return out.join('\n');
}

/** Every diagnostic, then a count line. */
export function renderDiagnostics(list: readonly Diagnostic[], style: Style, lookup?: SourceLookup): string {
  const body = list.map((d) => renderDiagnostic(d, style, lookup)).join('\n');
  const n = list.length;
  return `${body}\n${style.red(`${n} problem${n === 1 ? '' : 's'} found.`)}\n`;
}

export { diagnosticJson } from '../../rules/diagnostic.js';
