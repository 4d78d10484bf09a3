// PlanOptions.holdEnded, the restart policy's say in a plan: a partition whose OS ended by itself
// (crashed, shutdown) and should run is asked about, with the manifest's policy; a reason makes its
// start a noop that says why, and nothing else waits for it. Without the option it is started.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makePlan, type EndedPartition, type Resolved } from '../../src/plan/plan.js';
import type { LivePartition, PowerState } from '../../src/backends/types.js';
import type { AppliedRecord, Target } from '../../src/plan/types.js';
import type { RestartPolicy } from '../../src/manifest/types.js';

const MiB = 1024 * 1024;

function record(restartPolicy?: RestartPolicy, dependsOn: string[] = []): AppliedRecord {
  return {
    cpus: 1,
    memory: { size: 16 * MiB },
    devices: [],
    state: 'running',
    boot: { image: '/i', 'image.sha256': 'aa' },
    labels: {},
    dependsOn,
    readiness: { timeoutMs: 1000 },
    ...(restartPolicy ? { restartPolicy } : {}),
  };
}

function resolved(name: string, core: number, rec: AppliedRecord, bootDigest = `boot-${name}`): Resolved {
  const base = 0x4800_0000 + core * 16 * MiB;
  const target: Target = {
    name,
    state: 'running',
    cpus: [core],
    memory: { base, size: 16 * MiB },
    devices: [],
    bootCpu: core,
    entry: base,
    dtbAddr: base + 0xe0_0000,
    dtb: new Uint8Array(),
    dtbSize: 100,
    dtbSha256: 'd',
    loads: [],
    bootDigest,
    readiness: { timeoutMs: 1000 },
    dependsOn: rec.dependsOn,
    record: rec,
  };
  return { target, placement: { name, kind: 'kept', handover: [] } };
}

function live(name: string, core: number, state: PowerState, rec: AppliedRecord): LivePartition {
  const base = 0x4800_0000 + core * 16 * MiB;
  return {
    name,
    state,
    cpus: [core],
    memory: { base, size: 16 * MiB },
    devices: [],
    loaded: [],
    bootDigest: `boot-${name}`,
    record: rec,
  };
}

test('asked about crashed and shutdown partitions only, with the manifest’s policy; a reason holds the start', () => {
  const asked: EndedPartition[] = [];
  const hold = (p: EndedPartition) => {
    asked.push(p);
    return p.name === 'held' ? `\`held\` crashed; restartPolicy ${p.policy} leaves it so` : undefined;
  };
  const states: [string, PowerState][] = [
    ['held', 'crashed'],
    ['off', 'shutdown'],
    ['paused', 'paused'],
    ['up', 'running'],
  ];
  // The record says Never, the manifest OnFailure: the manifest's counts (a change takes effect at the next end).
  const desired = states.map(([n], i) => resolved(n, i + 1, record(n === 'held' ? 'OnFailure' : undefined)));
  const lives = states.map(([n, s], i) => live(n, i + 1, s, record('Never')));
  const plan = makePlan(desired, { partitions: lives, orphans: [] }, { holdEnded: hold });
  assert.equal(asked, [
    { name: 'held', ended: 'crashed', policy: 'OnFailure' },
    { name: 'off', ended: 'shutdown', policy: 'Never' },
  ]);
  assert.equal(
    plan.changes.map((c) => [c.partition, c.action, c.reasons]),
    [
      ['held', 'noop', ['`held` crashed; restartPolicy OnFailure leaves it so']],
      ['off', 'start', ['the partition is shutdown, but should be running']],
      ['paused', 'start', ['the partition is paused, but should be running']],
      ['up', 'noop', []],
    ],
  );
  assert.ok(!plan.steps.some((s) => s.partition === 'held'));
  assert.equal(Object.keys(plan.targets).sort(), ['off', 'paused']);
  // Without the option (`vman plan`, `vman apply`): started.
  const plain = makePlan(desired, { partitions: lives, orphans: [] });
  assert.equal(plain.changes[0]?.action, 'start');
});

test('a held partition is no step for its dependants to wait for; a changed boot is a restart, never held', () => {
  const hold = () => 'held';
  const desired = [resolved('dep', 1, record('Always')), resolved('app', 2, record('Always', ['dep']))];
  const lives = [live('dep', 1, 'crashed', record('Always')), live('app', 2, 'shutdown', record('Always', ['dep']))];
  const both = makePlan(desired, { partitions: lives, orphans: [] });
  assert.ok(both.steps.find((s) => s.id === 'app/release-cores')?.after.includes('dep/wait-ready'));
  // dep is held, app is started: app's release waits for nothing of dep's.
  const onlyApp = makePlan(
    desired,
    { partitions: lives, orphans: [] },
    { holdEnded: (p) => (p.name === 'dep' ? 'held' : undefined) },
  );
  assert.equal(
    onlyApp.changes.map((c) => c.action),
    ['start', 'noop'],
  );
  assert.equal(onlyApp.steps.find((s) => s.id === 'app/release-cores')?.after, ['app/load']);
  // New boot inputs: a restart (the manifest changed), whatever the policy says.
  const edited = makePlan(
    [resolved('dep', 1, record('Never'), 'boot-new')],
    { partitions: [lives[0]!], orphans: [] },
    { holdEnded: hold },
  );
  assert.equal(
    edited.changes.map((c) => c.action),
    ['restart'],
  );
});

test.run();
