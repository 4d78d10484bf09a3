// End-to-end: plan, apply, status, destroy, create and delete on the sim monitor, through the built CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, rmSync, renameSync, mkdirSync, appendFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { vman, vmanJson, tempConfig, cleanup, writePartition, arm64Image, ROOT, CLI } from '../helpers/cli.js';

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
interface PlanJson {
  format_version: string;
  changes: { partition: string; action: string; reasons: string[] }[];
  steps: { id: string; partition: string; kind: string; after: string[] }[];
}

const status = (dir: string) => vmanJson<StatusJson>(dir, ['status']).json;
const planOf = (dir: string, args: string[] = []) => vmanJson<PlanJson>(dir, ['plan', ...args]);
const applyOk = (dir: string, args: string[] = []) => {
  const r = vman(dir, ['apply', '--auto-approve', ...args]);
  assert.is(r.code, 0, `apply failed: ${r.stdout}\n${r.stderr}`);
  return r;
};
const actions = (p: PlanJson) => Object.fromEntries(p.changes.map((c) => [c.partition, c.action]));

const planSchema = new Ajv2020({ allErrors: true, strict: true }).compile(
  JSON.parse(readFileSync(join(ROOT, 'schemas/plan.schema.json'), 'utf8')) as object,
);

test('first plan creates; after apply, plan shows No changes (exit 0 with --detailed-exitcode)', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', { cpus: [1] });
    writePartition(dir, 'b', { cpus: 2, memory: '32Mi' });
    const before = vman(dir, ['plan', '--detailed-exitcode']);
    assert.is(before.code, 2);
    assert.match(before.stdout, 'Plan: 2 to create, 0 to replace, 0 to restart, 0 to destroy.');
    const p = planOf(dir);
    assert.ok(planSchema(p.json), JSON.stringify(planSchema.errors));
    assert.equal(actions(p.json), { a: 'create', b: 'create' });
    applyOk(dir);
    const after = vman(dir, ['plan', '--detailed-exitcode']);
    assert.is(after.code, 0, after.stdout + after.stderr);
    assert.match(after.stdout, 'No changes.');
    const s = status(dir);
    assert.equal(
      s.partitions.map((x) => [x.name, x.state, x.drift]),
      [
        ['a', 'running', []],
        ['b', 'running', []],
      ],
    );
    assert.equal(s.partitions[0]?.cpus, [1]);
    assert.equal(s.orphans, []);
  } finally {
    cleanup(dir);
  }
});

test('a bootargs change restarts that partition only and moves nothing', () => {
  const dir = tempConfig();
  try {
    writeFileSync(join(dir, 'Image'), arm64Image());
    writePartition(dir, 'k', { kernel: '../Image', bootargs: 'console=ttyAMA0', memory: '64Mi' });
    writePartition(dir, 'other', { cpus: 2 });
    applyOk(dir);
    const before = status(dir);
    writePartition(dir, 'k', { kernel: '../Image', bootargs: 'console=ttyAMA0 quiet', memory: '64Mi' });
    const p = planOf(dir).json;
    assert.equal(actions(p), { k: 'restart', other: 'noop' });
    assert.ok(p.changes.find((c) => c.partition === 'k')?.reasons.some((r) => r.includes('spec.boot.bootargs')));
    assert.equal(
      p.steps.map((s) => s.kind),
      ['stop-cores', 'scrub-memory', 'build-fdt', 'load', 'release-cores', 'wait-ready'],
    );
    assert.ok(p.steps.every((s) => s.partition === 'k'));
    const human = vman(dir, ['plan']).stdout;
    assert.match(human, '~ partition "k"');
    assert.match(human, 'Plan: 0 to create, 0 to replace, 1 to restart, 0 to destroy.');
    // The restart's change to the partition's device tree, as a unified diff of its DTS.
    assert.match(human, 'Device tree of `k`:');
    assert.match(human, /^ {2}-\s+bootargs = "console=ttyAMA0";$/m);
    assert.match(human, /^ {2}\+\s+bootargs = "console=ttyAMA0 quiet";$/m);
    applyOk(dir);
    const after = status(dir);
    assert.equal(
      after.partitions.map((x) => [x.name, x.cpus, x.memory]),
      before.partitions.map((x) => [x.name, x.cpus, x.memory]),
    );
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
  } finally {
    cleanup(dir);
  }
});

