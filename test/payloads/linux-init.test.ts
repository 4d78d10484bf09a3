// The test initramfs (/init = test/payloads/linux/init) on Debian's kernels under QEMU 7.2:
// a partition on cores 2,3 of a 4-core virt machine, loaded with the generic loader and
// released by the reference stubs (test/payloads/stubs; on RISC-V through OpenSBI fw_dynamic).
// The boot runs need the payload cache that scripts/fetch-payloads.sh fills; without it they
// are skipped (a failure under CI).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  armStub,
  armTreeDts,
  assembleStub,
  boot,
  compileDts,
  loaderArgs,
  OPENSBI_DYNAMIC,
  PAYLOAD_CACHE,
  PAYLOAD_SOURCES,
  probeFacts,
  riscvStub,
  riscvTreeDts,
  run,
  scratchDir,
} from './support.js';
import { skip } from '../helpers/skip.js';

const MiB = 1024 * 1024;
const INIT = join(PAYLOAD_SOURCES, 'linux', 'init');
/** ARM virt: RAM at 0x40000000, where QEMU also writes its own 1 MiB DTB; the stub goes above it. */
const ARM_RAM = 0x40000000;
const ARM_STUB = 0x40100000;
const PARTITION = { base: 0x48000000, size: 256 * MiB };
const CORES = [2, 3];
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

test('the init script parses and keeps its output contract', () => {
  run('sh', ['-n', INIT]);
  const text = readFileSync(INIT, 'utf8');
  for (const line of ['echo "VMAN-PROBE-BEGIN"', 'echo "VMAN-PROBE-END"', 'echo "VMAN-READY"'])
    assert.ok(text.includes(line), line);
  assert.ok((statSync(INIT).mode & 0o111) !== 0, 'init must be executable');
});

/** The cache's MANIFEST: name → path. */
function manifest(): Map<string, string> | undefined {
  const file = join(PAYLOAD_CACHE, 'MANIFEST');
  if (!existsSync(file)) return undefined;
  return new Map(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/))
      .map((f) => [f[0]!, f[2]!] as [string, string]),
  );
}

const payloads = manifest();
// Without them the boot runs are skipped (a failure under CI): test/helpers/skip.ts.
const noPayloads = (arch: string) =>
  `linux-init: no ${arch} payloads in ${PAYLOAD_CACHE}; run scripts/fetch-payloads.sh to boot them`;
const dir = scratchDir('vman-linux-init-');

function expectProbe(
  console: string,
  arch: string,
  model: string,
  cmdline: string,
  board = { compatible: 'linux,dummy-virt', memory: PARTITION, minMemTotalKib: 200 * 1024 },
) {
  const f = probeFacts(console);
  assert.is(f.get('arch'), arch);
  assert.is(f.get('cpu_hwids'), '0x2,0x3');
  assert.is(f.get('cpus_count'), '2');
  assert.is(f.get('cpus_online'), '0-1');
  assert.is(f.get('model'), model);
  assert.is(f.get('compatible'), `vman,partition ${board.compatible}`);
  assert.is(f.get('cmdline'), cmdline);
  const { base, size } = board.memory;
  const cell = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  assert.is(f.get(`dt_memory.memory@${base.toString(16)}`), [0, base, 0, size].map(cell).join(' '));
  const kib = Number(f.get('memtotal_kib'));
  assert.ok(kib > board.minMemTotalKib && kib <= size / 1024, `MemTotal ${kib} KiB`);
}

