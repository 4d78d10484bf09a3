// Partitions as libvirt domains: states, UUIDs and the lifecycle events between two looks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nameUuid } from '../../src/libvirt/domain-xml/uuid.js';
import {
  DOMAIN_STATE,
  EVENT,
  EVENT_DETAIL,
  domainsOf,
  lifecycleEvents,
  snapshotOf,
  type Snapshot,
} from '../../src/libvirt/domains.js';
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
      ['a', DOMAIN_STATE.shutoff, 0, false, 2, 64 * 2 ** 20, true],
      ['b', DOMAIN_STATE.running, 1, true, 3, 32 * 2 ** 20, true],
      ['c', DOMAIN_STATE.crashed, 1, false, 3, 32 * 2 ** 20, false],
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
    ev('a', EVENT.defined, EVENT_DETAIL.definedAdded),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'stopped')]]), at([['a', snap(true, 'running')]])), [
    ev('a', EVENT.started, EVENT_DETAIL.startedBooted),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'shutdown')]])), [
    ev('a', EVENT.stopped, EVENT_DETAIL.stoppedShutdown),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'stopped')]])), [
    ev('a', EVENT.stopped, EVENT_DETAIL.stoppedDestroyed),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'crashed')]])), [
    ev('a', EVENT.crashed, EVENT_DETAIL.crashedPanicked),
    ev('a', EVENT.stopped, EVENT_DETAIL.stoppedCrashed),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'paused')]])), [
    ev('a', EVENT.suspended, EVENT_DETAIL.suspendedPaused),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'paused')]]), at([['a', snap(true, 'running')]])), [
    ev('a', EVENT.resumed, EVENT_DETAIL.resumedUnpaused),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'stopped', 'd1')]]), at([['a', snap(true, 'stopped', 'd2')]])), [
    ev('a', EVENT.defined, EVENT_DETAIL.definedUpdated),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([])), [
    ev('a', EVENT.stopped, EVENT_DETAIL.stoppedDestroyed),
    ev('a', EVENT.undefined, EVENT_DETAIL.undefinedRemoved),
  ]);
  assert.equal(lifecycleEvents(at([['a', snap(true, 'running')]]), at([['a', snap(true, 'running')]])), []);
  const d = domainsOf([spec('a')], { partitions: [], orphans: [] })[0];
  assert.ok(d && snapshotOf(d, 'x').declared);
});

test.run();
