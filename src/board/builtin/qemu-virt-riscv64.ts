// Built-in board `qemu-virt-riscv64`: QEMU 7.2's RISC-V `virt` machine with 8 harts, PLIC + CLINT and 2 GiB of RAM.
// Numbers come from `qemu-system-riscv64 -machine virt,dumpdtb=F -cpu rv64 -smp 8 -m 2G`; the comment beside each
// names the node. The monitor is OpenSBI at the start of RAM (where QEMU loads it); the management partition sits
// at the top of RAM, so partitions can be based at 0x80200000, where RISC-V payloads are usually linked.
import type { Board, BoardCpu, BoardDevice, DeviceInterrupt } from '../model.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CORES = 8;
const RAM_BASE = 0x8000_0000; // /memory@80000000 reg
const RAM_SIZE = 2 * GiB;
/** OpenSBI (fw_dynamic) runs from the RAM base; payloads follow at RAM_BASE + 2 MiB. */
const MONITOR_SIZE = 2 * MiB;
const MANAGEMENT_SIZE = 128 * MiB;

const plic = (source: number): DeviceInterrupt => ({ type: 'plic', number: source });

/** `/cpus/cpu@N`: reg N is the hart id. */
const cpus: readonly BoardCpu[] = Array.from({ length: CORES }, (_, id) => ({
  id,
  hwid: id,
  compatible: 'riscv', // /cpus/cpu@N compatible
  isa: 'rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc', // /cpus/cpu@N riscv,isa
  mmuType: 'riscv,sv48', // /cpus/cpu@N mmu-type
}));

/** `/soc/virtio_mmio@10001000` … `@10008000`: 8 transports 0x1000 apart, transport i on PLIC source 1 + i. */
const VIRTIO_MMIO_BASE = 0x1000_1000;
const VIRTIO_MMIO_SIZE = 0x1000;
const VIRTIO_MMIO_COUNT = 8;
const VIRTIO_MMIO_FIRST_SOURCE = 1;

/**
 * virtio0 … virtio7 in address order; virtioN is QEMU's `virtio-mmio-bus.N`. QEMU has no IOMMU in front
 * of them, so the stream id is the monitor's confinement tag for the transport: its index.
 */
const virtio: readonly BoardDevice[] = Array.from({ length: VIRTIO_MMIO_COUNT }, (_, i) => ({
  name: `virtio${i}`,
  node: 'virtio_mmio',
  compatible: ['virtio,mmio'],
  reg: [{ base: VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE, size: VIRTIO_MMIO_SIZE }],
  interrupts: [plic(VIRTIO_MMIO_FIRST_SOURCE + i)],
  dma: { kind: 'stream-id', streamId: i },
}));

/**
 * `/soc/test@100000`: SiFive test device, the `syscon` behind
 * `/poweroff` and `/reboot`; OpenSBI resets the machine with it.
 */
const syscon0 = {
  name: 'syscon0',
  node: 'test',
  compatible: ['sifive,test1', 'sifive,test0', 'syscon'], // /soc/test@100000 compatible
  reg: [{ base: 0x0010_0000, size: 0x1000 }], // /soc/test@100000 reg
  interrupts: [],
  dma: { kind: 'none' },
} as const satisfies BoardDevice;

/** `/soc/rtc@101000`: Goldfish RTC. */
const rtc0 = {
  name: 'rtc0',
  node: 'rtc',
  compatible: ['google,goldfish-rtc'], // /soc/rtc@101000 compatible
  reg: [{ base: 0x0010_1000, size: 0x1000 }], // /soc/rtc@101000 reg
  interrupts: [plic(11)], // /soc/rtc@101000 interrupts
  dma: { kind: 'none' },
} as const satisfies BoardDevice;

/** `/soc/serial@10000000`: QEMU's NS16550A UART. */
const NS16550A = {
  node: 'serial',
  compatible: ['ns16550a'], // /soc/serial@10000000 compatible
  reg: [{ base: 0x1000_0000, size: 0x100 }], // /soc/serial@10000000 reg
  interrupts: [plic(10)], // /soc/serial@10000000 interrupts
  properties: { 'clock-frequency': [3_686_400] }, // /soc/serial@10000000 clock-frequency <0x384000>
  serial: true,
} as const;

