// What `inspect` answered, in a canonical form the checks compare (two answers that say the same
// thing compare equal whatever their order), and described in a line for messages. Pure.
import { formatRange } from '../../units/format.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The canonical form of an inspect answer: a string, equal for equal states. */
export type Snapshot = string & { readonly __snapshot: true };

// JSON with object keys sorted, so key order never matters.
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

const byKey = (key: (x: unknown) => string) => (x: unknown, y: unknown) => key(x).localeCompare(key(y));
const sortedNumbers = (v: unknown): unknown => (Array.isArray(v) ? [...v].sort((x, y) => Number(x) - Number(y)) : v);
const sortedStrings = (v: unknown): unknown => (Array.isArray(v) ? [...v].map(String).sort() : v);

/** A partition with its lists in a canonical order. */
function canonPartition(p: unknown): unknown {
  if (!isObject(p)) return p;
  const loaded = Array.isArray(p.loaded) ? [...p.loaded].sort(byKey(stable)) : p.loaded;
  return { ...p, cpus: sortedNumbers(p.cpus), devices: sortedStrings(p.devices), loaded };
}

/** The canonical form of an inspect answer. */
export function snapshot(result: unknown): Snapshot {
  const r = isObject(result) ? result : {};
  const partitions = Array.isArray(r.partitions)
    ? r.partitions.map(canonPartition).sort(byKey((x) => (isObject(x) ? String(x.name) : stable(x))))
    : r.partitions;
  const orphans = Array.isArray(r.orphans)
    ? r.orphans
        .map((o) => (isObject(o) ? { ...o, cpus: sortedNumbers(o.cpus), devices: sortedStrings(o.devices) } : o))
        .sort(byKey(stable))
    : r.orphans;
  return stable({ partitions, orphans }) as Snapshot;
}

/** The partitions of an inspect answer, by name. */
export function partitionsOf(result: unknown): Map<string, Json> {
  const r = isObject(result) ? result : {};
  const out = new Map<string, Json>();
  if (Array.isArray(r.partitions)) for (const p of r.partitions) if (isObject(p)) out.set(String(p.name), p);
  return out;
}

/** One partition in a line: `conf-a running, cores [1], 0x48000000…, devices [rtc0], 2 items loaded`. */
export function describePartition(p: Json): string {
  const m = p.memory;
  const mem =
    isObject(m) && typeof m.base === 'number' && typeof m.size === 'number'
      ? formatRange({ base: m.base, size: m.size })
      : stable(m);
  const loaded = Array.isArray(p.loaded) ? p.loaded.length : 0;
  const boot = p.bootDigest !== undefined ? ', a boot digest' : '';
  return (
    `\`${String(p.name)}\` ${String(p.state)}, cores ${stable(p.cpus)}, memory ${mem}, devices ` +
    `${stable(p.devices)}, ${loaded} item${loaded === 1 ? '' : 's'} loaded${boot}`
  );
}

/** An inspect answer in a line. */
export function describe(s: Snapshot): string {
  const r = JSON.parse(s) as { partitions: unknown; orphans: unknown };
  const parts = Array.isArray(r.partitions) ? r.partitions.filter(isObject).map(describePartition) : [];
  const orphans = Array.isArray(r.orphans) ? r.orphans.length : 0;
  if (!parts.length && !orphans) return 'nothing';
  const o = orphans
    ? `${parts.length ? '; ' : ''}${orphans} orphan${orphans === 1 ? '' : 's'} ${stable(r.orphans)}`
    : '';
  return `${parts.join('; ')}${o}`;
}

// A field's value for a message: long values (digests, item lists) cut short.
function shown(v: unknown): string {
  if (v === undefined) return '(none)';
  const s = stable(v);
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

/** What differs between two inspect answers, in a line (empty when they are equal). */
export function difference(before: Snapshot, after: Snapshot): string {
  if (before === after) return '';
  const a = JSON.parse(before) as { partitions: unknown[]; orphans: unknown[] };
  const b = JSON.parse(after) as { partitions: unknown[]; orphans: unknown[] };
  const named = (r: { partitions: unknown[] }) =>
    new Map((Array.isArray(r.partitions) ? r.partitions : []).filter(isObject).map((p) => [String(p.name), p]));
  const pa = named(a);
  const pb = named(b);
  const out: string[] = [];
  for (const [name, p] of pa) {
    const q = pb.get(name);
    if (!q) out.push(`\`${name}\` is gone`);
    else {
      const fields = [...new Set([...Object.keys(p), ...Object.keys(q)])].sort();
      for (const f of fields)
        if (stable(p[f]) !== stable(q[f])) out.push(`\`${name}\` ${f} ${shown(p[f])} → ${shown(q[f])}`);
    }
  }
  for (const [name, q] of pb) if (!pa.has(name)) out.push(`${describePartition(q)} appeared`);
  if (stable(a.orphans) !== stable(b.orphans)) out.push(`orphans ${stable(a.orphans)} → ${stable(b.orphans)}`);
  return out.join('; ');
}
