// Boards built inline for the allocator tests: only cores, memory, devices and reservations matter to it.
import type { Board, BoardDevice, MemRange, Reservation } from '../../src/board/model.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export interface BoardShape {
  readonly cores: number;
  readonly memory: readonly MemRange[];
  readonly reserved?: readonly Reservation[];
  readonly devices?: readonly string[];
}

function device(name: string, index: number): BoardDevice {
  return {
    name,
    node: 'virtio_mmio',
    compatible: ['virtio,mmio'],
    reg: [{ base: 0x0a000000 + index * 0x200, size: 0x200 }],
    interrupts: [{ type: 'spi', number: 16 + index, trigger: 'edge-rising' }],
    dma: { kind: 'stream-id', streamId: index },
  };
}

/** A board with the given resources; the rest is a plausible GICv2 ARM board. */
export function makeBoard(shape: BoardShape): Board {
  return {
    name: 'test-board',
    arch: 'aarch64',
    model: 'test',
    compatible: ['test,board'],
    cpus: Array.from({ length: shape.cores }, (_, id) => ({ id, hwid: id, compatible: 'arm,cortex-a57' })),
    memory: shape.memory,
    interruptController: {
      kind: 'gicv2',
      compatible: 'arm,cortex-a15-gic',
      distributor: { base: 0x08000000, size: 0x10000 },
      cpuInterface: { base: 0x08010000, size: 0x10000 },
    },
    timer: { kind: 'armv8-timer', ppis: [13, 14, 11, 10], alwaysOn: true },
    power: { kind: 'psci', method: 'hvc', compatible: ['arm,psci-1.0'] },
    devices: (shape.devices ?? []).map(device),
    reserved: shape.reserved ?? [],
    console: { kind: 'assigned' },
  };
}

/** Like QEMU virt on aarch64: 8 cores, 4 GiB at 0x40000000; management holds core 0, the first 128 MiB and uart0. */
export function aarch64Board(): Board {
  return makeBoard({
    cores: 8,
    memory: [{ base: 0x40000000, size: 4 * GiB }],
    reserved: [{ owner: 'management', cpus: [0], memory: [{ base: 0x40000000, size: 128 * MiB }], devices: ['uart0'] }],
    devices: ['uart0', 'uart1', 'virtio0', 'virtio1', 'virtio2', 'virtio3'],
  });
}

/**
 * Like QEMU virt on riscv64: 8 harts, 2 GiB at 0x80000000; OpenSBI holds the first 2 MiB, management the top 128 MiB.
 */
export function riscvBoard(): Board {
  return makeBoard({
    cores: 8,
    memory: [{ base: 0x80000000, size: 2 * GiB }],
    reserved: [
      { owner: 'monitor', cpus: [], memory: [{ base: 0x80000000, size: 2 * MiB }], devices: [] },
      {
        owner: 'management',
        cpus: [0],
        memory: [{ base: 0x80000000 + 2 * GiB - 128 * MiB, size: 128 * MiB }],
        devices: ['uart0'],
      },
    ],
    devices: ['uart0', 'virtio0', 'virtio1'],
  });
}