test('arm64: Debian cloud kernel boots on cores 2,3 and the init reports them', async () => {
  if (!payloads?.has('arm64-kernel') || !payloads.has('arm64-initrd')) return skip(noPayloads('arm64'));
  const kernel = payloads.get('arm64-kernel')!;
  const initrd = payloads.get('arm64-initrd')!;
  // Image header (arm64/booting.rst): text_offset at 8, image_size at 16.
  const header = new DataView(new Uint8Array(readFileSync(kernel)).slice(0, 64).buffer);
  const textOffset = Number(header.getBigUint64(8, true));
  const imageSize = Number(header.getBigUint64(16, true));
  const kernelAt = PARTITION.base + textOffset;
  const dtbAt = PARTITION.base + alignUp(textOffset + imageSize, 2 * MiB);
  const initrdAt = dtbAt + 2 * MiB;
  const cmdline = 'console=ttyAMA0 vman.after=poweroff';
  const model = 'vman partition a64 (qemu-virt-aarch64)';
  const dtb = compileDts(
    dir,
    'a64',
    armTreeDts({
      arch: 'aarch64',
      model,
      ...PARTITION,
      cores: CORES,
      bootargs: cmdline,
      initrd: { start: initrdAt, end: initrdAt + statSync(initrd).size },
    }),
  );
  const stub = join(dir, 'a64-stub.bin');
  writeFileSync(
    stub,
    armStub('aarch64', assembleStub('aarch64', dir), { target: CORES[0]!, dtb: dtbAt, kernel: kernelAt }),
  );
  const mem = (PARTITION.base + PARTITION.size - ARM_RAM) / MiB;
  const loads = [
    { file: stub, addr: ARM_STUB, cpu: 0 },
    { file: kernel, addr: kernelAt },
    { file: dtb, addr: dtbAt },
    { file: initrd, addr: initrdAt },
  ];
  const r = await boot(
    dir,
    'qemu-system-aarch64',
    ['-machine', 'virt,gic-version=2', '-cpu', 'cortex-a57', '-smp', '4', '-m', `${mem}M`, ...loaderArgs(loads)],
    {
      ready: /^VMAN-READY/m,
      timeoutMs: 60_000,
      untilExit: true,
    },
  );
  assert.ok(r.ready, r.console.slice(-3000));
  expectProbe(r.console, 'aarch64', model, cmdline);
  assert.match(r.console, /Booting Linux on physical CPU 0x0000000002/);
  // PSCI SYSTEM_OFF without -no-shutdown: QEMU exits 0.
  assert.is(r.exitCode, 0);
});

test('armv7: Debian armmp-lpae zImage boots on cores 2,3 and the init reports them', async () => {
  if (!payloads?.has('armv7-kernel') || !payloads.has('armv7-initrd')) return skip(noPayloads('armv7'));
  const zimage = payloads.get('armv7-kernel')!;
  const initrd = payloads.get('armv7-initrd')!;
  const z = new Uint8Array(readFileSync(zimage));
  const view = new DataView(z.buffer);
  // zImage header (arm/booting.rst): magic at 0x24; extension table offset at 0x38; the
  // KLSZ tag holds the offset of the decompressed size, the bss size and TEXT_OFFSET.
  assert.is(view.getUint32(0x24, true), 0x016f2818);
  const table = view.getUint32(0x38, true);
  assert.is(view.getUint32(table + 4, true), 0x5a534c4b);
  const decompressed = view.getUint32(view.getUint32(table + 8, true), true);
  const bss = view.getUint32(table + 12, true);
  const textOffset = view.getUint32(table + 16, true);
  const zimageAt = PARTITION.base + alignUp(textOffset + decompressed + bss, 2 * MiB);
  const dtbAt = alignUp(zimageAt + z.length + MiB, 2 * MiB);
  const initrdAt = dtbAt + 2 * MiB;
  const cmdline = 'console=ttyAMA0 vman.after=poweroff';
  const model = 'vman partition a32 (qemu-virt-armv7)';
  const dtb = compileDts(
    dir,
    'a32',
    armTreeDts({
      arch: 'arm',
      model,
      ...PARTITION,
      cores: CORES,
      bootargs: cmdline,
      initrd: { start: initrdAt, end: initrdAt + statSync(initrd).size },
    }),
  );
  const stub = join(dir, 'a32-stub.bin');
  writeFileSync(stub, armStub('arm', assembleStub('arm', dir), { target: CORES[0]!, dtb: dtbAt, kernel: zimageAt }));
  const mem = (PARTITION.base + PARTITION.size - ARM_RAM) / MiB;
  const loads = [
    { file: stub, addr: ARM_STUB, cpu: 0 },
    { file: zimage, addr: zimageAt },
    { file: dtb, addr: dtbAt },
    { file: initrd, addr: initrdAt },
  ];
  const r = await boot(
    dir,
    'qemu-system-arm',
    ['-machine', 'virt,gic-version=2', '-cpu', 'cortex-a15', '-smp', '4', '-m', `${mem}M`, ...loaderArgs(loads)],
    {
      ready: /^VMAN-READY/m,
      timeoutMs: 90_000,
      untilExit: true,
    },
  );
  assert.ok(r.ready, r.console.slice(-3000));
  expectProbe(r.console, 'armv7l', model, cmdline);
  assert.match(r.console, /Booting Linux on physical CPU 0x2/);
  assert.is(r.exitCode, 0);
});

