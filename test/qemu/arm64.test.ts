// `--backend qemu` on qemu-virt-aarch64: Debian's arm64 kernel and the busybox initramfs in two
// partitions, one dependsOn the other; then a guest that powers off, and destroy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootPair, destroyAll } from './linux.js';
import { manifest, requireTools, QemuConfig, readyTimes, running, until } from './support.js';

const p = requireTools('qemu/arm64', {
  payloads: ['arm64-kernel', 'arm64-initrd'],
  tools: ['qemu-system-aarch64'],
});
const cfg = p ? new QemuConfig('qemu-virt-aarch64') : undefined;

if (p && cfg) {
  const c = {
    board: 'qemu-virt-aarch64',
    uname: 'aarch64',
    kernel: p.get('arm64-kernel')!,
    initrd: p.get('arm64-initrd')!,
    timeout: '60s',
  } as const;

  test(
    'two partitions boot Linux on their own cores, memory and tree; ' +
      'the dependency is ready before the dependant runs',
    async () => {
      const times = await bootPair(cfg, c);
      console.log(`  aarch64 release → VMAN-READY: first ${times.get('first')}s, second ${times.get('second')}s`);
    },
  );

  test(
    'a guest that powers off shows `shutdown` (QEMU stays, status shutdown); ' +
      'the next plan starts it again; the other partition is untouched',
    async () => {
      const firstPid = cfg.qemuPids().get('first');
      cfg.write(
        'second',
        manifest(
          'second',
          `cpus: 2\nmemory: 256Mi\nboot:\n  kernel: ${c.kernel}\n  initrd: ${c.initrd}\n` +
            `  bootargs: "console=ttyAMA0 vman.after=poweroff"\nreadiness:\n  console: "^VMAN-READY"\n` +
            `  timeout: 60s\ndependsOn: [first]\n`,
        ),
      );
      const plan = cfg.plan();
      assert.equal(
        plan.changes.map((x) => [x.partition, x.action]),
        [
          ['first', 'noop'],
          ['second', 'restart'],
        ],
      );
      cfg.apply();
      const shut = await until(
        'second to power off',
        () => cfg.status().partitions.find((x) => x.name === 'second' && x.state === 'shutdown'),
        20_000,
        200,
      );
      assert.is(shut.state, 'shutdown');
      const pid = cfg.qemuPids().get('second');
      assert.ok(pid !== undefined && running(pid), 'with -no-shutdown QEMU stays after an ARM guest powers off');
      const again = cfg.plan();
      assert.equal(
        again.changes.map((x) => [x.partition, x.action]),
        [
          ['first', 'noop'],
          ['second', 'start'],
        ],
      );
      assert.equal(again.changes[1]?.reasons, ['the partition is shutdown, but should be running']);
      assert.equal(
        again.steps.map((s) => s.kind),
        ['scrub-memory', 'build-fdt', 'load', 'release-cores', 'wait-ready'],
      );
      const r = cfg.apply();
      assert.ok(readyTimes(r.stdout).has('second'), r.stdout);
      assert.is(running(pid), false, 'the powered-off machine was ended before the new one started');
      assert.match(cfg.console('second'), /^VMAN-READY\r?$/m);
      assert.is(cfg.qemuPids().get('first'), firstPid, 'first kept its QEMU');
      assert.is(cfg.status().partitions.find((x) => x.name === 'first')?.state, 'running');
    },
  );

  test('destroy ends every QEMU process', () => {
    destroyAll(cfg);
  });

  test.after(() => cfg.dispose());
}

test.run();
