// Rules across manifests: unique names, dependsOn targets that exist, no dependency cycles.
import type { PartitionSpec } from '../manifest/types.js';
import { fieldPosition } from '../manifest/types.js';
import type { Diagnostic } from './diagnostic.js';
import { CODES } from './codes.js';
import { didYouMean } from './suggest.js';

/**
 * Duplicate names (naming both files), unknown dependsOn targets and cycles. `declared` names
 * partitions whose documents have problems of their own: they exist, so depending on them is no error.
 */
export function checkManifestSet(specs: readonly PartitionSpec[], declared: Iterable<string> = []): Diagnostic[] {
  const elsewhere = new Set(declared);
  const out: Diagnostic[] = [];
  const byName = new Map<string, PartitionSpec>();
  const all = new Map<string, PartitionSpec[]>();
  for (const s of specs) {
    if (!byName.has(s.name)) byName.set(s.name, s);
    all.set(s.name, [...(all.get(s.name) ?? []), s]);
  }
  // Every declaration of a repeated name is reported, each naming the others, so the result does not
  // depend on which file is read first.
  for (const [name, list] of all) {
    if (list.length < 2) continue;
    for (const s of list) {
      const others = list.filter((o) => o !== s);
      const where = others.map((o) => `${o.source.file}:${fieldPosition(o, 'metadata.name').line}`).join(', ');
      const first = others[0];
      out.push({
        code: CODES.duplicateName,
        message:
          `partition \`${name}\` is declared ${list.length === 2 ? 'twice' : `${list.length} times`}: ` +
          `here and in ${where}`,
        position: fieldPosition(s, 'metadata.name'),
        ...(first ? { related: fieldPosition(first, 'metadata.name') } : {}),
        hint: 'rename one of them, or delete one document',
        partition: name,
      });
    }
  }
  // Every declaration (not only the first of a repeated name), so the result does not depend on file order.
  for (const s of specs) {
    s.dependsOn.forEach((dep, i) => {
      if (!byName.has(dep) && !elsewhere.has(dep)) {
        const d: Diagnostic = {
          code: CODES.dependsUnknown,
          message: `partition \`${s.name}\` depends on \`${dep}\`, which no manifest declares`,
          position: fieldPosition(s, `spec.dependsOn.${i}`),
          partition: s.name,
        };
        const fix = didYouMean(dep, byName.keys());
        out.push(fix ? { ...d, hint: fix } : d);
      }
    });
  }
  // A repeated name depends on what any of its declarations names (sorted, so file order does not matter).
  const deps = new Map<string, readonly string[]>();
  for (const [name, list] of all)
    deps.set(
      name,
      list.length === 1 ? (list[0]?.dependsOn ?? []) : [...new Set(list.flatMap((s) => s.dependsOn))].sort(),
    );
  for (const cycle of findCycles(deps)) {
    const first = all.get(cycle[0] ?? '')?.find((s) => s.dependsOn.includes(cycle[1] ?? ''));
    if (!first) continue;
    const idx = first.dependsOn.indexOf(cycle[1] ?? '');
    out.push({
      code: CODES.dependsCycle,
      message: `dependsOn forms a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
      position: fieldPosition(first, idx >= 0 ? `spec.dependsOn.${idx}` : 'spec.dependsOn'),
      hint: 'remove one of these dependencies',
      partition: first.name,
    });
  }
  return out;
}

// Each elementary cycle reported once, starting from its lexically smallest member (iterative DFS).
function findCycles(byName: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  for (const start of [...byName.keys()].sort()) {
    if (state.get(start)) continue;
    const stack: { name: string; next: number }[] = [{ name: start, next: 0 }];
    const path: string[] = [start];
    state.set(start, 'open');
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (!top) break;
      const deps = (byName.get(top.name) ?? []).filter((d) => byName.has(d));
      if (top.next >= deps.length) {
        state.set(top.name, 'done');
        stack.pop();
        path.pop();
        continue;
      }
      const dep = deps[top.next++] ?? '';
      const st = state.get(dep);
      if (st === 'open') {
        const cyc = path.slice(path.indexOf(dep));
        const min = [...cyc].sort()[0] ?? dep;
        const rotated = [...cyc.slice(cyc.indexOf(min)), ...cyc.slice(0, cyc.indexOf(min))];
        const key = rotated.join('\0');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(rotated);
        }
      } else if (!st) {
        state.set(dep, 'open');
        stack.push({ name: dep, next: 0 });
        path.push(dep);
      }
    }
  }
  return cycles;
}
