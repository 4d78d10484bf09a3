// A clean shutdown: the engine presses the partition's power button (QEMU's `system_powerdown`,
// line 3 of the ARM virt GPIO controller), Debian's arm64 kernel and the test initramfs answer with a
// power-off, and the manifest then records `state: stopped` so that nothing starts it again. A
// partition without the GPIO controller, and any partition on sim, cannot be asked: `unsupported`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, applied } from '../../src/engine/index.js';
import { VmanError } from '../../src/errors.js';
import { manifest, requireTools, QemuConfig } from './support.js';
import { cleanup, tempConfig, writePartition } from '../helpers/cli.js';

const p = requireTools('qemu/power-button', {
  payloads: ['arm64-kernel', 'arm64-initrd'],
  tools: ['qemu-system-aarch64'],
});

const reasonOf = async (work: Promise<unknown>) => {
  try {
    await work;
  } catch (err) {
    return err instanceof VmanError ? err.reason : `not a VmanError: ${String(err)}`;
  }
  return 'no error';
};

if (p) {
  const cfg = new QemuConfig('qemu-virt-aarch64');
  const linux = (devices: string) =>
    `cpus: 1\nmemory: 256Mi\ndevices: [${devices}]\nboot:\n  kernel: ${p.get('arm64-kernel')}\n` +
    `  initrd: ${p.get('arm64-initrd')}\n  bootargs: "console=ttyAMA0"\n` +
    'readiness:\n  console: "^VMAN-READY"\n  timeout: 60s\n';

  test('shutdown presses the power button; the OS powers off; the manifest records stopped', async () => {
    cfg.write('withbutton', manifest('withbutton', linux('gpio0')));
    cfg.write('plain', manifest('plain', linux('')));
    const engine = await Engine.open({ cwd: cfg.dir, configDir: cfg.dir, board: cfg.board, backend: 'qemu' });
    applied(await engine.apply());
    // Ready means /init printed VMAN-READY; the button watcher starts right after.
    await new Promise((r) => setTimeout(r, 500));
    await engine.shutdown('withbutton', { timeoutMs: 30_000 });
    const status = await engine.status();
    assert.is(status.partitions.find((x) => x.name === 'withbutton')?.state, 'shutdown');
    assert.match(readFileSync(join(cfg.dir, 'partitions.d', 'withbutton.yaml'), 'utf8'), /^ {2}state: stopped$/m);
    assert.match(cfg.console('withbutton'), /^VMAN-POWER-BUTTON\r?$/m);
    const again = await engine.plan();
    assert.equal(
      again.plan.changes.map((c) => [c.partition, c.action]),
      [
        ['plain', 'noop'],
        ['withbutton', 'noop'],
      ],
    );
    assert.is(await reasonOf(engine.shutdown('plain', { timeoutMs: 5_000 })), 'unsupported');
    assert.is(status.partitions.find((x) => x.name === 'plain')?.state, 'running');
    assert.is(await reasonOf(engine.shutdown('withbutton')), 'wrong-state');
    assert.is(await reasonOf(engine.shutdown('nope')), 'no-such-partition');
  });

  test('destroy ends every QEMU process', async () => {
    const engine = await Engine.open({ cwd: cfg.dir, configDir: cfg.dir, board: cfg.board, backend: 'qemu' });
    applied(await engine.destroy([]));
    assert.equal(cfg.qemuPids().size, 0);
  });

  test.after(() => cfg.dispose());
}

test('sim: no guest OS to ask, so shutdown is unsupported and nothing changes', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    const engine = await Engine.open({ cwd: dir, configDir: dir });
    applied(await engine.apply());
    assert.is(await reasonOf(engine.shutdown('a')), 'unsupported');
    assert.equal(
      (await engine.status()).partitions.map((x) => x.state),
      ['running'],
    );
  } finally {
    cleanup(dir);
  }
});

test.run();