test('a memory change replaces, marked as forcing replacement', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', { memory: '16Mi' });
    writePartition(dir, 'b', { memory: '16Mi' });
    applyOk(dir);
    const bBefore = status(dir).partitions.find((x) => x.name === 'b');
    writePartition(dir, 'a', { memory: '32Mi' });
    const p = planOf(dir).json;
    assert.equal(actions(p), { a: 'replace', b: 'noop' });
    assert.equal(
      p.steps.map((s) => s.kind),
      [
        'stop-cores',
        'scrub-memory',
        'release-resources',
        'allocate',
        'build-fdt',
        'load',
        'release-cores',
        'wait-ready',
      ],
    );
    const human = vman(dir, ['plan']).stdout;
    assert.match(human, '-/+ partition "a"');
    assert.match(human, '# forces replacement');
    applyOk(dir);
    const s = status(dir);
    assert.is(s.partitions.find((x) => x.name === 'a')?.memory.size, 32 * 1024 * 1024);
    assert.equal(
      s.partitions.find((x) => x.name === 'b'),
      bBefore,
    );
  } finally {
    cleanup(dir);
  }
});

test('dependsOn: a dependant is released only after its dependency is ready; teardown reverses', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'app', { dependsOn: ['base'] });
    writePartition(dir, 'base', { dependsOn: ['fw'] });
    writePartition(dir, 'fw', {});
    const p = planOf(dir).json;
    const idx = (id: string) => p.steps.findIndex((s) => s.id === id);
    assert.ok(idx('fw/wait-ready') < idx('base/release-cores'));
    assert.ok(idx('base/wait-ready') < idx('app/release-cores'));
    assert.ok(p.steps.find((s) => s.id === 'app/release-cores')?.after.includes('base/wait-ready'));
    const run = applyOk(dir).stdout;
    assert.ok(run.indexOf('fw: wait-ready done') < run.indexOf('base: release-cores'));
    assert.ok(run.indexOf('base: wait-ready done') < run.indexOf('app: release-cores'));
    const d = vmanJson<PlanJson>(dir, ['destroy', '--auto-approve']).json;
    const di = (id: string) => d.steps.findIndex((s) => s.id === id);
    assert.ok(di('app/stop-cores') < di('base/stop-cores'));
    assert.ok(di('base/stop-cores') < di('fw/stop-cores'));
  } finally {
    cleanup(dir);
  }
});

test('a saved plan runs exactly, and is refused as stale when inputs or live state change', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', {});
    assert.is(vman(dir, ['plan', '--out', 'p1.json']).code, 0);
    assert.match(vman(dir, ['show', 'p1.json']).stdout, 'Plan: 1 to create');
    const show = vmanJson<PlanJson>(dir, ['show', 'p1.json']).json;
    assert.ok(planSchema(show), JSON.stringify(planSchema.errors));
    // An input changed since the plan: stale, nothing applied.
    writePartition(dir, 'a', { bootargs: 'x' });
    let r = vman(dir, ['apply', 'p1.json']);
    assert.is(r.code, 1);
    assert.match(r.stderr, 'Saved plan is stale');
    assert.match(r.stderr, 'partitions.d/a.yaml changed');
    assert.equal(status(dir).partitions, []);
    // A fresh saved plan applies without asking (no terminal, no --auto-approve).
    assert.is(vman(dir, ['plan', '--out', 'p2.json']).code, 0);
    assert.is(vman(dir, ['apply', 'p2.json']).code, 0);
    assert.is(status(dir).partitions.length, 1);
    // Applying it again: the live state changed since it was made.
    r = vman(dir, ['apply', 'p2.json']);
    assert.is(r.code, 1);
    assert.match(r.stderr, 'Saved plan is stale: the live state of the monitor changed');
    // JSON errors carry the message.
    const j = vmanJson<{ error: { message: string } }>(dir, ['apply', 'p2.json']);
    assert.is(j.code, 1);
    assert.match(j.json.error.message, 'Saved plan is stale');
    // Not a plan at all.
    writeFileSync(join(dir, 'junk.json'), '{"x":1}');
    assert.match(vman(dir, ['apply', 'junk.json']).stderr, 'is not a saved vman plan');
  } finally {
    cleanup(dir);
  }
});

