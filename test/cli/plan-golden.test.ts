// How plans read (`vman plan`, `apply`'s review, `show`): golden files under test/golden/cli/, since
// the text is the product. Create, replace, restart, stop and destroy blocks quote strings alike and
// print sizes and field paths alike; a start or restart that corrects drift never prints an empty
// block; the summary lines are the README's; `--target` ends with the warning that the plan is partial.
// `vman stop` (a manifest edit and its reconcile) prints the same plan.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arm64Image, cleanup, ROOT, tempConfig, vman, writePartition } from '../helpers/cli.js';
import { checkGolden } from '../helpers/golden.js';

const GOLDEN = join(ROOT, 'test', 'golden', 'cli');

/** The config dir's path, which differs at each run, as `$CONFIG`. */
const portable = (dir: string, text: string) => text.split(dir).join('$CONFIG');

// Three partitions: a Linux-style kernel with bootargs, a raw image, one that depends on the first.
function config(): string {
  const dir = tempConfig();
  writeFileSync(join(dir, 'Image'), arm64Image());
  writePartition(dir, 'linux', { kernel: '../Image', bootargs: 'console=ttyAMA0 earlycon', cpus: 2, memory: '64Mi' });
  writePartition(dir, 'rtos', { cpus: [1], memory: '16Mi' });
  writePartition(dir, 'extra', { cpus: 1, memory: '16Mi', dependsOn: ['linux'] });
  return dir;
}

function run(dir: string, args: readonly string[], code = 0): string {
  const r = vman(dir, args);
  assert.is(r.code, code, `vman ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return portable(dir, r.stdout);
}

// The sim monitor's own record of a partition, edited behind vman's back (drift).
function tamper(dir: string, name: string, edit: (p: Record<string, unknown>) => void): void {
  const file = join(dir, '.vman', 'sim', 'monitor.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as { partitions: Record<string, Record<string, unknown>> };
  const p = m.partitions[name];
  if (!p) throw new Error(`no ${name} in ${file}`);
  edit(p);
  writeFileSync(file, JSON.stringify(m));
}

const emptyBlock = /\{\n\s*\}/;

test('create: every field of each new partition, strings quoted, sizes in MiB', () => {
  const dir = config();
  try {
    const out = run(dir, ['plan', '--detailed-exitcode'], 2);
    checkGolden(join(GOLDEN, 'plan-create.txt'), out, 'plan (create)');
    assert.match(out, /^Plan: 3 to create, 0 to replace, 0 to restart, 0 to destroy\.$/m);
  } finally {
    cleanup(dir);
  }
});

test('update: replace, restart, stop and destroy quote strings and name fields as create does', () => {
  const dir = config();
  try {
    run(dir, ['apply', '--auto-approve']);
    // linux: more cores and memory (replace) and other bootargs; rtos: stopped; extra: removed.
    writePartition(dir, 'linux', { kernel: '../Image', bootargs: 'console=ttyAMA0 quiet', cpus: 3, memory: '128Mi' });
    writePartition(dir, 'rtos', { cpus: [1], memory: '16Mi', state: 'stopped' });
    rmSync(join(dir, 'partitions.d', 'extra.yaml'));
    const out = run(dir, ['plan']);
    checkGolden(join(GOLDEN, 'plan-update.txt'), out, 'plan (replace, stop, destroy)');
    assert.match(out, '~ boot.bootargs = "console=ttyAMA0 earlycon" -> "console=ttyAMA0 quiet"');
    assert.match(out, '~ memory        = 64 MiB -> 128 MiB # forces replacement');
    assert.match(
      out,
      /^Plan: 0 to create, 1 to replace, 0 to restart, 1 to destroy\.\nPower: 0 to start, 1 to stop\.$/m,
    );
    assert.not.match(out, emptyBlock);

    // A bootargs change alone restarts: the same quoting.
    run(dir, ['apply', '--auto-approve']);
    writePartition(dir, 'linux', { kernel: '../Image', bootargs: 'console=ttyAMA0', cpus: 3, memory: '128Mi' });
    const restart = run(dir, ['plan']);
    checkGolden(join(GOLDEN, 'plan-restart.txt'), restart, 'plan (restart)');
    assert.match(restart, '~ boot.bootargs = "console=ttyAMA0 quiet" -> "console=ttyAMA0"');
  } finally {
    cleanup(dir);
  }
});

test("drift: a partition stopped behind vman's back shows its state; a reload needs no empty block", () => {
  const dir = config();
  try {
    run(dir, ['apply', '--auto-approve']);
    tamper(dir, 'rtos', (p) => void (p.power = 'stopped'));
    tamper(dir, 'extra', (p) => void (p.bootDigest = '0'.repeat(64)));
    const out = run(dir, ['plan']);
    checkGolden(join(GOLDEN, 'plan-drift.txt'), out, 'plan (drift)');
    assert.match(out, '~ state = stopped -> running');
    assert.match(out, /^ {2}~ partition "extra"$/m);
    assert.not.match(out, emptyBlock);
  } finally {
    cleanup(dir);
  }
});

test('--target: the plan ends with the warning that it is partial (on stderr with --json); so does show', () => {
  const dir = config();
  try {
    const out = run(dir, ['plan', '--target', 'extra', '--out', 'extra.plan']);
    checkGolden(join(GOLDEN, 'plan-target.txt'), out, 'plan --target');
    assert.match(out, /^Warning: this plan is partial \(--target extra\)\.$/m);
    const shown = run(dir, ['show', 'extra.plan']).replace(/made \S+ for/, 'made DATE for');
    checkGolden(join(GOLDEN, 'show-target.txt'), shown, 'show (a plan made with --target)');
    const j = vman(dir, ['plan', '--target', 'extra', '--json']);
    assert.is(j.code, 0);
    assert.ok(JSON.parse(j.stdout), 'stdout is the JSON document alone');
    assert.match(j.stderr, /^Warning: this plan is partial \(--target extra\)\./);
    // Applying a partial plan says afterwards that other changes may be pending.
    const a = run(dir, ['apply', '--auto-approve', '--target', 'rtos']);
    assert.match(a, /Warning: this plan is partial \(--target rtos\)\./);
    assert.match(
      a,
      /Apply complete! 1 created, 0 replaced, 0 restarted, 0 destroyed\.\n\nWarning: applied with --target rtos/,
    );
    // Without --target, no warning.
    assert.not.match(run(dir, ['plan']), 'Warning');
  } finally {
    cleanup(dir);
  }
});

test('vman stop: the edit, the plan, the steps and the summary', () => {
  const dir = config();
  try {
    run(dir, ['apply', '--auto-approve']);
    const out = run(dir, ['stop', 'rtos', '--auto-approve']).replace(/ \d+\.\d+s$/gm, ' N.NNs');
    checkGolden(join(GOLDEN, 'stop.txt'), out, 'vman stop');
    assert.not.match(out, emptyBlock);
  } finally {
    cleanup(dir);
  }
});

test('no changes: the one summary line', () => {
  const dir = config();
  try {
    run(dir, ['apply', '--auto-approve']);
    const out = run(dir, ['plan']);
    checkGolden(join(GOLDEN, 'plan-no-changes.txt'), out, 'plan (no changes)');
    assert.is(out, 'No changes. Live partitions match the manifests.\n');
  } finally {
    cleanup(dir);
  }
});

test.run();
