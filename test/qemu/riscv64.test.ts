// `--backend qemu` on qemu-virt-riscv64: OpenSBI fw_dynamic, then vman's bare-metal probe (an ELF
// image) or Debian's S-mode U-Boot. Also: `vman console --follow`, a guest that powers off (QEMU
// exits 0), a readiness timeout that rolls its partition back, and an orphaned QEMU process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { QmpClient } from '../../src/backends/qemu/qmp.js';
import {
  hwidsOf,
  manifest,
  requireTools,
  probeFacts,
  QemuConfig,
  qemuProcessesUnder,
  readyTimes,
  running,
  until,
  type BoardJson,
} from './support.js';

const MiB = 1024 * 1024;
const p = requireTools('qemu/riscv64', {
  payloads: ['riscv64-probe-elf', 'uboot-riscv64-smode', 'opensbi-fw-dynamic'],
  tools: ['qemu-system-riscv64'],
});
const cfg = p ? new QemuConfig('qemu-virt-riscv64') : undefined;

if (p && cfg) {
  const probe = (bootargs: string) =>
    manifest(
      'rv0',
      `cpus: 2\nmemory: 64Mi\nboot:\n  image: ${p.get('riscv64-probe-elf')}\n` +
        `  bootargs: "${bootargs}"\nreadiness:\n  console: "^VMAN-READY"\n  timeout: 20s\n`,
    );
  const uboot = (readiness: string, timeout: string, bootargs = 'unused') =>
    manifest(
      'uboot',
      `cpus: [3, 4]\nmemory: 64Mi\nboot:\n  image: ${p.get('uboot-riscv64-smode')}\n` +
        `  bootargs: "${bootargs}"\nreadiness:\n  console: "${readiness}"\n  timeout: ${timeout}\n`,
    );
  let follower: Promise<{ code: number; out: string }> | undefined;

  test(
    "OpenSBI enters the probe on the boot hart; the probe reads vman's tree and " +
      'starts the second hart through SBI HSM',
    async () => {
      cfg.write('rv0', probe('vman.after=idle'));
      const r = cfg.apply();
      console.log(`  riscv64 release → VMAN-READY (probe): ${readyTimes(r.stdout).get('rv0')}s`);
      const st = cfg.status();
      const rv0 = st.partitions.find((x) => x.name === 'rv0');
      assert.ok(rv0 && rv0.state === 'running', JSON.stringify(st));
      const hw = hwidsOf(cfg.json<BoardJson>(['board']).json, rv0.cpus);
      const text = cfg.console('rv0');
      assert.match(text, new RegExp(`Boot HART ID\\s+: ${Number(hw[0])}\\r?$`, 'm'));
      const f = probeFacts(text);
      assert.is(f.get('arch'), 'riscv64');
      assert.is(f.get('boot_hart'), hw[0]);
      assert.is(
        f.get('dtb'),
        `0x${(rv0.memory.base + rv0.memory.size - 2 * MiB).toString(16)}`,
        'a1 = the DTB in the top 2 MiB slot',
      );
      assert.is(f.get('model'), 'vman partition rv0 (qemu-virt-riscv64)');
      assert.is(
        f.get(`dt_memory.memory@${rv0.memory.base.toString(16)}`),
        `0x${rv0.memory.base.toString(16)}+0x${rv0.memory.size.toString(16)}`,
      );
      assert.is(f.get('dt_harts'), hw.join(','));
      assert.is(f.get('bootargs'), 'vman.after=idle');
      assert.is(f.get(`hsm_start.${hw[1]}`), '0');
      assert.is(f.get('hart_up'), hw[1], 'the second hart ran the probe');
      assert.is(f.get('hsm_start_foreign.0x0'), '-3', 'a hart outside the tree cannot be started');
      assert.is(f.get('cpu_hwids'), hw.join(','));
      cfg.converged();
      // Follow the console from now on: it must end by itself when the partition's process ends.
      follower = new Promise((res) => {
        const child = spawn(process.execPath, [CLI, 'console', 'rv0', '--follow'], {
          cwd: cfg.dir,
          env: { ...process.env, NO_COLOR: '1' },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => res({ code: code ?? -1, out }));
      });
    },
  );

  test(
    'a guest that powers off ends QEMU with status 0: `shutdown`; ' +
      'the next plan starts it again; --follow ended with the old process',
    async () => {
      const before = cfg.qemuPids().get('rv0');
      cfg.write('rv0', probe('vman.after=poweroff'));
      assert.equal(
        cfg.plan().changes.map((x) => [x.partition, x.action]),
        [['rv0', 'restart']],
      );
      cfg.apply();
      const followed = await follower;
      assert.is(followed?.code, 0);
      assert.match(followed?.out ?? '', /^VMAN-PROBE-BEGIN\r?\n[\s\S]*^VMAN-READY\r?$/m);
      assert.ok(before !== undefined && !running(before));
      const pid = cfg.qemuPids().get('rv0');
      assert.ok(pid !== undefined);
      await until('rv0 to power off', () => (running(pid) ? undefined : true), 10_000);
      assert.equal(
        cfg.status().partitions.map((x) => [x.name, x.state]),
        [['rv0', 'shutdown']],
      );
      const plan = cfg.plan();
      assert.equal(
        plan.changes.map((x) => [x.partition, x.action, x.reasons]),
        [['rv0', 'start', ['the partition is shutdown, but should be running']]],
      );
      const r = cfg.apply();
      assert.ok(readyTimes(r.stdout).has('rv0'), r.stdout);
      assert.match(cfg.console('rv0'), /^vman-probe: bootargs=vman\.after=poweroff\r?$/m);
    },
  );

  test(
    "S-mode U-Boot in the partition's place prints vman's model and the partition's DRAM; " + 'boot hart is core 3',
    () => {
      rmSync(join(cfg.dir, 'partitions.d', 'rv0.yaml'));
      cfg.write('uboot', uboot('Hit any key to stop autoboot', '20s'));
      assert.equal(
        cfg.plan().changes.map((x) => [x.partition, x.action]),
        [
          ['rv0', 'delete'],
          ['uboot', 'create'],
        ],
      );
      const r = cfg.apply();
      console.log(`  riscv64 release → "Hit any key to stop autoboot" (U-Boot): ${readyTimes(r.stdout).get('uboot')}s`);
      const text = cfg.console('uboot');
      assert.match(text, /^Model: vman partition uboot \(qemu-virt-riscv64\)\r?$/m);
      assert.match(text, /^DRAM: {2}64 MiB\r?$/m);
      assert.match(text, /Boot HART ID\s+: 3\r?$/m);
      assert.match(text, /Domain0 HARTs\s+: 3\*,4\*\r?$/m);
      assert.equal(
        cfg.status().partitions.map((x) => [x.name, x.state, x.cpus]),
        [['uboot', 'running', [3, 4]]],
      );
    },
  );

  test('`vman console --follow` stops at Ctrl-C (exit 0) and the partition keeps running', async () => {
    const child = spawn(process.execPath, [CLI, 'console', 'uboot', '--follow'], {
      cwd: cfg.dir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
    await until(
      'the followed console',
      () => (out.includes('Hit any key to stop autoboot') ? true : undefined),
      10_000,
    );
    child.kill('SIGINT');
    assert.is(await closed, 0);
    assert.match(out, /^Model: vman partition uboot \(qemu-virt-riscv64\)\r?$/m);
    assert.equal(
      cfg.status().partitions.map((x) => [x.name, x.state]),
      [['uboot', 'running']],
    );
  });

  test(
    "a machine paused behind vman's back shows `paused`, a QEMU killed shows " +
      '`crashed`; the next apply starts each again',
    async () => {
      const qmp = await QmpClient.connect(cfg.file('uboot', 'qmp.sock'));
      await qmp.execute('stop');
      qmp.close();
      assert.equal(
        cfg.status().partitions.map((x) => [x.name, x.state]),
        [['uboot', 'paused']],
      );
      assert.equal(
        cfg.plan().changes.map((x) => [x.action, x.reasons]),
        [['start', ['the partition is paused, but should be running']]],
      );
      cfg.apply();
      const pid = cfg.qemuPids().get('uboot');
      assert.ok(pid !== undefined && running(pid));
      process.kill(pid, 'SIGKILL');
      await until('QEMU to die', () => (running(pid) ? undefined : true), 5_000);
      assert.equal(
        cfg.status().partitions.map((x) => [x.name, x.state]),
        [['uboot', 'crashed']],
      );
      assert.equal(
        cfg.plan().changes.map((x) => [x.action, x.reasons]),
        [['start', ['the partition is crashed, but should be running']]],
      );
      cfg.apply();
      assert.equal(
        cfg.status().partitions.map((x) => [x.name, x.state]),
        [['uboot', 'running']],
      );
    },
  );

  test(
    "a readiness timeout fails the apply with the console's last lines and rolls the " +
      'partition back (no QEMU left)',
    () => {
      const pid = cfg.qemuPids().get('uboot');
      cfg.write('uboot', uboot('^NEVER-PRINTED', '1s', 'changed'));
      const r = cfg.run(['apply', '--auto-approve']);
      assert.is(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        'step uboot/wait-ready failed for partition `uboot`: `uboot` was not ready within 1.00s; ' +
          "no console line matched /^NEVER-PRINTED/. The console's last lines:",
      );
      assert.match(r.stderr, /^ {2}\| Hit any key to stop autoboot/m);
      assert.match(r.stdout, /^uboot: rolled back to nothing held$/m);
      assert.ok(pid !== undefined && !running(pid));
      assert.equal(qemuProcessesUnder(cfg.state), []);
      assert.equal(cfg.status().partitions, []);
    },
  );

  test('an orphaned QEMU (its record gone) shows in status, and the next apply ends it', () => {
    cfg.write('uboot', uboot('Hit any key to stop autoboot', '20s'));
    cfg.apply();
    const pid = cfg.qemuPids().get('uboot');
    assert.ok(pid !== undefined && running(pid));
    rmSync(cfg.file('uboot', 'partition.json'));
    rmSync(join(cfg.dir, 'partitions.d', 'uboot.yaml'));
    const st = cfg.status();
    assert.equal(st.partitions, []);
    assert.equal(
      st.orphans.map((o) => o.owner),
      ['uboot'],
    );
    assert.match(
      st.orphans[0]?.detail ?? '',
      `QEMU process ${pid} runs under STATE/qemu/uboot with no partition record`,
    );
    const plan = cfg.plan();
    assert.equal(
      plan.changes.map((x) => [x.partition, x.action]),
      [['uboot', 'delete']],
    );
    cfg.apply();
    assert.is(running(pid), false);
    assert.equal(cfg.status().orphans, []);
    assert.equal(qemuProcessesUnder(cfg.state), []);
  });

  test.after(() => cfg.dispose());
}

test.run();