test('apply without a terminal refuses unless --auto-approve; nothing changes', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', {});
    const r = vman(dir, ['apply']);
    assert.is(r.code, 1);
    assert.match(r.stderr, '--auto-approve');
    assert.equal(status(dir).partitions, []);
  } finally {
    cleanup(dir);
  }
});

test('destroy NAME, create -f (paths made absolute), delete (one document only)', () => {
  const dir = tempConfig();
  try {
    writeFileSync(
      join(dir, 'partitions.d', 'two.yaml'),
      `${readFileSync(join(ROOT, 'test/fixtures/e2e/two-docs.yaml'), 'utf8')}`,
    );
    applyOk(dir);
    assert.equal(
      status(dir).partitions.map((p) => p.name),
      ['first', 'second'],
    );
    // destroy one: the other stays; the plan then wants it back.
    assert.is(vman(dir, ['destroy', 'first', '--auto-approve']).code, 0);
    assert.equal(
      status(dir).partitions.map((p) => p.name),
      ['second'],
    );
    assert.equal(actions(planOf(dir).json), { first: 'create', second: 'noop' });
    applyOk(dir);
    // delete removes only its document from the two-document file, then destroys it.
    assert.is(vman(dir, ['delete', 'first', '--auto-approve']).code, 0);
    const left = readFileSync(join(dir, 'partitions.d', 'two.yaml'), 'utf8');
    assert.not.match(left, 'name: first');
    assert.match(left, 'name: second');
    assert.equal(
      status(dir).partitions.map((p) => p.name),
      ['second'],
    );
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
    // create -f from another directory: relative image path rewritten as absolute.
    mkdirSync(join(dir, 'incoming'));
    writeFileSync(
      join(dir, 'incoming', 'new.yaml'),
      'apiVersion: vman.dev/v1alpha1\nkind: Partition\nmetadata:\n  name: fresh\n' +
        'spec:\n  cpus: 1\n  memory: 16Mi\n  boot:\n    image: ../img.bin\n',
    );
    const c = vman(dir, ['create', '-f', 'incoming/new.yaml', '--auto-approve']);
    assert.is(c.code, 0, c.stderr);
    assert.match(readFileSync(join(dir, 'partitions.d', 'fresh.yaml'), 'utf8'), `image: ${join(dir, 'img.bin')}`);
    assert.equal(
      status(dir).partitions.map((p) => p.name),
      ['fresh', 'second'],
    );
    // create of a name already declared is refused and writes nothing.
    const again = vman(dir, ['create', '-f', 'incoming/new.yaml', '--auto-approve']);
    assert.is(again.code, 1);
    assert.match(again.stderr, 'already declared');
    // delete of an unknown name.
    assert.match(vman(dir, ['delete', 'nope', '--auto-approve']).stderr, 'no partition is called `nope`');
  } finally {
    cleanup(dir);
  }
});

