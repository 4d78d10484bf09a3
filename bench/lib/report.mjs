// Results as the bench reports them: one record per figure, a verdict against its target, a table.
import { round } from './measure.mjs';

/**
 * One result. `target` is `"<= X"`, `">= X"` or `"report"`; `ok` says whether the value meets it
 * (null for report-only figures and skipped ones). `value` null means skipped (see `note`).
 */
export function result(name, value, unit, peer, target, extra = {}) {
  const v = value === null || value === undefined || Number.isNaN(value) ? null : round(value);
  return { name, value: v, unit, peer, target, ok: verdict(v, target), ...extra };
}

function verdict(value, target) {
  if (value === null || !target || target === 'report') return null;
  const m = /^(<=|>=)\s*([\d.]+)$/.exec(target);
  if (!m) return null;
  return m[1] === '<=' ? value <= Number(m[2]) : value >= Number(m[2]);
}

/** A skipped result: the name is still reported, with why. */
export function skipped(name, unit, target, note) {
  return { name, value: null, unit, peer: null, target, ok: null, note };
}

/** The human table. */
export function printTable(doc, write) {
  const m = doc.machine;
  write(
    `vman bench (${m.mode}) on ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, ` +
      `node ${m.node}, ${m.os}, load ${m.loadavg_1m}\n\n`,
  );
  const rows = doc.results.map((r) => [
    r.name,
    r.value === null ? 'skipped' : `${r.value}${r.unit && !r.unit.startsWith('ratio') ? ` ${r.unit}` : ''}`,
    r.target ?? '',
    r.ok === null ? '' : r.ok ? 'ok' : 'MISSED',
    r.peer ?? '',
  ]);
  const head = ['name', 'value', 'target', '', 'peer'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cols) =>
    `${cols.map((c, i) => (i === cols.length - 1 ? String(c) : String(c).padEnd(widths[i]))).join('  ')}\n`;
  write(line(head));
  write(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) write(line(r));
  const notes = doc.results.filter((r) => r.note);
  if (notes.length) {
    write('\n');
    for (const r of notes) write(`${r.name}: ${r.note}\n`);
  }
}
