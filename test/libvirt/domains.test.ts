// Partitions as libvirt domains: states, UUIDs and the lifecycle events between two looks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nameUuid } from '../../src/libvirt/domain-xml/uuid.js';
import * as P from '../../src/libvirt/procedures.js';
import { domainsOf, lifecycleEvents, snapshotOf, type Snapshot } from '../../src/libvirt/domains.js';
import type { PowerState } from '../../src/backends/types.js';
import type { PartitionSpec } from '../../src/manifest/types.js';

function spec(name: string): PartitionSpec {
  return {
    name,
    labels: {},
    state: 'running',
    cpus: { count: 2 },
    memory: { size: 64 * 2 ** 20 },
    devices: [],
    boot: { kind: 'image', image: '/x.bin', overlays: [], sha256: {} },
    dependsOn: [],
    readiness: { timeoutMs: 1000 },
    source: {
      file: 'x.yaml',
      absFile: '/x.yaml',
      doc: 0,
      position: { file: 'x.yaml', line: 1, column: 1 },
      fields: {},
    },
  } as PartitionSpec;
}

const livePart = (name: string, state: PowerState) => ({
  name,
  state,
  cpus: [1, 2, 3],
  memory: { base: 0x48000000, size: 32 * 2 ** 20 },
  devices: [],
  loaded: [],
});

test("a partition's UUID: metadata.uid when its manifest keeps one, else the name-based one", () => {
  const kept = { ...spec('a'), uid: '0d9f4a3e-5b1c-4b8e-9c2d-1e2f3a4b5c6d' };
  const ds = domainsOf([kept, spec('b')], { partitions: [], orphans: [] });
  assert.equal(
    ds.map((d) => d.uuid),
    [kept.uid, nameUuid('b')],
  );
});

test('declared and live partitions are domains; live facts win; states and reasons as libvirt names them', () => {
  const ds = domainsOf([spec('a'), spec('b')], {
    partitions: [livePart('b', 'running'), livePart('c', 'crashed')],
    orphans: [],
  });
  assert.equal(
    ds.map((d) => [d.name, d.state, d.reason, d.active, d.cpus, d.memoryBytes, d.spec !== undefined]),
    [
      ['a', P.VIR_DOMAIN_SHUTOFF, 0, false, 2, 64 * 2 ** 20, true],
      ['b', P.VIR_DOMAIN_RUNNING, 1, true, 3, 32 * 2 ** 20, true],
      ['c', P.VIR_DOMAIN_CRASHED, 1, false, 3, 32 * 2 ** 20, false],
    ],
  );
});

test('lifecycle events: defined, started, stopped (shutdown, destroyed, crashed), suspended, resumed, gone', () => {
  const snap = (declared: boolean, power: PowerState | undefined, definition = 'd1'): Snapshot => ({
    declared,
    power,
    definition: declared ? definition : undefined,
    state: 0,
  });
  const at = (entries: [string, Snapshot][]) => new Map(entries);
  const ev = (name: string, event: number, detail: number) => ({ name, event, detail });
  assert.equal(lifecycleEvents(at([]), at([['a', snap(true, undefined)]])), [
    ev('a', P.VIR_DOMAIN_EVENT_DEFINED, P.VIR_DOMAIN_EVENT_DEFINED_ADDED),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'stopped')]]), at([['a', snap(true, 'running')]])), [
    ev('a', P.VIR_DOMAIN_EVENT_STARTED, P.VIR_DOMAIN_EVENT_STARTED_BOOTED),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'shutdown')]])), [
    ev('a', P.VIR_DOMAIN_EVENT_STOPPED, P.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'stopped')]])), [
    ev('a', P.VIR_DOMAIN_EVENT_STOPPED, P.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'crashed')]])), [
    ev('a', P.VIR_DOMAIN_EVENT_CRASHED, P.VIR_DOMAIN_EVENT_CRASHED_PANICKED),
    ev('a', P.VIR_DOMAIN_EVENT_STOPPED, P.VIR_DOMAIN_EVENT_STOPPED_CRASHED),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'paused')]])), [
    ev('a', P.VIR_DOMAIN_EVENT_SUSPENDED, P.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'paused')]]), at([['a', snap(true, 'running')]])), [
    ev('a', P.VIR_DOMAIN_EVENT_RESUMED, P.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'stopped', 'd1')]]), at([['a', snap(true, 'stopped', 'd2')]])), [
    ev('a', P.VIR_DOMAIN_EVENT_DEFINED, P.VIR_DOMAIN_EVENT_DEFINED_UPDATED),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([])), [
    ev('a', P.VIR_DOMAIN_EVENT_STOPPED, P.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
    ev('a', P.VIR_DOMAIN_EVENT_UNDEFINED, P.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'running')]])), []);
  const d = domainsOf([spec('a')], { partitions: [], orphans: [] })[0];
  assert.ok(d && snapshotOf(d, 'x').declared);
});

test.run();