test("drift is detected and corrected: a partition shut down or removed behind vman's back", () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', {});
    writePartition(dir, 'b', {});
    applyOk(dir);
    const file = join(dir, '.vman', 'sim', 'monitor.json');
    const sim = JSON.parse(readFileSync(file, 'utf8')) as { partitions: Record<string, { power: string }> };
    (sim.partitions.a as { power: string }).power = 'shutdown';
    delete sim.partitions.b;
    writeFileSync(`${file}.new`, JSON.stringify(sim));
    renameSync(`${file}.new`, file);
    const s = status(dir);
    assert.equal(
      s.partitions.map((p) => [p.name, p.state]),
      [['a', 'shutdown']],
    );
    assert.ok((s.partitions[0]?.drift ?? []).some((d) => d.startsWith('start')));
    const p = planOf(dir).json;
    assert.equal(actions(p), { a: 'start', b: 'create' });
    assert.match(vman(dir, ['plan']).stdout, '(drift)');
    applyOk(dir);
    assert.equal(
      status(dir).partitions.map((x) => [x.name, x.state]),
      [
        ['a', 'running'],
        ['b', 'running'],
      ],
    );
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
  } finally {
    cleanup(dir);
  }
});

test('a failed step (an image deleted while apply runs) rolls back only its partition', async () => {
  const dir = tempConfig();
  try {
    // a-slow loads a large image first (the sim re-hashes it at load), giving time to delete z-bad's.
    // --parallelism 1 keeps the plan's order, so z-bad's load comes after the deletion
    // (test/engine/parallel.test.ts rolls back a partition while independent ones carry on).
    const big = join(dir, 'big.bin');
    const chunk = new Uint8Array(16 * 1024 * 1024);
    for (let i = 0; i < chunk.length; i += 4096) chunk[i] = i & 0xff;
    for (let i = 0; i < 24; i++) appendFileSync(big, chunk);
    writeFileSync(join(dir, 'other.bin'), new Uint8Array(8192).fill(7));
    writePartition(dir, 'a-slow', { image: '../big.bin', memory: '512Mi' });
    writePartition(dir, 'z-bad', { image: '../other.bin' });
    const child = spawn(process.execPath, [CLI, 'apply', '--auto-approve', '--parallelism', '1'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    let deleted = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!deleted && out.includes('a-slow: load')) {
        deleted = true;
        rmSync(join(dir, 'other.bin'));
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)));
    assert.ok(deleted, out);
    assert.is(code, 1, out + err);
    assert.match(err, 'step z-bad/load failed for partition `z-bad`');
    assert.match(err, 'no longer exists');
    assert.match(out, 'z-bad: rolled back');
    const s = status(dir);
    assert.equal(
      s.partitions.map((p) => [p.name, p.state]),
      [['a-slow', 'running']],
    );
    assert.equal(s.orphans, []);
  } finally {
    cleanup(dir);
  }
});

test('one writer: a second writer with --lock-timeout 0s fails with `locked by PID`', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', {});
    mkdirSync(join(dir, '.vman'), { mode: 0o700 });
    // A lock held by this (live) test process.
    writeFileSync(
      join(dir, '.vman', 'lock'),
      JSON.stringify({
        pid: process.pid,
        pidStart: readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19],
        host: hostname(),
        operation: 'apply',
        since: '2026-01-01T00:00:00.000Z',
      }),
    );
    const r = vman(dir, ['apply', '--auto-approve', '--lock-timeout', '0s']);
    assert.is(r.code, 1);
    assert.match(r.stderr, `locked by PID ${process.pid} (apply, since 2026-01-01T00:00:00.000Z)`);
    // plan and status never take the lock.
    assert.is(vman(dir, ['plan']).code, 0);
    assert.is(vman(dir, ['status']).code, 0);
    // A lock of a dead process is taken over, saying so.
    writeFileSync(
      join(dir, '.vman', 'lock'),
      JSON.stringify({
        pid: 999999,
        pidStart: '1',
        host: hostname(),
        operation: 'apply',
        since: '2026-01-01T00:00:00.000Z',
      }),
    );
    const t = vman(dir, ['apply', '--auto-approve', '--lock-timeout', '0s']);
    assert.is(t.code, 0, t.stderr);
    assert.match(t.stderr, 'took over the lock of PID 999999');
  } finally {
    cleanup(dir);
  }
});

test.run();
