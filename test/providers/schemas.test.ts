// schemas/provider/: one schema per message of the provider protocol, well-formed for ajv's strict
// 2020-12 mode; every JSON example in docs/provider-protocol.md validates against its own; and
// src/backends/provider/validate.ts (the build's compiled validators) names the path of the first problem.
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { METHOD_TIMEOUT_MS, type Method } from '../../src/backends/provider/protocol.js';
import {
  checkError,
  checkNotification,
  checkResult,
  NOTIFICATION_METHODS,
} from '../../src/backends/provider/validate.js';
import { builtinBoards } from '../../src/board/builtin/index.js';

const root = new URL('../../', import.meta.url);
const dir = new URL('schemas/provider/', root);
const ID = 'https://vman.dev/schemas/provider/1/';
const files = readdirSync(dir).sort();
const schemas = new Map(
  files.map((f) => [f, JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Record<string, unknown>]),
);
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
for (const s of schemas.values()) ajv.addSchema(s);
const schema = (file: string): ValidateFunction => {
  const v = ajv.getSchema(`${ID}${file}`);
  if (!v) throw new Error(`no schema ${file}`);
  return v;
};

// Every method: METHOD_TIMEOUT_MS is a Record<Method, number>, so it lists each one protocol.ts defines.
const METHODS = Object.keys(METHOD_TIMEOUT_MS) as Method[];

const DIGEST = 'bbaf8ebb0483c017bee0ae42559a1e4df7313b7afce22b39286f79f57819526b';
const partition = {
  name: 'rtos0',
  state: 'running',
  cpus: [2],
  memory: { base: 0x4800_0000, size: 0x100_0000 },
  devices: ['gpio0'],
  loaded: [{ what: 'image', addr: 0x4800_0000, size: 0x1_0000, sha256: DIGEST }],
  bootDigest: DIGEST,
  entry: 0x4800_0000,
};
const inspected = (p: Record<string, unknown>): unknown => ({ partitions: [{ ...partition, ...p }], orphans: [] });
const STEPS = [
  'allocate',
  'build-fdt',
  'load',
  'release-cores',
  'wait-ready',
  'stop-cores',
  'scrub-memory',
  'release-resources',
];
const initialized = (caps: Record<string, unknown>): unknown => ({
  protocolVersion: '1',
  provider: { name: 'example', version: '1.0' },
  capabilities: {
    steps: STEPS,
    placesMemory: 'vman',
    buildsDeviceTree: false,
    console: { read: false, follow: false },
    powerOff: false,
    liveDtb: true,
    ...caps,
  },
});

test('every method has a params and a result schema, every notification one, and there is nothing else', () => {
  const expected = [
    ...METHODS.flatMap((m) => [`${m}.params.json`, `${m}.result.json`]),
    ...NOTIFICATION_METHODS.map((n) => `notification.${n}.json`),
    'error.json',
    'defs.json',
  ].sort();
  assert.equal(files, expected);
});

test('each schema is a 2020-12 schema with its own $id, and ajv compiles it in strict mode', () => {
  for (const [file, s] of schemas) {
    assert.is(s['$schema'], 'https://json-schema.org/draft/2020-12/schema', file);
    assert.is(s['$id'], `${ID}${file}`, file);
    if (file !== 'defs.json') schema(file);
  }
});

test('every property and definition has a description', () => {
  const missing: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    for (const key of ['properties', '$defs']) {
      for (const [name, sub] of Object.entries((o[key] ?? {}) as Record<string, unknown>)) {
        const s = sub as Record<string, unknown>;
        // A property that only tightens one of the referenced schema's (`claim`'s size, an `if`'s) needs none.
        if (typeof s['description'] !== 'string' && !path.includes('/if') && !path.includes('/then'))
          missing.push(`${path}/${key}/${name}`);
        walk(sub, `${path}/${key}/${name}`);
      }
    }
    for (const key of ['allOf', 'anyOf', 'oneOf'])
      ((o[key] ?? []) as unknown[]).forEach((x, i) => walk(x, `${path}/${key}/${i}`));
    for (const key of ['items', 'if', 'then', 'else']) walk(o[key], `${path}/${key}`);
  };
  for (const [file, s] of schemas) walk(s, file);
  assert.equal(missing, []);
});

test('the two base64 definitions share one pattern', () => {
  const defs = schemas.get('defs.json')!['$defs'] as Record<string, { pattern: string }>;
  assert.is(defs['base64OrNull']!.pattern, defs['base64']!.pattern);
});

/** The ```json blocks of the protocol document, each with the line it starts on. */
function docExamples(): { line: number; value: unknown }[] {
  const text = readFileSync(new URL('docs/provider-protocol.md', root), 'utf8');
  const out: { line: number; value: unknown }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```json') continue;
    const start = i + 1;
    while (lines[++i] !== '```') if (i >= lines.length) throw new Error(`an unclosed block at line ${start}`);
    const body = lines.slice(start, i).join('\n');
    try {
      out.push({ line: start, value: JSON.parse(body) });
    } catch (err) {
      throw new Error(`docs/provider-protocol.md:${start}: not one JSON value`, { cause: err });
    }
  }
  return out;
}

