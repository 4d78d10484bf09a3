// The QEMU backend behind the provider protocol: `--backend "vman provider serve qemu"` boots Debian's
// arm64 kernel in two partitions exactly as `--backend qemu` does (test/qemu/arm64.test.ts), every
// step, read and console going over JSON-RPC to a `vman provider serve qemu` process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootPair, destroyAll } from './linux.js';
import { requireTools, QemuConfig } from './support.js';
import { vmanJson } from '../helpers/cli.js';

const p = requireTools('qemu/provider', {
  payloads: ['arm64-kernel', 'arm64-initrd'],
  tools: ['qemu-system-aarch64'],
});
const cfg = p ? new QemuConfig('qemu-virt-aarch64', 'vman provider serve qemu') : undefined;

if (p && cfg) {
  test('two partitions boot Linux through `vman provider serve qemu`; consoles come over the protocol', async () => {
    const times = await bootPair(cfg, {
      board: 'qemu-virt-aarch64',
      uname: 'aarch64',
      kernel: p.get('arm64-kernel')!,
      initrd: p.get('arm64-initrd')!,
      timeout: '60s',
    });
    assert.ok(times.has('first') && times.has('second'));
    assert.is(cfg.status().backend, 'vman provider serve qemu', 'the provider is recorded as given');
  });

  test('a later command without --backend finds the recorded provider; destroy ends every QEMU process', () => {
    const r = vmanJson<{ backend: string; partitions: { name: string; state: string }[] }>(cfg.dir, ['status']);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.json.backend, 'vman provider serve qemu');
    assert.equal(
      r.json.partitions.map((x) => [x.name, x.state]),
      [
        ['first', 'running'],
        ['second', 'running'],
      ],
    );
    destroyAll(cfg);
  });

  test.after(() => cfg.dispose());
}

test.run();
