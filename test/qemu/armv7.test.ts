// `--backend qemu` on qemu-virt-armv7: Debian's armmp-lpae zImage and the armhf busybox initramfs in
// two partitions, one dependsOn the other; then destroy.
import { test } from 'uvu';
import { bootPair, destroyAll } from './linux.js';
import { requireTools, QemuConfig } from './support.js';

const p = requireTools('qemu/armv7', { payloads: ['armv7-kernel', 'armv7-initrd'], tools: ['qemu-system-arm'] });
const cfg = p ? new QemuConfig('qemu-virt-armv7') : undefined;

if (p && cfg) {
  const c = {
    board: 'qemu-virt-armv7',
    uname: 'armv7l',
    kernel: p.get('armv7-kernel')!,
    initrd: p.get('armv7-initrd')!,
    timeout: '90s',
  } as const;

  test(
    'two partitions boot Linux on their own cores, memory and tree; ' +
      'the dependency is ready before the dependant runs',
    async () => {
      const times = await bootPair(cfg, c);
      console.log(`  armv7 release → VMAN-READY: first ${times.get('first')}s, second ${times.get('second')}s`);
    },
  );

  test('destroy ends every QEMU process', () => {
    destroyAll(cfg);
  });

  test.after(() => cfg.dispose());
}

test.run();