test('every JSON example in docs/provider-protocol.md validates against its schema', () => {
  const requests = new Map<unknown, string>();
  const seen = new Set<string>();
  for (const { line, value } of docExamples()) {
    const where = `docs/provider-protocol.md:${line}`;
    const msg = value as Record<string, unknown>;
    assert.is(msg['jsonrpc'], '2.0', `${where}: not a JSON-RPC 2.0 message`);
    let file: string;
    let problem: string | undefined;
    if (typeof msg['method'] === 'string' && 'id' in msg) {
      requests.set(msg['id'], msg['method']);
      file = `${msg['method']}.params.json`;
    } else if (typeof msg['method'] === 'string') {
      file = `notification.${msg['method']}.json`;
      problem = checkNotification(msg['method'], msg['params']);
    } else if ('result' in msg) {
      const method = requests.get(msg['id']) as Method | undefined;
      assert.ok(method, `${where}: an answer to no request shown before it`);
      file = `${method}.result.json`;
      problem = checkResult(method, msg['result']);
    } else {
      file = 'error.json';
      problem = checkError(msg['error']);
    }
    const v = schema(file);
    const data = 'result' in msg ? msg['result'] : 'error' in msg ? msg['error'] : msg['params'];
    assert.ok(v(data), `${where} (${file}): ${JSON.stringify(v.errors)}`);
    assert.is(problem, undefined, `${where} (${file})`);
    seen.add(file);
  }
  // The examples a provider's author starts from.
  for (const f of ['initialize.params.json', 'initialize.result.json', 'inspect.result.json', 'error.json'])
    assert.ok(seen.has(f), `no example of ${f}`);
  for (const n of NOTIFICATION_METHODS) assert.ok(seen.has(`notification.${n}.json`), `no example of ${n}`);
});

test("vman's built-in boards are valid `initialize` params", () => {
  const v = schema('initialize.params.json');
  for (const board of builtinBoards.values()) {
    const params = { protocolVersions: ['1'], client: { name: 'vman', version: '0.1.0' }, board };
    assert.ok(v(JSON.parse(JSON.stringify(params))), `${board.name}: ${JSON.stringify(v.errors)}`);
  }
});

test('the compiled validators accept what the protocol allows', () => {
  assert.is(checkResult('inspect', inspected({})), undefined);
  assert.is(
    checkResult('inspect', inspected({ state: 'stopped', loaded: [], bootDigest: undefined, entry: undefined })),
    undefined,
  );
  // An interrupted load: items recorded, no boot yet.
  assert.is(checkResult('inspect', inspected({ bootDigest: undefined, entry: undefined })), undefined);
  assert.is(checkResult('initialize', initialized({})), undefined);
  assert.is(checkResult('initialize', initialized({ snapshots: true })), undefined, 'a capability of a later revision');
  for (const m of ['allocate', 'buildFdt', 'load', 'releaseCores', 'waitReady', 'stopCores'] as const)
    assert.is(checkResult(m, {}), undefined, m);
  assert.is(checkResult('liveDtb', { dtb: null }), undefined);
  assert.is(checkResult('liveDtb', { dtb: 'AAEC' }), undefined);
  assert.is(checkResult('consoleLog', { text: 'ready\n' }), undefined);
  assert.is(checkError({ code: -32020, message: 'busy', data: { retryable: true } }), undefined);
  assert.is(
    checkError({ code: -32030, message: 'the tool failed', data: { retryable: true, reason: 'EIO' } }),
    undefined,
  );
  assert.is(checkNotification('progress', { partition: 'rtos0', message: 'booting' }), undefined);
});

/** The path a problem names: its first word. */
const pathIn = (problem: string | undefined): string | undefined => problem?.split(' ')[0];

