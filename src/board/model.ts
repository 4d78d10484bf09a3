// The board model: what a board offers and what is already spoken for.
// Pure data types; built-in boards live in ./builtin/, custom ones come from board.yaml.

/** The CPU architectures vman partitions. */
export type Arch = 'aarch64' | 'armv7' | 'riscv64';

/** A physical address range in bytes; `base + size` is one past the end. */
export interface MemRange {
  readonly base: number;
  readonly size: number;
}

/**
 * One core of the board. `id` is the logical id used everywhere in vman; `hwid` is what hardware and device trees use.
 */
export interface BoardCpu {
  /** Logical id, 0 … n-1 in board order. */
  readonly id: number;
  /** Hardware id: MPIDR affinity bits on ARM, hart id on RISC-V. */
  readonly hwid: number;
  /** The cpu node's `compatible`, e.g. "arm,cortex-a57" or "riscv". */
  readonly compatible: string;
  /** RISC-V only: `riscv,isa`, e.g. "rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc". */
  readonly isa?: string;
  /** RISC-V only: `mmu-type`, e.g. "riscv,sv57". */
  readonly mmuType?: string;
}

/** The interrupt controller(s) of a board, one variant per family. */
export type InterruptController =
  | {
      readonly kind: 'gicv2';
      /** Node `compatible`, e.g. "arm,cortex-a15-gic". */
      readonly compatible: string;
      readonly distributor: MemRange;
      readonly cpuInterface: MemRange;
      /** Optional GICv2m MSI frame, assigned with PCI only. */
      readonly v2m?: MemRange;
    }
  | {
      readonly kind: 'gicv3';
      readonly compatible: string;
      readonly distributor: MemRange;
      /** One redistributor region covering every core (stride 0x20000 per core). */
      readonly redistributor: MemRange;
    }
  | {
      readonly kind: 'plic';
      /** PLIC compatible list, e.g. ["sifive,plic-1.0.0", "riscv,plic0"]. */
      readonly compatible: readonly string[];
      readonly reg: MemRange;
      /** `riscv,ndev`: number of interrupt sources. */
      readonly ndev: number;
      /** The core-local interruptor: a SiFive CLINT (one region). */
      readonly clint: { readonly compatible: readonly string[]; readonly reg: MemRange };
    };

/** The architected timer (ARM) or the time base (RISC-V). */
export type Timer =
  | {
      readonly kind: 'armv8-timer' | 'armv7-timer';
      /** PPIs in the order secure, non-secure, virtual, hypervisor (GIC PPI numbers, e.g. 13, 14, 11, 10). */
      readonly ppis: readonly [number, number, number, number];
      /** Whether the timer node says `always-on`. */
      readonly alwaysOn: boolean;
    }
  | {
      readonly kind: 'riscv-timebase';
      /** `/cpus/timebase-frequency` in Hz. */
      readonly frequency: number;
    };

/** PSCI function ids the `psci` node lists (QEMU writes them beside the 0.2+ compatibles; PSCI 0.1 needs them). */
export interface PsciFunctionIds {
  readonly cpu_suspend: number;
  readonly cpu_off: number;
  readonly cpu_on: number;
  readonly migrate: number;
}

/** How a partition's OS starts and stops its cores. */
export type PowerInterface =
  | {
      readonly kind: 'psci';
      readonly method: 'hvc' | 'smc';
      readonly compatible: readonly string[];
      /** The node's `cpu_suspend`, `cpu_off`, `cpu_on`, `migrate` properties, when the board's tree carries them. */
      readonly functionIds?: PsciFunctionIds;
    }
  | { readonly kind: 'sbi' };

/** One interrupt of a device, in the form the board's interrupt controller takes. */
export type DeviceInterrupt =
  | { readonly type: 'spi'; readonly number: number; readonly trigger: 'edge-rising' | 'level-high' }
  | { readonly type: 'plic'; readonly number: number };

/**
 * How the monitor confines a DMA master. `none`: the device does no DMA;
 * `unconfined`: it masters DMA the monitor cannot confine (never assignable).
 */
export type DmaConfinement =
  | { readonly kind: 'none' }
  | { readonly kind: 'iommu'; readonly iommu: string }
  | { readonly kind: 'stream-id'; readonly streamId: number }
  | { readonly kind: 'unconfined' };

/** A value a device node carries verbatim: a string, a string list, or a list of 32-bit cells. */
export type PropertyValue = string | readonly string[] | readonly number[] | true;

/** A device the board can give to one partition. */
export interface BoardDevice {
  /** Name used in manifests (`spec.devices`), e.g. "virtio0". */
  readonly name: string;
  /** Device tree node name without unit address, e.g. "virtio_mmio". */
  readonly node: string;
  readonly compatible: readonly string[];
  readonly reg: readonly MemRange[];
  readonly interrupts: readonly DeviceInterrupt[];
  /** Whether the device masters DMA, and if so how the monitor confines it. */
  readonly dma: DmaConfinement;
  /** Fixed-clock inputs, by clock-names entry (e.g. {apb_pclk: 24000000}). */
  readonly clocks?: Readonly<Record<string, number>>;
  /** Further properties copied into the device's node (e.g. {"dma-coherent": true}). */
  readonly properties?: Readonly<Record<string, PropertyValue>>;
  /** A console device: the alias it gets (`serial0`) when a partition uses it as its console. */
  readonly serial?: boolean;
}

/** What the management partition or the monitor holds for itself. */
export interface Reservation {
  readonly owner: 'management' | 'monitor';
  /** Logical core ids. */
  readonly cpus: readonly number[];
  readonly memory: readonly MemRange[];
  /** Device names. */
  readonly devices: readonly string[];
}

/** How a partition gets its console. */
export type ConsoleArrangement =
  | {
      /** The monitor gives each partition a virtual UART of its own at the same address. */
      readonly kind: 'virtual-uart';
      readonly device: Omit<BoardDevice, 'name' | 'dma'> & { readonly name: string };
    }
  | {
      /** Partitions use a UART assigned to them from `devices`. */
      readonly kind: 'assigned';
    };

/** What the QEMU backend needs to emulate this board. */
export interface QemuMachine {
  /** e.g. "qemu-system-aarch64". */
  readonly binary: string;
  /** -machine value, e.g. "virt,gic-version=2". */
  readonly machine: string;
  /** -cpu value, e.g. "cortex-a57". */
  readonly cpu: string;
  /** Base of the machine's RAM: the QEMU process gets RAM from here to the partition's end. */
  readonly ramBase: number;
}

/** A whole board. */
export interface Board {
  readonly name: string;
  readonly arch: Arch;
  /** Root `model` of the board's own tree, e.g. "linux,dummy-virt". */
  readonly model: string;
  /** Root `compatible` of the board's own tree. */
  readonly compatible: readonly string[];
  readonly cpus: readonly BoardCpu[];
  readonly memory: readonly MemRange[];
  readonly interruptController: InterruptController;
  readonly timer: Timer;
  readonly power: PowerInterface;
  readonly devices: readonly BoardDevice[];
  readonly reserved: readonly Reservation[];
  readonly console: ConsoleArrangement;
  readonly qemu?: QemuMachine;
  /** Where a custom board came from, for diagnostics. */
  readonly source?: string;
}
