// deploy/: what a fleet operator applies, checked against a real API server (test/fleet/env.ts):
// the Partition CRD generated from schemas/partition.schema.json (scripts/gen-crd.mjs), its schema
// at work, and the least privilege of deploy/device.yaml — a device reads its partitions and writes
// their status and its own Lease, in its own namespace, and nothing else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { skip } from '../helpers/skip.js';
import { type Fleet, fleetAvailable, ROOT, startFleet } from './env.js';

// deploy/partition.example.yaml is for the device edge1.
const A = 'edge1';
const B = 'edge2';
const EXAMPLE = readFileSync(join(ROOT, 'deploy', 'partition.example.yaml'), 'utf8');

let shared: Promise<Fleet> | undefined;

// The fleet the tests share (started by the first that needs it), or undefined after skip().
async function fleet(what: string): Promise<Fleet | undefined> {
  const why = fleetAvailable();
  if (why) {
    skip(`${what}: ${why}`);
    return undefined;
  }
  shared ??= startFleet([A, B]);
  return shared;
}

test.after(async () => {
  if (shared) await (await shared).close();
});

// A Partition for DEVICE in its namespace, with SPEC merged over a valid one.
function partition(device: string, name: string, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'vman.dev/v1alpha1',
    kind: 'Partition',
    metadata: { name, namespace: `vman-${device}`, labels: { 'vman.dev/node': device } },
    spec: { nodeName: device, cpus: 1, memory: '64Mi', boot: { image: '/var/lib/vman/images/rtos.elf' }, ...spec },
  });
}

// Asserts that kubectl was refused by RBAC (403), naming the user.
function assertForbidden(r: { code: number; stderr: string }, device: string): void {
  assert.is.not(r.code, 0, 'kubectl succeeded');
  assert.match(r.stderr, 'Error from server (Forbidden)');
  assert.match(r.stderr, `User "vman-device:${device}"`);
}

function assertOk(r: { code: number; stdout: string; stderr: string }): void {
  assert.is(r.code, 0, r.stderr);
}

const STATUS = JSON.stringify({
  status: {
    observedGeneration: 1,
    state: 'running',
    cpus: [1],
    memory: { base: 0x48000000, size: 64 * 1024 * 1024 },
    restarts: 0,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Running',
        message: 'running',
        lastTransitionTime: '2024-01-01T00:00:00Z',
        observedGeneration: 1,
      },
    ],
  },
});

function lease(device: string, namespace: string, seconds: number): string {
  return JSON.stringify({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: device, namespace },
    spec: { holderIdentity: device, leaseDurationSeconds: seconds },
  });
}

test('deploy/crd.yaml is what scripts/gen-crd.mjs generates from schemas/partition.schema.json', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'gen-crd.mjs'), '--stdout'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.ok(
    r.stdout === readFileSync(join(ROOT, 'deploy', 'crd.yaml'), 'utf8'),
    'deploy/crd.yaml is out of date; run: npm run gen-crd',
  );
});

test('the API server takes the CRD (Established) and deploy/partition.example.yaml', async () => {
  const f = await fleet('CRD on a real API server');
  if (!f) return;
  const established = await f.kubectl([
    'get',
    'crd',
    'partitions.vman.dev',
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Established")].status}',
  ]);
  assertOk(established);
  assert.is(established.stdout, 'True');
  assertOk(await f.kubectl(['apply', '-f', '-'], { input: EXAMPLE }));
  const got = await f.kubectl(['get', 'partition', 'rtos0', '-n', f.namespace(A), '-o', 'json']);
  assertOk(got);
  const p = JSON.parse(got.stdout) as { metadata: { labels: Record<string, string> }; spec: unknown };
  assert.equal(p.spec, {
    nodeName: A,
    state: 'running',
    cpus: 1,
    memory: '64Mi',
    boot: { image: '/var/lib/vman/images/rtos.elf' },
    restartPolicy: 'OnFailure',
  });
  assert.is(p.metadata.labels['vman.dev/node'], A);
  // Both forms of cpus and memory, and every union's integer form.
  const forms = partition(A, 'forms', { cpus: [2, 3], memory: { size: 0x4000000, base: '0x48000000' } });
  assertOk(await f.kubectl(['create', '-f', '-'], { input: forms }));
});

test('the schema refuses an invalid Partition with 422, naming the field', async () => {
  const f = await fleet('CRD schema on a real API server');
  if (!f) return;
  const cases: [string, string, string][] = [
    ['cpus is a string', partition(A, 'bad-cpus', { cpus: 'two' }), 'spec.cpus'],
    ['cpus out of range', partition(A, 'bad-count', { cpus: 0 }), 'spec.cpus'],
    ['boot missing', partition(A, 'bad-boot', { boot: undefined }), 'spec.boot: Required value'],
    ['memory 256MB', partition(A, 'bad-memory', { memory: '256MB' }), 'spec.memory'],
    ['nodeName missing', partition(A, 'bad-node', { nodeName: undefined }), 'spec.nodeName: Required value'],
    ['state unknown', partition(A, 'bad-state', { state: 'paused' }), 'spec.state: Unsupported value'],
    ['devices twice', partition(A, 'bad-devices', { devices: ['uart1', 'uart1'] }), 'spec.devices[1]: Duplicate'],
  ];
  for (const [what, input, field] of cases) {
    // --validate=false: past kubectl's own check (it reads the schema too), so the API server answers.
    const r = await f.kubectl(['create', '--validate=false', '-v=6', '-f', '-'], { input });
    assert.is.not(r.code, 0, `${what}: accepted`);
    assert.match(r.stderr, / 422 Unprocessable Entity /, `${what}: ${r.stderr}`);
    assert.ok(r.stderr.includes(field), `${what}: no ${field} in: ${r.stderr}`);
  }
});

