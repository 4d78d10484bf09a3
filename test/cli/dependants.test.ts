// Taking away a partition that others depend on (issue #21, item 4), through the built CLI:
// `delete` refuses (naming each dependsOn by file and line, changing nothing) unless --cascade, which
// deletes the dependants too, dependants first; `destroy` says the manifest still declares what it
// destroys, warns about live dependants that keep running, and with --cascade destroys them too; any
// plan that stops or destroys a depended-on partition warns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, partitionYaml, tempConfig, vman, vmanJson, writePartition } from '../helpers/cli.js';
import { checkGolden } from '../helpers/golden.js';
import { cliGolden, normalise } from '../helpers/transcript.js';

interface PlanJson {
  changes: { partition: string; action: string; reasons: string[] }[];
  steps: { id: string }[];
  warnings: { partition: string; action: string; dependants: string[]; message: string }[];
}
interface StatusJson {
  partitions: { name: string; state: string }[];
}

const live = (dir: string) => vmanJson<StatusJson>(dir, ['status']).json.partitions.map((p) => `${p.name} ${p.state}`);

// What partitions.d/ holds: each file's name and text.
const files = (dir: string) =>
  Object.fromEntries(
    readdirSync(join(dir, 'partitions.d'))
      .sort()
      .map((f) => [f, readFileSync(join(dir, 'partitions.d', f), 'utf8')]),
  );

// rtos0; hello depends on it (in a file with `other`, which does not); x depends on hello.
function demo(): string {
  const dir = tempConfig();
  writePartition(dir, 'rtos0', { cpus: [1] });
  writeFileSync(
    join(dir, 'partitions.d', 'apps.yaml'),
    `${partitionYaml('hello', { dependsOn: ['rtos0'] })}---\n${partitionYaml('other')}`,
  );
  writePartition(dir, 'x', { dependsOn: ['hello'] });
  const r = vman(dir, ['apply', '--auto-approve']);
  assert.is(r.code, 0, r.stderr);
  return dir;
}

test('delete NAME refuses while manifests depend on it, naming file, line and the fix; nothing changes', () => {
  const dir = demo();
  try {
    const before = files(dir);
    const r = vman(dir, ['delete', 'rtos0', '--auto-approve']);
    assert.is(r.code, 1);
    assert.is(r.stdout, '');
    checkGolden(cliGolden('delete-refused'), normalise(r.stderr, dir), 'delete-refused');
    assert.equal(files(dir), before);
    assert.equal(live(dir), ['hello running', 'other running', 'rtos0 running', 'x running']);
    const j = vmanJson<{ error: { message: string; file: string; line: number } }>(dir, ['delete', 'rtos0']);
    assert.is(j.code, 1);
    assert.is(j.json.error.file, 'partitions.d/apps.yaml');
    assert.is(j.json.error.line, 10);
    assert.match(j.json.error.message, 'partitions.d/apps.yaml:10: `hello` dependsOn `rtos0`');
    // The last in a chain has no dependants: deleted as before.
    assert.is(vman(dir, ['delete', 'x', '--auto-approve']).code, 0);
    assert.equal(live(dir), ['hello running', 'other running', 'rtos0 running']);
  } finally {
    cleanup(dir);
  }
});

test('delete NAME --cascade deletes the dependants too (their documents only), dependants first', () => {
  const dir = demo();
  try {
    const r = vman(dir, ['delete', 'rtos0', '--cascade', '--auto-approve']);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, '');
    const mine = r.stdout.split('\n').filter((l) => l.startsWith('The document') || l.startsWith('Deleted'));
    checkGolden(cliGolden('delete-cascade'), `${mine.join('\n')}\n`, 'delete-cascade');
    // apps.yaml keeps `other`; hello's, x's and rtos0's documents are gone.
    assert.equal(Object.keys(files(dir)), ['apps.yaml']);
    assert.match(files(dir)['apps.yaml'] ?? '', 'name: other');
    assert.not.match(files(dir)['apps.yaml'] ?? '', 'name: hello');
    assert.equal(live(dir), ['other running']);
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0);
  } finally {
    cleanup(dir);
  }
  const again = demo();
  try {
    const j = vmanJson<PlanJson & { removed: string; cascade: { partition: string; removed: string }[] }>(again, [
      'delete',
      'rtos0',
      '--cascade',
      '--auto-approve',
    ]).json;
    assert.is(j.removed, 'partitions.d/rtos0.yaml');
    assert.equal(j.cascade, [
      { partition: 'x', removed: 'partitions.d/x.yaml' },
      { partition: 'hello', removed: 'partitions.d/apps.yaml' },
    ]);
    const at = (id: string) => j.steps.findIndex((s) => s.id === id);
    assert.ok(at('x/stop-cores') < at('hello/stop-cores') && at('hello/stop-cores') < at('rtos0/stop-cores'));
    assert.equal(j.changes.find((c) => c.partition === 'x')?.reasons, [
      'depends on `hello`, which depends on `rtos0`, which is deleted (--cascade)',
    ]);
  } finally {
    cleanup(again);
  }
});

