// metadata.uid and spec.restartPolicy never cause an action: recorded with the live partition, a
// change to either is a noop that names it, and the saved plan's schema admits them in records.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { makePlan, type Resolved } from '../../src/plan/plan.js';
import { recordOf } from '../../src/desired/resolve.js';
import type { BootFacts } from '../../src/desired/load.js';
import type { LivePartition } from '../../src/backends/types.js';
import type { PartitionSpec } from '../../src/manifest/types.js';
import type { AppliedRecord, Target } from '../../src/plan/types.js';

const MiB = 1024 * 1024;
const UID = '6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41';

function record(o: Partial<AppliedRecord> = {}): AppliedRecord {
  return {
    cpus: 1,
    memory: { size: 16 * MiB },
    devices: [],
    state: 'running',
    boot: { image: '/i', 'image.sha256': 'aa' },
    labels: {},
    dependsOn: [],
    readiness: { timeoutMs: 1000 },
    ...o,
  };
}

function resolved(rec: AppliedRecord): Resolved {
  const target: Target = {
    name: 'a',
    state: 'running',
    cpus: [1],
    memory: { base: 0x4800_0000, size: 16 * MiB },
    devices: [],
    bootCpu: 1,
    entry: 0x4800_0000,
    dtbAddr: 0x48e0_0000,
    dtb: new Uint8Array(),
    dtbSize: 100,
    dtbSha256: 'd',
    loads: [],
    bootDigest: 'boot-a',
    readiness: { timeoutMs: 1000 },
    dependsOn: [],
    record: rec,
  };
  return { target, placement: { name: 'a', kind: 'kept', handover: [] } };
}

function live(rec: AppliedRecord): LivePartition {
  return {
    name: 'a',
    state: 'running',
    cpus: [1],
    memory: { base: 0x4800_0000, size: 16 * MiB },
    devices: [],
    loaded: [],
    bootDigest: 'boot-a',
    record: rec,
  };
}

/** The one change of a plan from `before` (live) to `after` (desired). */
function change(before: AppliedRecord, after: AppliedRecord) {
  const p = makePlan([resolved(after)], { partitions: [live(before)], orphans: [] });
  assert.equal(p.steps, []);
  assert.is(p.changes.length, 1);
  return p.changes[0];
}

test('a changed restartPolicy is a noop that says when it takes effect', () => {
  for (const [from, to] of [
    ['Never', 'Always'],
    ['Always', 'OnFailure'],
    ['OnFailure', 'Never'],
  ] as const) {
    const c = change(record({ restartPolicy: from }), record({ restartPolicy: to }));
    assert.is(c?.action, 'noop');
    assert.equal(c?.reasons, ['spec.restartPolicy changed (takes effect the next time the partition ends by itself)']);
  }
});

test('a record written before restartPolicy existed counts as Never', () => {
  assert.equal(change(record(), record({ restartPolicy: 'Never' }))?.reasons, []);
  assert.equal(change(record(), record({ restartPolicy: 'OnFailure' }))?.reasons, [
    'spec.restartPolicy changed (takes effect the next time the partition ends by itself)',
  ]);
});

test('a uid added, changed or removed is a noop that says so', () => {
  const other = '0d1e2f30-4152-4637-8899-aabbccddeeff';
  for (const [from, to] of [
    [undefined, UID],
    [UID, other],
    [UID, undefined],
  ]) {
    const c = change(record(from ? { uid: from } : {}), record(to ? { uid: to } : {}));
    assert.is(c?.action, 'noop');
    assert.equal(c?.reasons, ['metadata.uid changed (no action needed)']);
  }
  assert.equal(change(record({ uid: UID }), record({ uid: UID }))?.reasons, []);
});

test('recordOf keeps the uid when given and always the restart policy (Never by default)', () => {
  const facts = { main: { sha256: 'aa' }, overlays: [] } as unknown as BootFacts;
  const spec: PartitionSpec = {
    name: 'a',
    labels: {},
    state: 'running',
    cpus: { count: 1 },
    memory: { size: 16 * MiB },
    devices: [],
    boot: { kind: 'image', image: '/i', overlays: [], sha256: {} },
    dependsOn: [],
    readiness: { timeoutMs: 1000 },
    source: {
      file: 'a.yaml',
      absFile: '/a.yaml',
      doc: 0,
      position: { file: 'a.yaml', line: 1, column: 1 },
      fields: {},
    },
  };
  const plain = recordOf(spec, facts);
  assert.is(plain.restartPolicy, 'Never');
  assert.not.ok('uid' in plain);
  const full = recordOf({ ...spec, uid: UID, restartPolicy: 'Always' }, facts);
  assert.is(full.uid, UID);
  assert.is(full.restartPolicy, 'Always');
});

test("the saved plan's record schema admits uid and restartPolicy, and only well-formed ones", () => {
  const schema = JSON.parse(readFileSync(new URL('../../schemas/plan.schema.json', import.meta.url), 'utf8')) as {
    $id: string;
  };
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  ajv.addSchema(schema);
  const valid = ajv.getSchema(`${schema.$id}#/$defs/record`);
  if (!valid) throw new Error('no $defs/record in plan.schema.json');
  assert.ok(valid(record()), 'a record without either (written before vman had them)');
  assert.ok(valid(record({ uid: UID, restartPolicy: 'OnFailure' })), JSON.stringify(valid.errors));
  assert.not.ok(valid({ ...record(), restartPolicy: 'Sometimes' }));
  assert.not.ok(valid({ ...record(), uid: UID.toUpperCase() }));
  assert.not.ok(valid({ ...record(), other: 1 }), 'additionalProperties stays false');
});

test.run();
