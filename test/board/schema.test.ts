// schemas/board.schema.json: well-formed for ajv's strict 2020-12 mode, documented everywhere, and it
// accepts the forms a board author writes while refusing the mistakes one makes.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { boardFromYaml } from './yaml-board.js';

const root = new URL('../../', import.meta.url);
const schema = JSON.parse(readFileSync(new URL('schemas/board.schema.json', root), 'utf8')) as Record<string, unknown>;
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

const load = (path: string): unknown => parse(readFileSync(new URL(path, root), 'utf8'));
const aarch64 = () => load('examples/boards/qemu-virt-aarch64.yaml');
const riscv64 = () => load('examples/boards/qemu-virt-riscv64.yaml');

type Key = string | number;

/** Sets (or, with `undefined`, deletes) the value at `path` inside a parsed document, and returns the document. */
function edit(doc: unknown, path: readonly Key[], value: unknown): unknown {
  let node = doc;
  for (const key of path.slice(0, -1)) node = (node as Record<Key, unknown>)[key];
  const last = path[path.length - 1]!;
  if (value === undefined) delete (node as Record<Key, unknown>)[last];
  else (node as Record<Key, unknown>)[last] = value;
  return doc;
}

function get(doc: unknown, path: readonly Key[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<Key, unknown>)[key], doc);
}