test('destroy NAME: the manifest still declares it; live dependants keep running, with a warning', () => {
  const dir = demo();
  try {
    const r = vman(dir, ['destroy', 'rtos0', '--auto-approve']);
    assert.is(r.code, 0, r.stderr);
    checkGolden(
      cliGolden('destroy-with-dependants.stderr'),
      normalise(r.stderr, dir),
      'destroy-with-dependants.stderr',
    );
    assert.match(
      r.stdout,
      '#   destroy requested\n  #   partitions.d/rtos0.yaml still declares it: `vman apply` creates it again',
    );
    assert.not.match(r.stdout, 'no manifest declares it');
    assert.equal(live(dir), ['hello running', 'other running', 'x running']);
    assert.equal(vmanJson<PlanJson>(dir, ['plan']).json.changes.find((c) => c.partition === 'rtos0')?.action, 'create');
    assert.is(vman(dir, ['apply', '--auto-approve']).code, 0);
    const j = vmanJson<PlanJson>(dir, ['destroy', 'rtos0', '--auto-approve']).json;
    assert.equal(j.warnings, [
      {
        partition: 'rtos0',
        action: 'delete',
        dependants: ['hello'],
        message: '`hello` depends on `rtos0`, which this destroys; `hello` keeps running without it',
      },
    ]);
  } finally {
    cleanup(dir);
  }
});

test('destroy NAME --cascade destroys the live dependants too, dependants first; manifests stay', () => {
  const dir = demo();
  try {
    const before = files(dir);
    const j = vmanJson<PlanJson>(dir, ['destroy', 'rtos0', '--cascade', '--auto-approve']);
    assert.is(j.code, 0, j.stderr);
    assert.is(j.stderr, '');
    assert.equal(j.json.warnings, []);
    const at = (id: string) => j.json.steps.findIndex((s) => s.id === id);
    assert.ok(at('x/stop-cores') < at('hello/stop-cores') && at('hello/stop-cores') < at('rtos0/stop-cores'));
    assert.equal(j.json.changes.find((c) => c.partition === 'hello')?.reasons, [
      'depends on `rtos0`, which is destroyed (--cascade)',
      'partitions.d/apps.yaml still declares it: `vman apply` creates it again',
    ]);
    assert.equal(live(dir), ['other running']);
    assert.equal(files(dir), before);
  } finally {
    cleanup(dir);
  }
});

test('a plan that stops a partition others depend on warns (plan and apply), naming them', () => {
  const dir = demo();
  try {
    writePartition(dir, 'rtos0', { cpus: [1], state: 'stopped' });
    const p = vman(dir, ['plan']);
    assert.is(p.code, 0, p.stderr);
    checkGolden(cliGolden('plan-stops-dependency.stderr'), normalise(p.stderr, dir), 'plan-stops-dependency.stderr');
    assert.equal(vmanJson<PlanJson>(dir, ['plan']).json.warnings[0]?.dependants, ['hello']);
    const a = vman(dir, ['apply', '--auto-approve']);
    assert.is(a.code, 0, a.stderr);
    assert.is(a.stderr, p.stderr);
    assert.equal(live(dir), ['hello running', 'other running', 'rtos0 stopped', 'x running']);
  } finally {
    cleanup(dir);
  }
});

test.run();