/** `/fw-cfg@10100000`: QEMU's firmware configuration interface; its DMA interface reaches all of RAM unconfined. */
const fwCfg0 = {
  name: 'fw-cfg0',
  node: 'fw-cfg',
  compatible: ['qemu,fw-cfg-mmio'], // /fw-cfg@10100000 compatible
  reg: [{ base: 0x1010_0000, size: 0x18 }], // /fw-cfg@10100000 reg
  interrupts: [],
  dma: { kind: 'unconfined' },
  properties: { 'dma-coherent': true }, // /fw-cfg@10100000 dma-coherent
} as const satisfies BoardDevice;

/** `/flash@20000000`: two CFI banks of 32 MiB. */
const flash0 = {
  name: 'flash0',
  node: 'flash',
  compatible: ['cfi-flash'], // /flash@20000000 compatible
  reg: [
    { base: 0x2000_0000, size: 32 * MiB }, // /flash@20000000 reg[0]
    { base: 0x2200_0000, size: 32 * MiB }, // /flash@20000000 reg[1]
  ],
  interrupts: [],
  dma: { kind: 'none' },
  properties: { 'bank-width': [4] }, // /flash@20000000 bank-width
} as const satisfies BoardDevice;

/** `/soc/pci@30000000`: ECAM, with INTA–INTD of every slot on PLIC sources 32–35 (interrupt-map). */
const pcie0 = {
  name: 'pcie0',
  node: 'pci',
  compatible: ['pci-host-ecam-generic'], // /soc/pci@30000000 compatible
  reg: [{ base: 0x3000_0000, size: 0x1000_0000 }], // /soc/pci@30000000 reg
  interrupts: [plic(32), plic(33), plic(34), plic(35)], // /soc/pci@30000000 interrupt-map
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
      0x0300_0000,
      0x00,
      0x0001_0000, // I/O
      0x0200_0000,
      0x00,
      0x4000_0000,
      0x00,
      0x4000_0000,
      0x00,
      0x4000_0000, // 32-bit MMIO
      0x0300_0000,
      0x04,
      0x0000_0000,
      0x04,
      0x0000_0000,
      0x04,
      0x0000_0000, // 64-bit MMIO
    ],
  },
} as const satisfies BoardDevice;

export const qemuVirtRiscv64 = {
  name: 'qemu-virt-riscv64',
  arch: 'riscv64',
  model: 'riscv-virtio,qemu', // / model
  compatible: ['riscv-virtio'], // / compatible
  cpus,
  memory: [{ base: RAM_BASE, size: RAM_SIZE }],
  interruptController: {
    kind: 'plic',
    compatible: ['sifive,plic-1.0.0', 'riscv,plic0'], // /soc/plic@c000000 compatible
    reg: { base: 0x0c00_0000, size: 0x60_0000 }, // /soc/plic@c000000 reg (sized for QEMU's 512-hart maximum)
    ndev: 96, // /soc/plic@c000000 riscv,ndev <0x60>
    clint: {
      compatible: ['sifive,clint0', 'riscv,clint0'], // /soc/clint@2000000 compatible
      reg: { base: 0x0200_0000, size: 0x1_0000 }, // /soc/clint@2000000 reg
    },
  },
  timer: { kind: 'riscv-timebase', frequency: 10_000_000 }, // /cpus timebase-frequency <0x989680>
  power: { kind: 'sbi' },
  devices: [syscon0, rtc0, { name: 'uart0', ...NS16550A, dma: { kind: 'none' } }, ...virtio, fwCfg0, flash0, pcie0],
  reserved: [
    // OpenSBI: its firmware and the machine-reset device it drives.
    { owner: 'monitor', cpus: [], memory: [{ base: RAM_BASE, size: MONITOR_SIZE }], devices: ['syscon0'] },
    // Management: hart 0, the last 128 MiB of RAM, the real UART and what a management Linux keeps (flash,
    // fw-cfg and the PCIe host, whose DMA the monitor cannot confine). The RTC stays assignable.
    {
      owner: 'management',
      cpus: [0],
      memory: [{ base: RAM_BASE + RAM_SIZE - MANAGEMENT_SIZE, size: MANAGEMENT_SIZE }],
      devices: ['uart0', 'fw-cfg0', 'flash0', 'pcie0'],
    },
  ],
  // Each partition gets its own NS16550A from the monitor at the
  // real one's address (in the QEMU backend: its QEMU's own UART).
  console: { kind: 'virtual-uart', device: { name: 'vuart0', ...NS16550A } },
  qemu: { binary: 'qemu-system-riscv64', machine: 'virt', cpu: 'rv64', ramBase: RAM_BASE },
} as const satisfies Board;
