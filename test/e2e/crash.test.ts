// Crash safety: a multi-partition apply that creates, replaces, restarts and destroys is killed
// (SIGKILL via VMAN_CRASH_AT) at every crash point in turn; each time the next apply converges,
// with nothing orphaned, nothing overlapping, and the same end state as an uninterrupted run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { vman, vmanJson, tempConfig, cleanup, writePartition, arm64Image } from '../helpers/cli.js';

interface StatusJson {
  partitions: {
    name: string;
    state: string;
    cpus: number[];
    memory: { base: number; size: number };
    devices: string[];
    drift: string[] | null;
  }[];
  orphans: unknown[];
}

function v1(dir: string): void {
  writeFileSync(join(dir, 'Image'), arm64Image());
  writePartition(dir, 'keep', { cpus: [1] });
  writePartition(dir, 'grow', { memory: '16Mi' });
  writePartition(dir, 'boot', {
    kernel: '../Image',
    bootargs: 'console=ttyAMA0',
    memory: '64Mi',
    devices: ['virtio0'],
  });
  writePartition(dir, 'gone', { devices: ['virtio1'] });
}

function v2(dir: string): void {
  writePartition(dir, 'grow', { memory: '48Mi' }); // replace
  writePartition(dir, 'boot', {
    kernel: '../Image',
    bootargs: 'console=ttyAMA0 quiet',
    memory: '64Mi',
    devices: ['virtio0'],
  }); // restart
  rmSync(join(dir, 'partitions.d', 'gone.yaml')); // delete
  writePartition(dir, 'fresh', { devices: ['virtio1'], dependsOn: ['boot'] }); // create, takes gone's device
}

const overlap = (a: { base: number; size: number }, b: { base: number; size: number }) =>
  a.base < b.base + b.size && b.base < a.base + a.size;

function checkIsolated(s: StatusJson): void {
  const parts = s.partitions;
  for (let i = 0; i < parts.length; i++) {
    for (let j = i + 1; j < parts.length; j++) {
      const a = parts[i];
      const b = parts[j];
      if (!a || !b) continue;
      assert.not.ok(overlap(a.memory, b.memory), `${a.name} and ${b.name} share memory`);
      assert.not.ok(
        a.cpus.some((c) => b.cpus.includes(c)),
        `${a.name} and ${b.name} share a core`,
      );
      assert.not.ok(
        a.devices.some((d) => b.devices.includes(d)),
        `${a.name} and ${b.name} share a device`,
      );
    }
  }
}

const endState = (s: StatusJson) =>
  s.partitions.map((p) => ({ name: p.name, state: p.state, cpus: p.cpus, memory: p.memory, devices: p.devices }));

for (const parallelism of ['1', '10'])
  test(
    'kill -9 at every crash point of an apply that creates, replaces, restarts and destroys ' +
      `(--parallelism ${parallelism}); the next apply converges`,
    () => crashEverywhere(parallelism),
  );

function crashEverywhere(parallelism: string): void {
  const base = tempConfig();
  try {
    v1(base);
    assert.is(vman(base, ['apply', '--auto-approve']).code, 0);
    v2(base);
    // The reference: the same apply, uninterrupted.
    const ref = tempConfig();
    cpSync(base, ref, { recursive: true });
    const planned = vmanJson<{ changes: { action: string }[] }>(ref, ['plan']);
    assert.is(planned.code, 0, `reference plan failed: ${JSON.stringify(planned.json)} ${planned.stderr}`);
    const plan = planned.json;
    assert.equal(plan.changes.map((c) => c.action).sort(), ['create', 'delete', 'noop', 'replace', 'restart']);
    assert.is(vman(ref, ['apply', '--auto-approve']).code, 0);
    const refStatus = vmanJson<StatusJson>(ref, ['status']);
    assert.is(refStatus.code, 0, `reference status failed: ${JSON.stringify(refStatus.json)} ${refStatus.stderr}`);
    const want = endState(refStatus.json);
    cleanup(ref);

    let points = 0;
    for (let n = 1; n < 500; n++) {
      const dir = tempConfig();
      try {
        cpSync(base, dir, { recursive: true });
        const crashed = vman(dir, ['apply', '--auto-approve', '--parallelism', parallelism], {
          VMAN_CRASH_AT: String(n),
          // Partitions boot for a while, so that the concurrent apply really has steps in flight together.
          VMAN_SIM_BOOT_MS: '30',
        });
        if (crashed.code === 0) break; // past the last crash point: the run finished
        assert.is(crashed.code, -1, `crash point ${n}: expected SIGKILL, got exit ${crashed.code}: ${crashed.stderr}`);
        points++;
        const mid = vmanJson<StatusJson>(dir, ['status']);
        assert.is(mid.code, 0);
        checkIsolated(mid.json);
        const rec = vman(dir, ['apply', '--auto-approve']);
        assert.is(rec.code, 0, `recovery after crash point ${n} failed: ${rec.stdout}\n${rec.stderr}`);
        const done = vmanJson<StatusJson>(dir, ['status']).json;
        assert.equal(done.orphans, [], `orphans after crash point ${n}: ${JSON.stringify(done)}`);
        checkIsolated(done);
        assert.equal(endState(done), want, `end state after crash point ${n}`);
        assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0, `plan not clean after crash point ${n}`);
        assert.not.ok(existsSync(join(dir, '.vman', 'journal.jsonl')), 'the journal was not retired');
      } finally {
        cleanup(dir);
      }
    }
    console.log(`  --parallelism ${parallelism}: crash points tried: ${points}`);
    assert.ok(points >= 40, `only ${points} crash points`);
  } finally {
    cleanup(base);
  }
}

test('a recovering apply says what was interrupted', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', {});
    writePartition(dir, 'b', {});
    const crashed = vman(dir, ['apply', '--auto-approve'], { VMAN_CRASH_AT: '4' });
    assert.is(crashed.code, -1);
    const rec = vman(dir, ['apply', '--auto-approve']);
    assert.is(rec.code, 0, rec.stderr);
    assert.match(rec.stderr, /Recovering: the previous apply \(PID \d+, started .*\) was interrupted/);
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
  } finally {
    cleanup(dir);
  }
});

test.run();
