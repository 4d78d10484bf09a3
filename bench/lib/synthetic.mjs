// Synthetic inputs for the planner benchmark: a big aarch64 board (512 cores under GICv3, 128 GiB,
// a virtio transport per partition) and N partition manifests on disk, loaded by vman's own loader.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './env.mjs';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
/** GICv3 on QEMU's virt: 16 cores per cluster (MPIDR Aff0 0–15, Aff1 the cluster). */
const CLUSTER = 16;
/** The redistributor frame of one core (GICv3 architecture spec: RD_base + SGI_base, 64 KiB each). */
const GICR_STRIDE = 0x2_0000;
const VIRTIO_BASE = 0x0a00_0000;
const VIRTIO_SIZE = 0x200;

/** A 512-core, 128 GiB board with `devices` virtio-mmio transports (each confined by its stream id). */
export function bigBoard({ cores = 512, memory = 128 * GiB, devices = 256 } = {}) {
  const cpus = Array.from({ length: cores }, (_, id) => ({
    id,
    hwid: (Math.floor(id / CLUSTER) << 8) | (id % CLUSTER),
    compatible: 'arm,cortex-a72',
  }));
  const virtio = Array.from({ length: devices }, (_, i) => ({
    name: `virtio${i}`,
    node: 'virtio_mmio',
    compatible: ['virtio,mmio'],
    reg: [{ base: VIRTIO_BASE + i * VIRTIO_SIZE, size: VIRTIO_SIZE }],
    interrupts: [{ type: 'spi', number: 16 + i, trigger: 'edge-rising' }],
    dma: { kind: 'stream-id', streamId: i },
    properties: { 'dma-coherent': true },
  }));
  const pl011 = {
    node: 'pl011',
    compatible: ['arm,pl011', 'arm,primecell'],
    reg: [{ base: 0x0900_0000, size: 0x1000 }],
    interrupts: [{ type: 'spi', number: 1, trigger: 'level-high' }],
    clocks: { uartclk: 24_000_000, apb_pclk: 24_000_000 },
    serial: true,
  };
  return {
    name: 'bench-512',
    arch: 'aarch64',
    model: 'vman bench board',
    compatible: ['vman,bench-512'],
    cpus,
    memory: [{ base: 0x8000_0000, size: memory }],
    interruptController: {
      kind: 'gicv3',
      compatible: 'arm,gic-v3',
      distributor: { base: 0x0800_0000, size: 0x1_0000 },
      redistributor: { base: 0x080a_0000, size: cores * GICR_STRIDE },
    },
    timer: { kind: 'armv8-timer', ppis: [13, 14, 11, 10], alwaysOn: true },
    power: { kind: 'psci', method: 'smc', compatible: ['arm,psci-1.0', 'arm,psci-0.2'] },
    devices: [{ name: 'uart0', ...pl011, dma: { kind: 'none' } }, ...virtio],
    reserved: [{ owner: 'management', cpus: [0], memory: [{ base: 0x8000_0000, size: 1 * GiB }], devices: ['uart0'] }],
    console: { kind: 'virtual-uart', device: { name: 'vuart0', ...pl011 } },
  };
}

/**
 * Writes `count` partition manifests under `dir/partitions.d/`: one or two cores, 256 MiB, a
 * virtio transport of its own, the demo's arm64 kernel; in groups of eight, seven depend on the first.
 */
export function writeManifests(dir, count) {
  const pd = join(dir, 'partitions.d');
  mkdirSync(pd, { recursive: true });
  const kernel = join(ROOT, '.cache', 'demo', 'hello-arm64.Image');
  const name = (i) => `p${String(i).padStart(3, '0')}`;
  for (let i = 0; i < count; i++) {
    const lead = i - (i % 8);
    writeFileSync(
      join(pd, `${name(i)}.yaml`),
      [
        'apiVersion: vman.dev/v1alpha1',
        'kind: Partition',
        'metadata:',
        `  name: ${name(i)}`,
        '  labels: {tier: bench}',
        'spec:',
        `  cpus: ${1 + (i % 2)}`,
        '  memory: 256Mi',
        `  devices: [virtio${i}]`,
        '  boot:',
        `    kernel: ${kernel}`,
        `    bootargs: "console=ttyAMA0 root=/dev/vda rw quiet vman.partition=${name(i)}"`,
        ...(lead !== i ? [`  dependsOn: [${name(lead)}]`] : []),
        '  readiness: {console: "login:", timeout: 60s}',
        '',
      ].join('\n'),
    );
  }
  return pd;
}

export { MiB, GiB };
