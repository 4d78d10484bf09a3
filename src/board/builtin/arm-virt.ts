// What QEMU 7.2's ARM `virt` machine (hw/arm/virt.c) puts at the same place for both ARM boards.
// Every number comes from the tree QEMU dumps with
// `-machine virt-7.2,gic-version=2,dumpdtb=F -smp 8`; the comment beside it names the node.
// The two board files add what differs: CPUs, RAM, timer and PSCI compatibles, the PCIe host.
import type {
  Board,
  BoardDevice,
  ConsoleArrangement,
  DeviceInterrupt,
  InterruptController,
  PsciFunctionIds,
  QemuMachine,
  Reservation,
} from '../model.js';

/**
 * `/apb-pclk` (fixed-clock, clock-output-names "clk24mhz"): the apb_pclk of every PrimeCell, and the PL011's uartclk.
 */
export const ARM_VIRT_APB_PCLK_HZ = 24_000_000;

const MiB = 1024 * 1024;

/** `/intc@8000000` (`#interrupt-cells` 3): GICv2 distributor and CPU interface, and its `v2m@8020000` MSI frame. */
export const ARM_VIRT_GIC = {
  kind: 'gicv2',
  compatible: 'arm,cortex-a15-gic', // /intc@8000000 compatible
  distributor: { base: 0x0800_0000, size: 0x1_0000 }, // /intc@8000000 reg[0]
  cpuInterface: { base: 0x0801_0000, size: 0x1_0000 }, // /intc@8000000 reg[1]
  v2m: { base: 0x0802_0000, size: 0x1000 }, // /intc@8000000/v2m@8020000 reg
} as const satisfies InterruptController;

/**
 * `/timer` interrupts: PPIs secure, non-secure, virtual, hypervisor
 * (cells <1 PPI 0xff04>: level-high, cpu mask in bits 8–15).
 */
export const ARM_VIRT_TIMER_PPIS = [13, 14, 11, 10] as const;

/** `/psci` compatible, the same on both ARM machines. */
export const ARM_VIRT_PSCI_COMPATIBLE = ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci'] as const;

/**
 * `/psci` method: QEMU itself implements PSCI through HVC when the
 * guest has neither EL2 nor EL3 (virtualization=off, secure=off).
 */
export const ARM_VIRT_PSCI_METHOD = 'hvc';

const spiLevel = (spi: number): DeviceInterrupt => ({ type: 'spi', number: spi, trigger: 'level-high' });

/** `/pl011@9000000`: QEMU's UART. */
const PL011 = {
  node: 'pl011',
  compatible: ['arm,pl011', 'arm,primecell'], // /pl011@9000000 compatible
  reg: [{ base: 0x0900_0000, size: 0x1000 }], // /pl011@9000000 reg
  interrupts: [spiLevel(1)], // /pl011@9000000 interrupts <0 1 4>
  clocks: { uartclk: ARM_VIRT_APB_PCLK_HZ, apb_pclk: ARM_VIRT_APB_PCLK_HZ }, // clock-names "uartclk", "apb_pclk"
  serial: true,
} as const;

/** The real UART: the management partition's console. */
export const ARM_VIRT_UART0 = { name: 'uart0', ...PL011, dma: { kind: 'none' } } as const satisfies BoardDevice;

/**
 * Each partition gets its own PL011 from the monitor at the real
 * one's address (in the QEMU backend: its QEMU's own UART).
 */
export const ARM_VIRT_CONSOLE = {
  kind: 'virtual-uart',
  device: { name: 'vuart0', ...PL011 },
} as const satisfies ConsoleArrangement;

/** `/flash@0`: two CFI banks of 64 MiB (firmware code and variables). */
export const ARM_VIRT_FLASH0 = {
  name: 'flash0',
  node: 'flash',
  compatible: ['cfi-flash'], // /flash@0 compatible
  reg: [
    { base: 0x0000_0000, size: 64 * MiB }, // /flash@0 reg[0]
    { base: 0x0400_0000, size: 64 * MiB }, // /flash@0 reg[1]
  ],
  interrupts: [],
  dma: { kind: 'none' },
  properties: { 'bank-width': [4] }, // /flash@0 bank-width
} as const satisfies BoardDevice;

/** `/pl031@9010000`: the RTC. */
export const ARM_VIRT_RTC0 = {
  name: 'rtc0',
  node: 'pl031',
  compatible: ['arm,pl031', 'arm,primecell'], // /pl031@9010000 compatible
  reg: [{ base: 0x0901_0000, size: 0x1000 }], // /pl031@9010000 reg
  interrupts: [spiLevel(2)], // /pl031@9010000 interrupts <0 2 4>
  dma: { kind: 'none' },
  clocks: { apb_pclk: ARM_VIRT_APB_PCLK_HZ }, // /pl031@9010000 clock-names
} as const satisfies BoardDevice;

/** `/fw-cfg@9020000`: QEMU's firmware configuration interface; its DMA interface reaches all of RAM unconfined. */
export const ARM_VIRT_FW_CFG0 = {
  name: 'fw-cfg0',
  node: 'fw-cfg',
  compatible: ['qemu,fw-cfg-mmio'], // /fw-cfg@9020000 compatible
  reg: [{ base: 0x0902_0000, size: 0x18 }], // /fw-cfg@9020000 reg
  interrupts: [],
  dma: { kind: 'unconfined' },
  properties: { 'dma-coherent': true }, // /fw-cfg@9020000 dma-coherent
} as const satisfies BoardDevice;