test('riscv64: Debian trixie kernel boots on harts 2,3 through OpenSBI and the init reports them', async () => {
  if (!payloads?.has('riscv64-kernel') || !payloads.has('riscv64-initrd')) return skip(noPayloads('riscv64'));
  const kernel = payloads.get('riscv64-kernel')!;
  const initrd = payloads.get('riscv64-initrd')!;
  /** QEMU virt RISC-V: every hart starts at the RAM base (the stub); OpenSBI 1 MiB above it. */
  const ram = 0x80000000;
  const opensbiAt = ram + MiB;
  const memory = { base: 0x88000000, size: 256 * MiB };
  // RISC-V Image header (riscv/boot-image-header.rst): image_size at 16. The kernel at the 2 MiB-aligned base.
  const imageSize = Number(
    new DataView(new Uint8Array(readFileSync(kernel)).slice(0, 64).buffer).getBigUint64(16, true),
  );
  const dtbAt = memory.base + alignUp(imageSize, 2 * MiB);
  const initrdAt = dtbAt + 2 * MiB;
  const cmdline = 'console=ttyS0 vman.after=poweroff';
  const model = 'vman partition rv (qemu-virt-riscv64)';
  const dtb = compileDts(
    dir,
    'rv',
    riscvTreeDts({
      model,
      ...memory,
      harts: CORES,
      listed: [0, 1, ...CORES],
      bootargs: cmdline,
      initrd: { start: initrdAt, end: initrdAt + statSync(initrd).size },
    }),
  );
  const stub = join(dir, 'rv-stub.bin');
  writeFileSync(
    stub,
    riscvStub(assembleStub('riscv64', dir), {
      harts: CORES,
      bootHart: CORES[0]!,
      dtb: dtbAt,
      opensbi: opensbiAt,
      next: memory.base,
    }),
  );
  const loads = [
    { file: stub, addr: ram },
    { file: OPENSBI_DYNAMIC, addr: opensbiAt },
    { file: kernel, addr: memory.base },
    { file: dtb, addr: dtbAt },
    { file: initrd, addr: initrdAt },
  ];
  const mem = (memory.base + memory.size - ram) / MiB;
  const r = await boot(
    dir,
    'qemu-system-riscv64',
    ['-machine', 'virt', '-bios', 'none', '-smp', '4', '-m', `${mem}M`, ...loaderArgs(loads)],
    { ready: /^VMAN-READY/m, timeoutMs: 60_000, untilExit: true },
  );
  assert.ok(r.ready, r.console.slice(-3000));
  // riscv64 reserves 32 MiB for SPARSEMEM_EXTREME roots besides its ~32 MiB image (test/qemu/linux.ts).
  expectProbe(r.console, 'riscv64', model, cmdline, { compatible: 'riscv-virtio', memory, minMemTotalKib: 160 * 1024 });
  assert.match(r.console, /^Boot HART ID\s+: 2\r?$/m);
  // SBI system reset (the sifive_test device) without -no-shutdown: QEMU exits 0.
  assert.is(r.exitCode, 0);
});

test.run();
