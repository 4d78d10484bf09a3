// A Board resource's spec (as YAML gives it) → the Board model. The schema has already checked
// shapes; this turns quantities ("128Mi", "0x48000000") into numbers and interrupts into the model's form.
import type { Board, DeviceInterrupt } from './model.js';
import { parseAddress } from '../manifest/units.js';

const QUANTITY_KEYS = new Set(['base', 'size', 'ramBase']);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function convert(value: Json, key: string | undefined): unknown {
  if (Array.isArray(value)) {
    if (key === 'interrupts') return value.map((v) => toInterrupt(v));
    return value.map((v) => convert(v, undefined));
  }
  if (value !== null && typeof value === 'object') {
    // Device properties are copied verbatim into the tree.
    if (key === 'properties') return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, k)]));
  }
  if (key && QUANTITY_KEYS.has(key)) {
    const r = parseAddress(value, key);
    return r.ok ? r.value : value;
  }
  return value;
}

function toInterrupt(v: Json): DeviceInterrupt {
  const o = (v ?? {}) as Record<string, Json>;
  if (typeof o.plic === 'number') return { type: 'plic', number: o.plic };
  return { type: 'spi', number: Number(o.spi), trigger: o.trigger === 'edge-rising' ? 'edge-rising' : 'level-high' };
}

/** The Board model of a schema-valid Board resource. */
export function boardFromResource(name: string, spec: Record<string, unknown>, source: string): Board {
  const converted = convert(spec as Json, undefined) as Omit<Board, 'name' | 'source'>;
  return { ...converted, name, source };
}

/** The YAML form of a board's interrupts (for `vman board --json` and round trips). */
export function interruptToYaml(i: DeviceInterrupt): Record<string, unknown> {
  return i.type === 'plic' ? { plic: i.number } : { spi: i.number, trigger: i.trigger };
}
