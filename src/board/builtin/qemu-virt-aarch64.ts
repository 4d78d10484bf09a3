// Built-in board `qemu-virt-aarch64`: QEMU 7.2's `virt` machine with 8 Cortex-A57 cores, GICv2 and 4 GiB of RAM.
// Numbers come from `qemu-system-aarch64 -machine virt-7.2,gic-version=2,dumpdtb=F -cpu cortex-a57 -smp 8 -m 4G`;
// the comment beside each names the node. Shared ARM `virt` devices live in ./arm-virt.ts.
import type { Board, BoardDevice } from '../model.js';
import { armVirtBoard, ARM_VIRT_PCIE_INTX } from './arm-virt.js';

const GiB = 1024 * 1024 * 1024;

/** `/pcie@10000000`: the ECAM lives above 4 GiB (highmem), windows for I/O, 32-bit and 64-bit MMIO in `ranges`. */
const pcie0 = {
  name: 'pcie0',
  node: 'pcie',
  compatible: ['pci-host-ecam-generic'], // /pcie@10000000 compatible
  reg: [{ base: 0x40_1000_0000, size: 0x1000_0000 }], // /pcie@10000000 reg <0x40 0x10000000 0 0x10000000>
  interrupts: ARM_VIRT_PCIE_INTX, // /pcie@10000000 interrupt-map
  dma: { kind: 'unconfined' },
  properties: {
    device_type: 'pci',
    'bus-range': [0x00, 0xff],
    'linux,pci-domain': [0],
    'dma-coherent': true,
    ranges: [
      0x0100_0000,
      0x00,
      0x0000_0000,
      0x00,
      0x3eff_0000,
      0x00,
      0x0001_0000, // I/O
      0x0200_0000,
      0x00,
      0x1000_0000,
      0x00,
      0x1000_0000,
      0x00,
      0x2eff_0000, // 32-bit MMIO
      0x0300_0000,
      0x80,
      0x0000_0000,
      0x80,
      0x0000_0000,
      0x80,
      0x0000_0000, // 64-bit MMIO
    ],
  },
} as const satisfies BoardDevice;

export const qemuVirtAarch64: Board = armVirtBoard({
  name: 'qemu-virt-aarch64',
  arch: 'aarch64',
  cpuCompatible: 'arm,cortex-a57', // /cpus/cpu@N compatible
  ramSize: 4 * GiB, // /memory@40000000 reg
  timer: 'armv8-timer', // /timer compatible
  // /psci: SMC64 ids for the calls that pass addresses (SMC Calling Convention: Function Identifier bit 30 set)
  psciIds: { cpu_suspend: 0xc400_0001, cpu_off: 0x8400_0002, cpu_on: 0xc400_0003, migrate: 0xc400_0005 },
  pcie0,
  qemu: { binary: 'qemu-system-aarch64', machine: 'virt-7.2,gic-version=2', cpu: 'cortex-a57', ramBase: 0x4000_0000 },
});
