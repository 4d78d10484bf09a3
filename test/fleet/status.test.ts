// The fleet agent's pure parts: a Partition as the manifest the engine reads, and the status it
// reports (observedGeneration, Ready/Progressing/Degraded with reasons, transition times kept while a
// condition holds). The agent against a real API server is test/fleet/agent.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { desiredOf, manifestOf, nodeMismatch, specChanged } from '../../src/fleet/resource.js';
import {
  diagnosticLine,
  inSync,
  partitionStatus,
  statusKey,
  type LiveFacts,
  type StatusInput,
  type Verdict,
} from '../../src/fleet/status.js';

const T1 = '2030-01-01T00:00:00.000Z';
const T2 = '2030-01-01T00:01:00.000Z';

const object = (generation: number, spec: Record<string, unknown>) => ({
  metadata: { name: 'p1', namespace: 'vman-dev1', uid: 'u1', generation, labels: { 'vman.dev/node': 'dev1' } },
  spec,
});

const running: LiveFacts = {
  state: 'running',
  cpus: [2],
  memory: { base: 0x48000000, size: 0x1000000 },
  devices: [],
  drift: [],
};

/** A running partition's status at generation 1 for `verdict`, at T1, with `over` changed. */
const statusOf = (verdict: Verdict, over: Partial<StatusInput> = {}) =>
  partitionStatus({ generation: 1, desiredState: 'running', live: running, verdict, restarts: 0, now: T1, ...over });

test('a Partition becomes its manifest: nodeName dropped, relative paths resolved, labels kept', () => {
  const p = desiredOf(
    object(3, {
      nodeName: 'dev1',
      cpus: 1,
      memory: '16Mi',
      boot: { image: 'rtos.bin', overlays: ['a.dtbo', '/b.dtbo'] },
    }),
  );
  const m = manifestOf(p, (v) => (v.startsWith('/') ? v : `/images/${v}`));
  assert.equal(m, {
    apiVersion: 'vman.dev/v1alpha1',
    kind: 'Partition',
    metadata: { name: 'p1', labels: { 'vman.dev/node': 'dev1' } },
    spec: { cpus: 1, memory: '16Mi', boot: { image: '/images/rtos.bin', overlays: ['/images/a.dtbo', '/b.dtbo'] } },
  });
  assert.is(nodeMismatch(p, 'dev1'), undefined);
  assert.match(nodeMismatch(p, 'dev2') ?? '', /spec.nodeName is `dev1` but the label vman.dev\/node is `dev2`/);
});

test('only a new generation, uid or labels is a change the engine must see; a status patch is not', () => {
  const a = desiredOf(object(1, { nodeName: 'dev1' }));
  const withStatus = desiredOf({ ...object(1, { nodeName: 'dev1' }), status: { observedGeneration: 1 } });
  assert.is(specChanged(a, withStatus), false);
  assert.is(specChanged(a, desiredOf(object(2, { nodeName: 'dev1' }))), true);
  assert.is(specChanged(undefined, a), true);
});

test('converged: Ready True (Running), Progressing False, Degraded False, observedGeneration the spec’s', () => {
  const s = statusOf({ kind: 'converged' }, { generation: 4 });
  assert.is(s.observedGeneration, 4);
  assert.is(s.state, 'running');
  assert.equal(
    s.conditions.map((c) => [c.type, c.status, c.reason, c.observedGeneration]),
    [
      ['Ready', 'True', 'Running', 4],
      ['Progressing', 'False', 'Converged', 4],
      ['Degraded', 'False', 'AsExpected', 4],
    ],
  );
});

test('an invalid spec is Degraded with the diagnostic; another partition’s problem blocks without observing', () => {
  const line = diagnosticLine({
    code: 'VMAN-E0401',
    message: 'core 2 is already held by p1',
    position: { file: 'x.yaml', line: 9, column: 10, path: ['spec', 'cpus', 0] },
    hint: 'pick another core',
  });
  assert.is(line, 'spec.cpus.0: core 2 is already held by p1; pick another core [VMAN-E0401]');
  const bad = statusOf({ kind: 'invalid', reason: 'InvalidSpec', message: line }, { generation: 2, live: undefined });
  const degraded = bad.conditions.find((c) => c.type === 'Degraded');
  assert.equal([degraded?.status, degraded?.reason, degraded?.message], ['True', 'InvalidSpec', line]);
  assert.is(bad.state, 'absent');
  const previous = { ...bad, observedGeneration: 1 };
  const blocked = statusOf(
    { kind: 'blocked', message: 'nothing is applied on dev1 until this is fixed: partition p2 invalid' },
    { generation: 2, previous, now: T2 },
  );
  assert.is(blocked.observedGeneration, 1, 'a blocked reconcile did not act on generation 2');
  assert.is(blocked.conditions.find((c) => c.type === 'Progressing')?.reason, 'Blocked');
});

test('a condition keeps its lastTransitionTime while its status holds; statusKey ignores times', () => {
  const first = statusOf({ kind: 'converged' });
  const again = statusOf({ kind: 'converged' }, { previous: { ...first }, now: T2 });
  assert.ok(again.conditions.every((c) => c.lastTransitionTime === T1));
  assert.is(statusKey(first), statusKey(again));
  const crash = statusOf(
    { kind: 'ended', reason: 'CrashLoop', message: 'p1 crashed; restart 1 in 10s' },
    { live: { ...running, state: 'crashed', drift: ['start: crashed'] }, previous: { ...first }, now: T2 },
  );
  const ready = crash.conditions.find((c) => c.type === 'Ready');
  assert.equal([ready?.status, ready?.reason, ready?.lastTransitionTime], ['False', 'CrashLoop', T2]);
});

test('inSync: no drift and the declared power state', () => {
  assert.ok(inSync(running, 'running'));
  assert.not.ok(inSync(running, 'stopped'));
  assert.not.ok(inSync({ ...running, drift: null }, 'running'));
  assert.not.ok(inSync(undefined, 'running'));
});

test.run();
