// `vman board` with partitions live (issue #21, item 5): what a live partition holds is "held by NAME",
// never free or assignable; reservations name their owner; the read-only commands (board, validate)
// show another board without refusing; `--json` keeps SPEC's keys and adds who holds what.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanup, tempConfig, vman, vmanJson, writePartition } from '../helpers/cli.js';
import { checkGolden } from '../helpers/golden.js';
import { cliGolden, normalise } from '../helpers/transcript.js';

interface BoardJson {
  name: string;
  arch: string;
  heldKnown: boolean;
  cpus: { id: number; hwid: number; reservedBy: string | null; heldBy: string | null }[];
  memory: { base: number; size: number; held: { partition: string; base: number; size: number }[] }[];
  reserved: { owner: string; cpus: number[]; memory: { base: number; size: number }[]; devices: string[] }[];
  devices: { name: string; compatible: string[]; assignable: boolean; heldBy: string | null }[];
}

const MiB = 1024 * 1024;

test('board: cores, memory and devices held by live partitions say by whom', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'rtos0', { cpus: [1], memory: '16Mi' });
    writePartition(dir, 'hello', { cpus: 2, memory: '128Mi', devices: ['virtio0'], dependsOn: ['rtos0'] });
    const before = vman(dir, ['board']);
    assert.is(before.code, 0, before.stderr);
    assert.not.match(before.stdout, 'held by');
    const applied = vman(dir, ['apply', '--auto-approve']);
    assert.is(applied.code, 0, applied.stderr);
    const r = vman(dir, ['board']);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, '');
    checkGolden(cliGolden('board-with-live-partitions'), normalise(r.stdout, dir), 'board-with-live-partitions');

    const { json } = vmanJson<BoardJson>(dir, ['board']);
    // SPEC's keys, unchanged.
    assert.is(json.name, 'qemu-virt-aarch64');
    assert.is(json.arch, 'aarch64');
    assert.equal(json.reserved[0]?.owner, 'management');
    assert.equal(
      json.memory.map((m) => [m.base, m.size]),
      [[0x40000000, 4096 * MiB]],
    );
    assert.ok(json.cpus.every((c, i) => c.id === i && typeof c.hwid === 'number'));
    assert.ok(json.devices.every((d) => typeof d.name === 'string' && Array.isArray(d.compatible)));
    // Added: who holds what.
    assert.is(json.heldKnown, true);
    assert.equal(
      json.cpus.map((c) => c.heldBy),
      [null, 'rtos0', 'hello', 'hello', null, null, null, null],
    );
    assert.equal(json.memory[0]?.held, [
      { partition: 'rtos0', base: 0x48000000, size: 16 * MiB },
      { partition: 'hello', base: 0x49000000, size: 128 * MiB },
    ]);
    assert.is(json.devices.find((d) => d.name === 'virtio0')?.heldBy, 'hello');
    assert.is(json.devices.find((d) => d.name === 'virtio1')?.heldBy, null);
  } finally {
    cleanup(dir);
  }
});

test('board and validate show another board while partitions are live; writers and plan still refuse', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', { cpus: [1] });
    assert.is(vman(dir, ['apply', '--auto-approve']).code, 0);
    const other = vman(dir, ['board', '--board', 'qemu-virt-riscv64']);
    assert.is(other.code, 0, other.stderr);
    const head = other.stdout.split('\n').slice(0, 6).join('\n');
    checkGolden(cliGolden('board-other-board'), `${head}\n`, 'board-other-board');
    const j = vmanJson<BoardJson>(dir, ['board', '--board', 'qemu-virt-riscv64']).json;
    assert.is(j.heldKnown, false);
    assert.ok(j.cpus.every((c) => c.heldBy === null));
    const v = vman(dir, ['validate', '--board', 'qemu-virt-riscv64']);
    assert.is(v.code, 0, v.stderr);
    assert.match(v.stdout, 'Valid: 1 partition on board qemu-virt-riscv64.');
    const p = vman(dir, ['plan', '--board', 'qemu-virt-riscv64']);
    assert.is(p.code, 1);
    assert.match(p.stderr, 'partitions are live on board `qemu-virt-aarch64`');
  } finally {
    cleanup(dir);
  }
});

test.run();