/** `/pl061@9030000`: the GPIO controller (QEMU wires its line 3 to the `/gpio-keys/poweroff` button). */
export const ARM_VIRT_GPIO0 = {
  name: 'gpio0',
  node: 'pl061',
  compatible: ['arm,pl061', 'arm,primecell'], // /pl061@9030000 compatible
  reg: [{ base: 0x0903_0000, size: 0x1000 }], // /pl061@9030000 reg
  interrupts: [spiLevel(7)], // /pl061@9030000 interrupts <0 7 4>
  dma: { kind: 'none' },
  clocks: { apb_pclk: ARM_VIRT_APB_PCLK_HZ }, // /pl061@9030000 clock-names
  properties: { 'gpio-controller': true, '#gpio-cells': [2] }, // /pl061@9030000
} as const satisfies BoardDevice;

/** `/virtio_mmio@a000000` … `@a003e00`: 32 transports, each `reg` 0x200 long and this far apart. */
const VIRTIO_MMIO_BASE = 0x0a00_0000;
const VIRTIO_MMIO_SIZE = 0x200;
const VIRTIO_MMIO_COUNT = 32;
/** `/virtio_mmio@a000000` interrupts <0 16 1>: transport i raises SPI 16 + i, edge-rising. */
const VIRTIO_MMIO_FIRST_SPI = 16;

/**
 * virtio0 … virtio31 in address order; virtioN is QEMU's `virtio-mmio-bus.N`. QEMU has no SMMU in front
 * of them, so the stream id is the monitor's confinement tag for the transport: its index.
 */
export const ARM_VIRT_VIRTIO: readonly BoardDevice[] = Array.from({ length: VIRTIO_MMIO_COUNT }, (_, i) => ({
  name: `virtio${i}`,
  node: 'virtio_mmio',
  compatible: ['virtio,mmio'],
  reg: [{ base: VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE, size: VIRTIO_MMIO_SIZE }],
  interrupts: [{ type: 'spi', number: VIRTIO_MMIO_FIRST_SPI + i, trigger: 'edge-rising' }],
  dma: { kind: 'stream-id', streamId: i },
  properties: { 'dma-coherent': true },
}));

/** `/pcie@…` interrupt-map: INTA–INTD of every slot land on SPIs 3–6, level-high. */
export const ARM_VIRT_PCIE_INTX = [spiLevel(3), spiLevel(4), spiLevel(5), spiLevel(6)] as const;

/**
 * Management partition: core 0, the first 128 MiB of RAM (partitions start at 0x48000000), the real UART, and
 * what a management Linux keeps: the firmware flash, fw-cfg and the PCIe host (DMA the monitor cannot confine).
 * The RTC and the GPIO stay assignable: they are the simple, DMA-free devices a bare-metal partition can own,
 * and the management Linux needs neither (it powers off through PSCI SYSTEM_OFF, not the gpio-keys button).
 */
export const ARM_VIRT_MANAGEMENT = {
  owner: 'management',
  cpus: [0],
  memory: [{ base: 0x4000_0000, size: 128 * MiB }],
  devices: ['uart0', 'flash0', 'fw-cfg0', 'pcie0'],
} as const satisfies Reservation;

/** What differs between the ARM `virt` boards; everything else is the machine's common layout above. */
export interface ArmVirtVariant {
  readonly name: string;
  readonly arch: 'aarch64' | 'armv7';
  /** `/cpus/cpu@N` compatible. */
  readonly cpuCompatible: string;
  /** `/memory@40000000` size. */
  readonly ramSize: number;
  readonly timer: 'armv8-timer' | 'armv7-timer';
  /** `/psci` function ids: SMC64 for calls that pass addresses on ARMv8, SMC32 on ARMv7. */
  readonly psciIds: PsciFunctionIds;
  /** `/pcie@10000000`: its ECAM and windows depend on highmem. */
  readonly pcie0: BoardDevice;
  readonly qemu: QemuMachine;
}

/** An ARM `virt` board: 8 cores (one cluster, MPIDR = logical id), RAM at 0x40000000, GICv2. */
export function armVirtBoard(v: ArmVirtVariant): Board {
  return {
    name: v.name,
    arch: v.arch,
    model: 'linux,dummy-virt', // / model
    compatible: ['linux,dummy-virt'], // / compatible
    // `/cpus/cpu@N`: reg N is the MPIDR affinity (one cluster of 8 under GICv2).
    cpus: Array.from({ length: 8 }, (_, id) => ({ id, hwid: id, compatible: v.cpuCompatible })),
    memory: [{ base: 0x4000_0000, size: v.ramSize }], // /memory@40000000 reg
    interruptController: ARM_VIRT_GIC,
    timer: { kind: v.timer, ppis: ARM_VIRT_TIMER_PPIS, alwaysOn: true }, // /timer
    power: { kind: 'psci', method: ARM_VIRT_PSCI_METHOD, compatible: ARM_VIRT_PSCI_COMPATIBLE, functionIds: v.psciIds },
    devices: [
      ARM_VIRT_FLASH0,
      ARM_VIRT_UART0,
      ARM_VIRT_RTC0,
      ARM_VIRT_FW_CFG0,
      ARM_VIRT_GPIO0,
      ...ARM_VIRT_VIRTIO,
      v.pcie0,
    ],
    reserved: [ARM_VIRT_MANAGEMENT],
    console: ARM_VIRT_CONSOLE,
    qemu: v.qemu,
  };
}
