// The pure planner: actions, step kinds in SPEC's order, and the `after` edges between partitions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makePlan, stepsFor, type Resolved } from '../../src/plan/plan.js';
import type { LivePartition, LiveState, Orphan } from '../../src/backends/types.js';
import type { AppliedRecord, Target } from '../../src/plan/types.js';
import type { Placement } from '../../src/alloc/types.js';

const MiB = 1024 * 1024;

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

function target(name: string, o: Partial<Target> = {}): Target {
  return {
    name,
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
    bootDigest: `boot-${name}`,
    readiness: { timeoutMs: 1000 },
    dependsOn: [],
    record: record({ dependsOn: o.dependsOn ?? [] }),
    ...o,
  };
}

function resolved(name: string, o: Partial<Target> = {}, placement: Partial<Placement> = {}): Resolved {
  return { target: target(name, o), placement: { name, kind: 'kept', handover: [], ...placement } };
}

function live(name: string, o: Partial<LivePartition> = {}): LivePartition {
  return {
    name,
    state: 'running',
    cpus: [1],
    memory: { base: 0x4800_0000, size: 16 * MiB },
    devices: [],
    loaded: [],
    bootDigest: `boot-${name}`,
    record: record(),
    ...o,
  };
}

const state = (partitions: LivePartition[], orphans: Orphan[] = []): LiveState => ({ partitions, orphans });
const ids = (p: ReturnType<typeof makePlan>) => p.steps.map((s) => s.id);
const after = (p: ReturnType<typeof makePlan>, id: string) => p.steps.find((s) => s.id === id)?.after ?? [];

test('step kinds per action follow SPEC; a stopped target never releases its cores', () => {
  assert.equal(stepsFor('create', 'running'), ['allocate', 'build-fdt', 'load', 'release-cores', 'wait-ready']);
  assert.equal(stepsFor('create', 'stopped'), ['allocate', 'build-fdt', 'load']);
  assert.equal(stepsFor('delete', 'stopped'), ['stop-cores', 'scrub-memory', 'release-resources']);
  assert.equal(stepsFor('replace', 'running'), [
    'stop-cores',
    'scrub-memory',
    'release-resources',
    'allocate',
    'build-fdt',
    'load',
    'release-cores',
    'wait-ready',
  ]);
  assert.equal(stepsFor('restart', 'stopped'), ['stop-cores', 'scrub-memory', 'build-fdt', 'load']);
  assert.equal(stepsFor('start', 'running'), ['scrub-memory', 'build-fdt', 'load', 'release-cores', 'wait-ready']);
  assert.equal(stepsFor('stop', 'stopped'), ['stop-cores']);
  assert.equal(stepsFor('noop', 'running'), []);
});

test('unchanged partitions get no steps; labels-only changes are a noop that says so', () => {
  const p = makePlan([resolved('a', { record: record({ labels: { x: 'y' } }) })], state([live('a')]));
  assert.equal(
    p.changes.map((c) => [c.partition, c.action]),
    [['a', 'noop']],
  );
  assert.equal(p.steps, []);
  assert.ok(p.changes[0]?.reasons.some((r) => r.includes('metadata.labels')));
});

test('dependsOn: a dependant is released after its dependency is ready; teardown stops dependants first', () => {
  const up = makePlan([resolved('app', { dependsOn: ['db'] }), resolved('db')], state([]));
  assert.ok(after(up, 'app/release-cores').includes('db/wait-ready'));
  assert.ok(ids(up).indexOf('db/wait-ready') < ids(up).indexOf('app/release-cores'));
  const down = makePlan(
    [],
    state([
      live('app', { record: record({ dependsOn: ['db'] }) }),
      live('db', { cpus: [2], memory: { base: 0x4900_0000, size: 16 * MiB } }),
    ]),
  );
  assert.ok(after(down, 'db/stop-cores').includes('app/stop-cores'));
});

test('a new placement that takes what a deleted partition frees waits for its release', () => {
  const p = makePlan([resolved('new', {}, { kind: 'new', handover: ['old'] })], state([live('old')]));
  assert.equal(
    p.changes.map((c) => [c.partition, c.action]),
    [
      ['new', 'create'],
      ['old', 'delete'],
    ],
  );
  assert.ok(after(p, 'new/allocate').includes('old/release-resources'));
  assert.ok(ids(p).indexOf('old/release-resources') < ids(p).indexOf('new/allocate'));
});

test('orphans are deleted and every allocation waits for them; an orphan under a desired name is replaced', () => {
  const orphan: Orphan = {
    owner: 'ghost',
    cpus: [3],
    memory: [],
    devices: [],
    detail: 'a QEMU process with no record',
  };
  const p = makePlan([resolved('a', {}, { kind: 'new' })], state([], [orphan]));
  assert.equal(
    p.changes.map((c) => [c.partition, c.action, c.drift]),
    [
      ['a', 'create', false],
      ['ghost', 'delete', true],
    ],
  );
  assert.ok(after(p, 'a/allocate').includes('ghost/release-resources'));
  const same = makePlan([resolved('ghost', {}, { kind: 'new' })], state([], [orphan]));
  assert.equal(
    same.changes.map((c) => [c.partition, c.action]),
    [['ghost', 'replace']],
  );
  assert.equal(ids(same), [
    'ghost/stop-cores',
    'ghost/scrub-memory',
    'ghost/release-resources',
    'ghost/allocate',
    'ghost/build-fdt',
    'ghost/load',
    'ghost/release-cores',
    'ghost/wait-ready',
  ]);
  assert.is(new Set(ids(same)).size, ids(same).length);
});

test('--target limits the plan to those partitions and their dependencies; --replace forces one', () => {
  const desired = [resolved('a', { dependsOn: ['b'] }), resolved('b'), resolved('c')];
  const p = makePlan(desired, state([]), { targets: ['a'] });
  assert.equal(
    p.changes.map((c) => c.partition),
    ['a', 'b'],
  );
  const r = makePlan([resolved('a')], state([live('a')]), { replace: ['a'] });
  assert.equal(
    r.changes.map((c) => [c.partition, c.action]),
    [['a', 'replace']],
  );
});

test("drift: a partition shut down behind vman's back is started; a different boot is restarted", () => {
  const p = makePlan(
    [resolved('a'), resolved('b')],
    state([live('a', { state: 'shutdown' }), live('b', { bootDigest: 'other' })]),
  );
  assert.equal(
    p.changes.map((c) => [c.partition, c.action, c.drift]),
    [
      ['a', 'start', true],
      ['b', 'restart', false],
    ],
  );
});

test.run();
