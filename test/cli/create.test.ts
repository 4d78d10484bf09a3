// `vman create -f FILE` (issue #21, item 7): the manifest is planned before it is written, from the
// file given, so a problem points into that file (which exists), a placement that leaves no room for a
// partition already declared is blamed on the new manifest, and nothing is written on refusal. Only a
// successful run says `Added partitions.d/NAME.yaml`, at its end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanup,
  partitionYaml,
  tempConfig,
  vman,
  vmanJson,
  writePartition,
  type PartitionOpts,
} from '../helpers/cli.js';
import { checkGolden } from '../helpers/golden.js';
import { cliGolden, normalise } from '../helpers/transcript.js';

const manifests = (dir: string) => readdirSync(join(dir, 'partitions.d')).sort();

// A manifest outside partitions.d/, in DIR/incoming/ (its image path relative to it, as users write them).
function incoming(dir: string, name: string, o: PartitionOpts): string {
  mkdirSync(join(dir, 'incoming'), { recursive: true });
  const file = join('incoming', `${name}.yaml`);
  writeFileSync(join(dir, file), `# ${name}: added with vman create\n${partitionYaml(name, o)}`);
  return file;
}

test('a conflict with a live partition points into the file given; nothing is written', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'rtos0', { cpus: [1] });
    writePartition(dir, 'hello', { devices: ['virtio0'] });
    assert.is(vman(dir, ['apply', '--auto-approve']).code, 0);
    const file = incoming(dir, 'extra', { cpus: [1], devices: ['virtio0'] });
    const r = vman(dir, ['create', '-f', file, '--auto-approve']);
    assert.is(r.code, 1);
    assert.is(r.stdout, '');
    checkGolden(cliGolden('create-conflict.stderr'), normalise(r.stderr, dir), 'create-conflict.stderr');
    assert.equal(manifests(dir), ['hello.yaml', 'rtos0.yaml']);
    const j = vmanJson<{ error: { file: string; line: number } }>(dir, ['create', '-f', file, '--auto-approve']);
    assert.equal([j.json.error.file, j.json.error.line], ['incoming/extra.yaml', 7]);
  } finally {
    cleanup(dir);
  }
});

test('a manifest that fits only by leaving no room for a declared partition is blamed, not the other', () => {
  const dir = tempConfig();
  try {
    // Declared, not live yet: rtos0 on core 1, hello on any 2 cores.
    writePartition(dir, 'rtos0', { cpus: [1] });
    writePartition(dir, 'hello', { cpus: 2 });
    // `big` sorts first and takes the 6 other cores: alone it fits; with it, `hello` cannot be placed.
    const file = incoming(dir, 'big', { cpus: 6 });
    const r = vman(dir, ['create', '-f', file, '--auto-approve']);
    assert.is(r.code, 1);
    checkGolden(cliGolden('create-leaves-no-room.stderr'), normalise(r.stderr, dir), 'create-leaves-no-room.stderr');
    assert.match(r.stderr, /^incoming\/big\.yaml:7:9: adding `big` leaves no room for `hello`/);
    assert.not.match(r.stderr, /^partitions\.d\/hello\.yaml:\d+:\d+: cannot place/m);
    assert.equal(manifests(dir), ['hello.yaml', 'rtos0.yaml']);
    // The configuration is as it was: the plan still creates both.
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 2);
    // Smaller, it fits beside them.
    const ok = vman(dir, ['create', '-f', incoming(dir, 'big', { cpus: 4 }), '--auto-approve']);
    assert.is(ok.code, 0, ok.stderr);
    assert.equal(manifests(dir), ['big.yaml', 'hello.yaml', 'rtos0.yaml']);
  } finally {
    cleanup(dir);
  }
});

test('declined (no terminal, no --auto-approve): nothing is written; accepted: `Added` comes last', () => {
  const dir = tempConfig();
  try {
    const file = incoming(dir, 'extra', {});
    const no = vman(dir, ['create', '-f', file]);
    assert.is(no.code, 1);
    assert.match(no.stderr, '--auto-approve');
    assert.not.match(no.stdout, 'Added');
    assert.not.ok(existsSync(join(dir, 'partitions.d', 'extra.yaml')));
    const yes = vman(dir, ['create', '-f', file, '--auto-approve']);
    assert.is(yes.code, 0, yes.stderr);
    const last = yes.stdout.trimEnd().split('\n').pop() ?? '';
    assert.match(last, /^Added partitions\.d\/extra\.yaml\. Apply complete! 1 created/);
    assert.not.match(yes.stdout, 'Wrote');
    assert.equal(manifests(dir), ['extra.yaml']);
  } finally {
    cleanup(dir);
  }
});

test.run();
