// Built-in board `qemu-virt-armv7`: QEMU 7.2's `virt` machine with 8 Cortex-A15 cores, GICv2 and 2 GiB of RAM.
// Numbers come from
// `qemu-system-arm -machine virt-7.2,gic-version=2,highmem=off,dumpdtb=F -cpu cortex-a15 -smp 8 -m 2G`;
// the comment beside each names the node. Shared ARM `virt` devices live in ./arm-virt.ts.
// highmem=off keeps the whole machine below 4 GiB: QEMU would otherwise put the PCIe ECAM at 0x40_1000_0000,
// which only an LPAE kernel reaches. RAM then may not pass 4 GiB (3 GiB from 0x40000000); 2 GiB ends at 0xc0000000.
import type { Board, BoardDevice } from '../model.js';
import { armVirtBoard, ARM_VIRT_PCIE_INTX } from './arm-virt.js';

const GiB = 1024 * 1024 * 1024;

/** `/pcie@10000000` with highmem=off: a 16-bus ECAM below 4 GiB, no 64-bit MMIO window. */
const pcie0 = {
  name: 'pcie0',
  node: 'pcie',
  compatible: ['pci-host-ecam-generic'], // /pcie@10000000 compatible
  reg: [{ base: 0x3f00_0000, size: 0x0100_0000 }], // /pcie@10000000 reg <0 0x3f000000 0 0x1000000>
  interrupts: ARM_VIRT_PCIE_INTX, // /pcie@10000000 interrupt-map
  dma: { kind: 'unconfined' },
  properties: {
    device_type: 'pci',
    'bus-range': [0x00, 0x0f],
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
    ],
  },
} as const satisfies BoardDevice;

export const qemuVirtArmv7: Board = armVirtBoard({
  name: 'qemu-virt-armv7',
  arch: 'armv7',
  cpuCompatible: 'arm,cortex-a15', // /cpus/cpu@N compatible
  ramSize: 2 * GiB, // /memory@40000000 reg
  timer: 'armv7-timer', // /timer compatible
  // /psci: SMC32 ids, as a 32-bit guest calls them (SMC Calling Convention: Function Identifier bit 30 clear)
  psciIds: { cpu_suspend: 0x8400_0001, cpu_off: 0x8400_0002, cpu_on: 0x8400_0003, migrate: 0x8400_0005 },
  pcie0,
  qemu: {
    binary: 'qemu-system-arm',
    machine: 'virt-7.2,gic-version=2,highmem=off',
    cpu: 'cortex-a15',
    ramBase: 0x4000_0000,
  },
});