/** The errors for `doc`, as `instancePath keyword` strings. */
function problems(doc: unknown): string[] {
  validate(doc);
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath} ${e.keyword}`);
}

test('the schema has the vman $id and is a 2020-12 schema', () => {
  assert.is(schema['$id'], 'https://vman.dev/schemas/board.schema.json');
  assert.is(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
});

test('every property and definition has a description', () => {
  const missing: string[] = [];
  // Visits subschemas only through the keywords that hold them, so a property called "properties" is a property.
  const walk = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    for (const key of ['properties', '$defs']) {
      for (const [name, sub] of Object.entries((o[key] ?? {}) as Record<string, unknown>)) {
        if (typeof (sub as Record<string, unknown>)['description'] !== 'string') missing.push(`${path}/${key}/${name}`);
        walk(sub, `${path}/${key}/${name}`);
      }
    }
    for (const key of ['oneOf', 'anyOf', 'allOf', 'prefixItems']) {
      ((o[key] ?? []) as unknown[]).forEach((sub, i) => walk(sub, `${path}/${key}/${i}`));
    }
    for (const key of ['items', 'additionalProperties', 'propertyNames', 'not']) walk(o[key], `${path}/${key}`);
  };
  walk(schema, '#');
  assert.equal(missing, []);
});

test('a hand-written custom board with string quantities validates and converts', () => {
  const doc = load('test/fixtures/board/custom-minimal.yaml');
  assert.equal(problems(doc), []);
  const board = boardFromYaml(doc);
  assert.equal(board['memory'], [
    { base: 0x8000_0000, size: 2 ** 30 },
    { base: 8 * 2 ** 30, size: 0x4000_0000 },
  ]);
  assert.equal(
    (board['cpus'] as { hwid: number }[]).map((c) => c.hwid),
    [0, 1, 0x100, 0x101],
  );
  assert.equal(board['reserved'], [
    { owner: 'management', cpus: [0], memory: [{ base: 0x8000_0000, size: 128 * 2 ** 20 }], devices: [] },
    { owner: 'monitor', cpus: [], memory: [{ base: 0x8800_0000, size: 2 * 2 ** 20 }], devices: [] },
  ]);
  assert.equal((board['devices'] as { interrupts: unknown }[])[1]!.interrupts, [
    { type: 'spi', number: 118, trigger: 'level-high' },
    { type: 'spi', number: 119, trigger: 'level-high' },
  ]);
});

test('a misspelt field is refused where it is', () => {
  const doc = aarch64();
  edit(doc, ['spec', 'interruptControler'], get(doc, ['spec', 'interruptController']));
  validate(doc);
  const e = validate.errors?.find((x) => x.keyword === 'additionalProperties');
  assert.is(e?.instancePath, '/spec');
  assert.equal(e?.params, { additionalProperty: 'interruptControler' });
});

test('a size with an SI unit is refused', () => {
  const doc = edit(aarch64(), ['spec', 'memory', 0, 'size'], '4GB');
  assert.ok(problems(doc).includes('/spec/memory/0/size pattern'));
});

test('sizes and addresses may be integers, hex strings or suffixed strings', () => {
  for (const value of [0x4000_0000, '0x40000000', '1Gi', '1024Mi', '0x400Mi', '1073741824']) {
    const doc = edit(edit(aarch64(), ['spec', 'memory', 0, 'size'], value), ['spec', 'memory', 0, 'base'], value);
    assert.equal(problems(doc), [], `refused ${JSON.stringify(value)}`);
  }
  const doc = edit(aarch64(), ['spec', 'memory', 0, 'base'], -1);
  assert.ok(problems(doc).includes('/spec/memory/0/base minimum'));
});

test('an SPI needs a trigger and a PLIC source is at least 1', () => {
  const arm = edit(aarch64(), ['spec', 'devices', 5, 'interrupts', 0], { spi: 16 });
  assert.ok(problems(arm).includes('/spec/devices/5/interrupts/0 required'));
  const rv = edit(riscv64(), ['spec', 'devices', 1, 'interrupts', 0], { plic: 0 });
  assert.ok(problems(rv).includes('/spec/devices/1/interrupts/0/plic minimum'));
  const mixed = edit(aarch64(), ['spec', 'devices', 5, 'interrupts', 0], { spi: 16, trigger: 'edge-rising', plic: 3 });
  assert.ok(problems(mixed).some((p) => p.startsWith('/spec/devices/5/interrupts/0 ')));
});

test('a device must say whether it does DMA, and how it is confined', () => {
  const doc = edit(aarch64(), ['spec', 'devices', 0, 'dma'], undefined);
  assert.ok(problems(doc).includes('/spec/devices/0 required'));
  const sid = edit(aarch64(), ['spec', 'devices', 5, 'dma'], { kind: 'stream-id' });
  assert.ok(problems(sid).some((p) => p.startsWith('/spec/devices/5/dma ')));
});

test('lists the model requires are written out, even when empty', () => {
  const doc = edit(aarch64(), ['spec', 'devices', 0, 'interrupts'], undefined);
  assert.ok(problems(doc).includes('/spec/devices/0 required'));
  const rv = edit(riscv64(), ['spec', 'reserved', 0, 'cpus'], undefined);
  assert.ok(problems(rv).includes('/spec/reserved/0 required'));
});

test('properties vman writes itself are refused in `properties`', () => {
  const doc = edit(aarch64(), ['spec', 'devices', 5, 'properties', 'reg'], [0, 0xa000000, 0, 0x200]);
  assert.ok(problems(doc).includes('/spec/devices/5/properties propertyNames'));
});

test('the console UART takes no `dma`, and a typo in a device is refused', () => {
  const doc = edit(aarch64(), ['spec', 'console', 'device', 'dma'], { kind: 'none' });
  assert.ok(problems(doc).includes('/spec/console/device unevaluatedProperties'));
  const typo = edit(aarch64(), ['spec', 'devices', 0, 'interupts'], []);
  assert.ok(problems(typo).includes('/spec/devices/0 unevaluatedProperties'));
});

test('apiVersion, kind and metadata.name are checked', () => {
  const doc = aarch64();
  edit(doc, ['apiVersion'], 'vman.dev/v1');
  edit(doc, ['kind'], 'Partition');
  edit(doc, ['metadata', 'name'], 'My_Board');
  const p = problems(doc);
  assert.ok(p.includes('/apiVersion const'));
  assert.ok(p.includes('/kind const'));
  assert.ok(p.includes('/metadata/name pattern'));
});

test('a timer lists exactly four PPIs', () => {
  const doc = edit(aarch64(), ['spec', 'timer', 'ppis'], [13, 14, 11]);
  assert.ok(problems(doc).some((p) => p.startsWith('/spec/timer')));
});

test.run();
