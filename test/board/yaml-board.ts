// A `kind: Board` YAML resource (already schema-valid) turned into the Board model's shape, the mechanical
// way the schema promises: same field names, quantities parsed, interrupts in the model's form.
// Tests use it to prove the examples say exactly what the built-in boards say.

type Json = Record<string, unknown>;

const SUFFIX: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

function obj(v: unknown): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error(`expected a mapping, got ${JSON.stringify(v)}`);
  return v as Json;
}

function list(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error(`expected a sequence, got ${JSON.stringify(v)}`);
  return v;
}

/** An integer, "0x…" or "N[Ki|Mi|Gi]" (hex or decimal N) as a number of bytes. */
export function quantity(v: unknown): number {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? /^(0[xX][0-9a-fA-F]+|[0-9]+)(Ki|Mi|Gi)?$/.exec(v) : null;
  if (!m) throw new Error(`not a quantity: ${JSON.stringify(v)}`);
  const digits = m[1] ?? '';
  const n = /^0[xX]/.test(digits) ? Number.parseInt(digits.slice(2), 16) : Number.parseInt(digits, 10);
  return n * (m[2] ? (SUFFIX[m[2]] ?? 1) : 1);
}

const range = (v: unknown) => {
  const r = obj(v);
  return { base: quantity(r['base']), size: quantity(r['size']) };
};

function interrupt(v: unknown): Json {
  const i = obj(v);
  if ('spi' in i) return { type: 'spi', number: i['spi'], trigger: i['trigger'] };
  return { type: 'plic', number: i['plic'] };
}

function device(v: unknown): Json {
  const d = obj(v);
  return { ...d, reg: list(d['reg']).map(range), interrupts: list(d['interrupts']).map(interrupt) };
}

function withRanges(v: unknown, keys: readonly string[]): Json {
  const o = { ...obj(v) };
  for (const k of keys) if (k in o) o[k] = range(o[k]);
  return o;
}

/** The Board model for a parsed `kind: Board` document. */
export function boardFromYaml(doc: unknown): Json {
  const root = obj(doc);
  const spec = obj(root['spec']);
  const ic = obj(spec['interruptController']);
  const board: Json = {
    ...spec,
    name: obj(root['metadata'])['name'],
    memory: list(spec['memory']).map(range),
    interruptController:
      ic['kind'] === 'plic'
        ? { ...withRanges(ic, ['reg']), clint: withRanges(ic['clint'], ['reg']) }
        : withRanges(ic, ['distributor', 'cpuInterface', 'v2m', 'redistributor']),
    devices: list(spec['devices']).map(device),
    reserved: list(spec['reserved']).map((r) => ({ ...obj(r), memory: list(obj(r)['memory']).map(range) })),
  };
  const console = obj(spec['console']);
  if (console['kind'] === 'virtual-uart')
    board['console'] = { kind: 'virtual-uart', device: device(console['device']) };
  if (spec['qemu'] !== undefined)
    board['qemu'] = { ...obj(spec['qemu']), ramBase: quantity(obj(spec['qemu'])['ramBase']) };
  return board;
}