test('a problem names the JSON path of the first thing wrong', () => {
  const cases: [string | undefined, string][] = [
    [checkError({ code: -32010, message: 'refused', data: {} }), 'data.retryable'],
    [checkError({ code: -32010, message: 'refused' }), 'data'],
    [checkError({ code: -32020, message: 'busy', data: { retryable: false } }), 'data.retryable'],
    [checkError({ code: -32010, message: 'refused', data: { retryable: true } }), 'data.retryable'],
    [checkError({ code: -32099, message: 'what', data: { retryable: false } }), 'code'],
    [checkResult('inspect', inspected({ state: 'off' })), 'partitions[0].state'],
    [checkResult('inspect', inspected({ bootDigest: DIGEST.toUpperCase() })), 'partitions[0].bootDigest'],
    [
      checkResult('inspect', inspected({ loaded: [{ ...partition.loaded[0], sha256: 'z'.repeat(64) }] })),
      'partitions[0].loaded[0].sha256',
    ],
    [
      checkResult('inspect', inspected({ loaded: [{ ...partition.loaded[0], what: 'blob' }] })),
      'partitions[0].loaded[0].what',
    ],
    [checkResult('inspect', inspected({ memory: { base: -1, size: 16 } })), 'partitions[0].memory.base'],
    [checkResult('inspect', inspected({ memory: { base: 2 ** 53, size: 16 } })), 'partitions[0].memory.base'],
    [checkResult('inspect', inspected({ memory: { base: 4096.5, size: 16 } })), 'partitions[0].memory.base'],
    [checkResult('inspect', inspected({ memory: { base: 0, size: 0 } })), 'partitions[0].memory.size'],
    [checkResult('inspect', inspected({ entry: undefined })), 'partitions[0].entry'],
    [checkResult('inspect', inspected({ loaded: [] })), 'partitions[0].loaded'],
    [checkResult('inspect', inspected({ cpus: [2, 2] })), 'partitions[0].cpus[1]'],
    [checkResult('inspect', inspected({ colour: 'red' })), 'partitions[0].colour'],
    [checkResult('inspect', inspected({ name: 'RTOS_0' })), 'partitions[0].name'],
    [checkResult('inspect', { partitions: [partition, partition], orphans: [] }), 'partitions[1].name'],
    [checkResult('inspect', { partitions: [] }), 'orphans'],
    [checkResult('allocate', { ok: true }), 'ok'],
    [checkResult('liveDtb', { dtb: 'AAE' }), 'dtb'],
    [checkResult('consoleLog', {}), 'text'],
    [checkResult('initialize', initialized({ steps: STEPS.slice(1) })), 'capabilities.steps'],
    [checkResult('initialize', initialized({ steps: [...STEPS, 'reboot'] })), 'capabilities.steps[8]'],
    [checkResult('initialize', initialized({ placesMemory: 'provider' })), 'capabilities.placesMemory'],
    [checkResult('initialize', initialized({ powerOff: undefined })), 'capabilities.powerOff'],
    [checkNotification('partitionState', { partition: 'rtos0', state: 'gone' }), 'state'],
    [checkNotification('progress', { partition: 'rtos0' }), 'message'],
  ];
  assert.equal(
    cases.map(([problem]) => pathIn(problem)),
    cases.map(([, path]) => path),
  );
});

test('a problem is one sentence in plain words', () => {
  assert.is(checkError({ code: -32010, message: 'refused', data: {} }), 'data.retryable is missing');
  assert.is(
    checkResult('inspect', inspected({ memory: { base: -1, size: 16 } })),
    'partitions[0].memory.base must be an integer ≥ 0',
  );
  assert.is(
    checkResult('inspect', inspected({ state: 'off' })),
    'partitions[0].state must be one of running, stopped, paused, shutdown, crashed, not "off"',
  );
  assert.is(
    checkResult('inspect', inspected({ bootDigest: 'abc' })),
    'partitions[0].bootDigest must be a SHA-256 digest: 64 lowercase hexadecimal digits',
  );
  assert.is(
    checkResult('initialize', initialized({ steps: STEPS.slice(1) })),
    'capabilities.steps must contain "allocate"',
  );
  assert.is(checkResult('inspect', []), 'the result must be an object');
  assert.is(checkNotification('shout', {}), '`shout` is not a notification of protocol version 1');
});

test('what vman sends: the params schemas a provider may check', () => {
  const load = schema('load.params.json');
  const item = { what: 'kernel', file: '/k', offset: 0, size: 16, addr: 0x4800_0000, sha256: DIGEST };
  const dtb = { what: 'dtb', offset: 0, size: 16, addr: 0x4900_0000, sha256: DIGEST };
  const params = {
    partition: 'rtos0',
    items: [item, dtb],
    bootDigest: DIGEST,
    entry: 0x4800_0000,
    bootCpu: 2,
    dtbAddr: 0x4900_0000,
  };
  assert.ok(load(params), JSON.stringify(load.errors));
  assert.ok(load({ ...params, future: 1 }), 'params are open');
  assert.not.ok(load({ ...params, items: [{ ...item, file: undefined }, dtb] }));
  assert.is(load.errors?.[0]?.instancePath, '/items/0');
  assert.not.ok(load({ ...params, items: [item, { ...dtb, file: '/d' }] }));
  assert.is(load.errors?.[0]?.instancePath, '/items/1/file');
  const allocate = schema('allocate.params.json');
  assert.not.ok(allocate({ partition: 'rtos0', cpus: [], memory: { base: 0, size: 1 }, devices: [] }));
  assert.is(allocate.errors?.[0]?.instancePath, '/cpus');
  assert.not.ok(allocate({ partition: 'rtos0', cpus: [1], memory: { base: 0, size: 1, x: 1 }, devices: [] }));
  assert.not.ok(schema('stopCores.params.json')({}));
  assert.ok(schema('scrubMemory.params.json')({ partition: 'orphan-1', memory: { base: 0, size: 0 } }));
});

test.run();