test('a device reads its partitions and patches their status, and nothing of another device', async () => {
  const f = await fleet('device RBAC on a real API server');
  if (!f) return;
  assertOk(await f.kubectl(['apply', '-f', '-'], { input: partition(A, 'a0') }));
  assertOk(await f.kubectl(['apply', '-f', '-'], { input: partition(B, 'b0') }));
  // Its own namespace is its kubeconfig's: get, list by label, watch.
  assertOk(await f.kubectl(['get', 'partition', 'a0'], { as: A }));
  const list = await f.kubectl(['get', 'partitions', '-l', `vman.dev/node=${A}`, '-o', 'name'], { as: A });
  assertOk(list);
  assert.match(list.stdout, 'partition.vman.dev/a0');
  const watch = await f.kubectl(['get', 'partitions', '--watch', '--request-timeout=2s', '-o', 'name'], { as: A });
  assert.match(watch.stdout, 'partition.vman.dev/a0', watch.stderr);
  assert.not.match(watch.stderr, 'Forbidden');
  // Status through the subresource; the spec stays the operator's.
  const status = await f.kubectl(['patch', 'partition', 'a0', '--subresource=status', '--type=merge', '-p', STATUS], {
    as: A,
  });
  assertOk(status);
  const ready = await f.kubectl(['get', 'partition', 'a0', '-n', f.namespace(A), '-o', 'jsonpath={.status.state}']);
  assert.is(ready.stdout, 'running');
  assertForbidden(
    await f.kubectl(['patch', 'partition', 'a0', '--type=merge', '-p', '{"spec":{"cpus":2}}'], { as: A }),
    A,
  );
  assertForbidden(await f.kubectl(['replace', '-f', '-'], { as: A, input: partition(A, 'a0', { cpus: 2 }) }), A);
  assertForbidden(await f.kubectl(['delete', 'partition', 'a0'], { as: A }), A);
  assertForbidden(await f.kubectl(['create', '-f', '-'], { as: A, input: partition(A, 'a1') }), A);
  // Another device's namespace, and the whole cluster.
  const other = ['-n', f.namespace(B)];
  assertForbidden(await f.kubectl(['get', 'partition', 'b0', ...other], { as: A }), A);
  assertForbidden(await f.kubectl(['get', 'partition', 'b0', '--subresource=status', ...other], { as: A }), A);
  assertForbidden(
    await f.kubectl(['patch', 'partition', 'b0', '--subresource=status', '--type=merge', '-p', STATUS, ...other], {
      as: A,
    }),
    A,
  );
  assertForbidden(await f.kubectl(['get', 'partitions', '--all-namespaces'], { as: A }), A);
  assertForbidden(await f.kubectl(['get', 'namespaces'], { as: A }), A);
  assertForbidden(await f.kubectl(['get', 'secrets'], { as: A }), A);
});

test('a device keeps its own Lease, and no other', async () => {
  const f = await fleet('device Lease RBAC on a real API server');
  if (!f) return;
  const own = f.namespace(A);
  assertOk(await f.kubectl(['create', '-f', '-'], { as: A, input: lease(A, own, 40) }));
  assertOk(await f.kubectl(['replace', '-f', '-'], { as: A, input: lease(A, own, 41) }));
  const renew = '{"spec":{"renewTime":"2024-01-01T00:00:00.000000Z"}}';
  assertOk(await f.kubectl(['patch', 'lease', A, '--type=merge', '-p', renew], { as: A }));
  const got = await f.kubectl(['get', 'lease', A, '-o', 'jsonpath={.spec.leaseDurationSeconds}'], { as: A });
  assert.is(got.stdout, '41');
  // B's Lease, in B's namespace or (created by the admin) in A's: neither read nor written.
  assertForbidden(await f.kubectl(['create', '-f', '-'], { as: A, input: lease(B, f.namespace(B), 40) }), A);
  assertOk(await f.kubectl(['create', '-f', '-'], { input: lease(B, own, 40) }));
  assertForbidden(await f.kubectl(['get', 'lease', B], { as: A }), A);
  assertForbidden(await f.kubectl(['replace', '-f', '-'], { as: A, input: lease(B, own, 41) }), A);
  assertForbidden(await f.kubectl(['patch', 'lease', B, '--type=merge', '-p', renew], { as: A }), A);
  assertForbidden(await f.kubectl(['delete', 'lease', A], { as: A }), A);
});

test('the API server goes away and comes back with the same port, certificate, tokens and data', async () => {
  const f = await fleet('API server restart');
  if (!f) return;
  assertOk(await f.kubectl(['apply', '-f', '-'], { input: partition(A, 'survivor') }));
  await f.stopApiServer();
  const down = await f.kubectl(['get', 'partitions', '--request-timeout=2s'], { as: A });
  assert.is.not(down.code, 0);
  await f.startApiServer();
  const up = await f.kubectl(['get', 'partition', 'survivor', '-o', 'name'], { as: A });
  assertOk(up);
  assert.is(up.stdout.trim(), 'partition.vman.dev/survivor');
});

test.run();
