// `--backend qemu` on qemu-virt-riscv64: Debian trixie's riscv64 kernel and busybox initramfs in two
// partitions, one dependsOn the other, entered by OpenSBI fw_dynamic on a hart other than 0 with
// vman's own device tree; one partition high in RAM, the other where vman places it. Then a guest
// that powers off (SBI system reset), and destroy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { bootargs, bootPair, destroyAll, type LinuxCase } from './linux.js';
import {
  hwidsOf,
  manifest,
  requireTools,
  QemuConfig,
  readyTimes,
  running,
  until,
  type BoardJson,
  type StatusJson,
} from './support.js';

const MiB = 1024 * 1024;
const p = requireTools('qemu/riscv64-linux', {
  payloads: ['riscv64-kernel', 'riscv64-initrd', 'opensbi-fw-dynamic'],
  tools: ['qemu-system-riscv64'],
});
const cfg = p ? new QemuConfig('qemu-virt-riscv64') : undefined;

if (p && cfg) {
  const HIGH = 0xc000_0000;
  const c = {
    board: 'qemu-virt-riscv64',
    uname: 'riscv64',
    kernel: p.get('riscv64-kernel')!,
    initrd: p.get('riscv64-initrd')!,
    timeout: '60s',
    console: 'ttyS0',
    first: { cpus: '[3, 4]', memory: `{size: 256Mi, base: 0x${HIGH.toString(16)}}` },
  } as const satisfies LinuxCase;

  /** The kernel's image_size (boot-image-header.rst: offset 16): vman puts the DTB slot at the next 2 MiB after it. */
  const imageSize = Number(readFileSync(c.kernel).subarray(0, 64).readBigUInt64LE(16));
  const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
  /** A value as OpenSBI's banner prints an address: 0x and 16 hex digits. */
  const addr = (n: number) => `0x${n.toString(16).padStart(16, '0')}`;

  test(
    'two partitions boot Linux on their own harts (not hart 0), memory (one at 0xc0000000) and tree; ' +
      'the dependency is ready before the dependant runs',
    async () => {
      const times = await bootPair(cfg, c);
      console.log(`  riscv64 release → VMAN-READY: first ${times.get('first')}s, second ${times.get('second')}s`);
      const st = cfg.status();
      const board = cfg.json<BoardJson>(['board']).json;
      const first = st.partitions.find((x) => x.name === 'first');
      const second = st.partitions.find((x) => x.name === 'second');
      assert.equal(first?.cpus, [3, 4]);
      assert.equal(first?.memory, { base: HIGH, size: 256 * MiB });
      assert.ok(second && second.cpus.length === 2 && !second.cpus.includes(0), JSON.stringify(second));
      for (const part of [first, second] as StatusJson['partitions']) {
        // OpenSBI's banner: what the partition's firmware was given (src/backends/qemu/machine.ts).
        const text = cfg.console(part.name);
        const hw = hwidsOf(board, part.cpus).map(Number);
        const banner = (key: string) => new RegExp(`^${key}\\s*: (.*?)\\r?$`, 'm').exec(text)?.[1];
        assert.is(banner('Boot HART ID'), String(hw[0]), `${part.name}: OpenSBI booted on the partition's boot hart`);
        assert.is(banner('Domain0 HARTs'), hw.map((h) => `${h}*`).join(','), `${part.name}: only its harts`);
        assert.is(banner('Domain0 Next Address'), addr(part.memory.base), `${part.name}: kernel at the base`);
        assert.is(
          banner('Domain0 Next Arg1'),
          addr(part.memory.base + alignUp(imageSize, 2 * MiB)),
          `${part.name}: a1 = the DTB slot after image_size`,
        );
        assert.is(banner('Domain0 Next Mode'), 'S-mode');
      }
    },
  );

  test(
    'a Linux guest that powers off (SBI system reset) ends its QEMU: `shutdown`; ' +
      'the next plan starts it again; the other partition is untouched',
    async () => {
      const firstPid = cfg.qemuPids().get('first');
      const args = bootargs(c);
      const secondSpec = (after: string) =>
        `cpus: 2\nmemory: 256Mi\nboot:\n  kernel: ${c.kernel}\n  initrd: ${c.initrd}\n` +
        `  bootargs: "${args.second.replace('vman.after=idle', `vman.after=${after}`)}"\n` +
        `readiness:\n  console: "^VMAN-READY"\n  timeout: ${c.timeout}\ndependsOn: [first]\n`;
      cfg.write('second', manifest('second', secondSpec('poweroff')));
      assert.equal(
        cfg.plan().changes.map((x) => [x.partition, x.action]),
        [
          ['first', 'noop'],
          ['second', 'restart'],
        ],
      );
      cfg.apply();
      const pid = cfg.qemuPids().get('second');
      assert.ok(pid !== undefined);
      await until('second to power off', () => (running(pid) ? undefined : true), 20_000, 100);
      assert.equal(
        cfg.status().partitions.map((x) => [x.name, x.state]),
        [
          ['first', 'running'],
          ['second', 'shutdown'],
        ],
      );
      const again = cfg.plan();
      assert.equal(
        again.changes.map((x) => [x.partition, x.action, x.reasons]),
        [
          ['first', 'noop', []],
          ['second', 'start', ['the partition is shutdown, but should be running']],
        ],
      );
      // Back to idle: the partition boots again and stays up.
      cfg.write('second', manifest('second', secondSpec('idle')));
      assert.equal(
        cfg.plan().changes.map((x) => [x.partition, x.action, x.reasons]),
        [
          ['first', 'noop', []],
          ['second', 'restart', ['spec.boot.bootargs changed']],
        ],
      );
      const r = cfg.apply();
      assert.ok(readyTimes(r.stdout).has('second'), r.stdout);
      assert.is(cfg.qemuPids().get('first'), firstPid, 'first kept its QEMU');
      assert.equal(
        cfg.status().partitions.map((x) => [x.name, x.state]),
        [
          ['first', 'running'],
          ['second', 'running'],
        ],
      );
    },
  );

  test('destroy ends every QEMU process', () => {
    destroyAll(cfg);
  });

  test.after(() => cfg.dispose());
}

test.run();
