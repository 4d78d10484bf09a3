// Tiny boot stubs, as little-endian machine code: they set the registers each boot protocol
// wants and jump to the kernel (ARM), or to OpenSBI (RISC-V); the ARM "release" stub runs on
// CPU0 of a QEMU machine and starts the partition's boot core through PSCI.
// Position independent (the QEMU backend places each stub where its machine has room:
// src/backends/qemu/machine.ts), no data loads (the ARM result word is the one store).

import * as a32 from './a32.js';
import * as a64 from './a64.js';
import { align, assemble, label, type Item } from './asm.js';
import * as rv from './rv64.js';

/**
 * PSCI function IDs (SMC32 and SMC64 conventions) — Arm DEN 0022 "Arm Power State Coordination Interface", chapter 5.
 */
export const PSCI = {
  CPU_OFF: 0x84000002,
  CPU_ON_32: 0x84000003,
  CPU_ON_64: 0xc4000003,
} as const;

/** What the release stub's result word holds before CPU_ON returns (CPU_ON writes 0 or a negative PSCI error). */
export const RELEASE_RESULT_PENDING = 1;

/** Size of the release stub's result word, which is always the stub's last bytes. */
export const RELEASE_RESULT_BYTES = { aarch64: 8, armv7: 4 } as const;

/** Where to enter a kernel or image, and the DTB it gets. Physical addresses. */
export interface KernelEntry {
  readonly dtb: number;
  readonly entry: number;
}

/** The release stub also needs the partition's boot core, and how PSCI is reached. */
export interface ReleaseOptions extends KernelEntry {
  /** The boot core's MPIDR affinity bits (the board's `hwid`). */
  readonly bootMpidr: number;
  /** PSCI conduit; QEMU's built-in PSCI (no firmware, EL1/SVC) answers HVC. */
  readonly conduit?: 'hvc' | 'smc';
}

/**
 * MPIDR_EL1 affinity fields Aff3 [39:32] and Aff2..Aff0 [23:0] (DDI 0487 D23 "MPIDR_EL1"); PSCI CPU_ON takes this form.
 */
const MPIDR_AFFINITY_MASK_64 = 0xff00ffffffn;
/** AArch32 MPIDR Aff2..Aff0 [23:0]; bits 31 (M), 30 (U) and 24 (MT) are not affinity (DDI 0406C B4.1 "MPIDR"). */
const MPIDR_NON_AFFINITY_32 = 0xff000000;

function address(value: number, bits: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0 || BigInt(value) >= 2n ** BigInt(bits)) {
    throw new RangeError(`${what} ${value} is not a ${bits}-bit address`);
  }
  return BigInt(value);
}

// ---- ARMv8 (A64) ---------------------------------------------------------------------------

// booting.rst §4: x0 = DTB, x1 = x2 = x3 = 0, then branch to the Image's first byte.
function arm64Entry(o: KernelEntry): number[] {
  const entry = address(o.entry, 64, 'entry');
  if (entry % 4n !== 0n) throw new RangeError(`entry ${o.entry} is not 4-byte aligned`);
  return [
    ...a64.movImm64(0, address(o.dtb, 64, 'dtb')),
    a64.movz(1, 0, 0),
    a64.movz(2, 0, 0),
    a64.movz(3, 0, 0),
    ...a64.movImm64(4, entry),
    a64.br(4),
  ];
}

/** ARMv8 kernel entry: x0 = dtb, x1 = x2 = x3 = 0, branch to entry (any 64-bit addresses). */
export function arm64KernelEntryStub(o: KernelEntry): Uint8Array {
  return assemble([arm64Entry(o)]);
}

/**
 * ARMv8 release stub for CPU0: if this core is not the partition's boot core, PSCI CPU_ON
 * (SMC64 id) the boot core at the entry code below (context 0), store the PSCI result in the
 * last 8 bytes, then CPU_OFF itself; if it is, fall through to the entry code.
 */
export function arm64ReleaseStub(o: ReleaseOptions): Uint8Array {
  const call = o.conduit === 'smc' ? a64.smc(0) : a64.hvc(0);
  return assemble([
    a64.mrsMpidr(5),
    a64.movImm64(6, MPIDR_AFFINITY_MASK_64),
    a64.and(5, 5, 6),
    a64.movImm64(1, address(o.bootMpidr, 40, 'bootMpidr') & MPIDR_AFFINITY_MASK_64),
    a64.cmp(5, 1),
    (here, at) => a64.bcond(a64.Cond.EQ, at('enter') - here),
    a64.movImm64(0, BigInt(PSCI.CPU_ON_64)),
    (here, at) => a64.adr(2, at('enter') - here),
    a64.movz(3, 0, 0),
    call,
    (here, at) => a64.adr(7, at('result') - here),
    a64.str(0, 7),
    a64.movImm64(0, BigInt(PSCI.CPU_OFF)),
    call,
    label('park'),
    a64.wfi(),
    (here, at) => a64.b(at('park') - here),
    label('enter'),
    arm64Entry(o),
    align(8),
    label('result'),
    [RELEASE_RESULT_PENDING, 0],
  ]);
}

// ---- ARMv7 (A32) ---------------------------------------------------------------------------

// Documentation/arch/arm/booting.rst §6: r0 = 0, r1 = ~0 (DT only), r2 = DTB; BX keeps ARM state for an even entry.
function armv7Entry(o: KernelEntry): number[] {
  return [
    a32.mov(0, 0),
    a32.mvn(1, 0),
    ...a32.movImm32(2, Number(address(o.dtb, 32, 'dtb'))),
    ...a32.movImm32(3, Number(address(o.entry, 32, 'entry'))),
    a32.bx(3),
  ];
}

/** ARMv7 kernel entry: r0 = 0, r1 = 0xffffffff, r2 = dtb, BX to entry (bit 0 set enters Thumb, for a Thumb ELF). */
export function armv7KernelEntryStub(o: KernelEntry): Uint8Array {
  return assemble([armv7Entry(o)]);
}

/** ARMv7 release stub for CPU0, as arm64ReleaseStub with the SMC32 CPU_ON id; the result is the last 4 bytes. */
export function armv7ReleaseStub(o: ReleaseOptions): Uint8Array {
  const call = o.conduit === 'smc' ? a32.smc(0) : a32.hvc(0);
  return assemble([
    a32.mrcMpidr(5),
    a32.bic(5, 5, MPIDR_NON_AFFINITY_32),
    a32.movImm32(1, Number(address(o.bootMpidr, 24, 'bootMpidr'))),
    a32.cmp(5, 1),
    (here, at) => a32.b(at('enter') - here, a32.Cond.EQ),
    a32.movImm32(0, PSCI.CPU_ON_32),
    (here, at) => a32.adr(2, at('enter') - here),
    a32.mov(3, 0),
    call,
    (here, at) => a32.adr(7, at('result') - here),
    a32.str(0, 7),
    a32.movImm32(0, PSCI.CPU_OFF),
    call,
    label('park'),
    a32.wfi(),
    (here, at) => a32.b(at('park') - here),
    label('enter'),
    armv7Entry(o),
    label('result'),
    RELEASE_RESULT_PENDING,
  ]);
}

// ---- RISC-V (RV64) -------------------------------------------------------------------------

export interface RiscvBootOptions {
  /** Hart ids that go on to OpenSBI (the partition's); every other hart parks in a WFI loop. */
  readonly harts: readonly number[];
  /** The partition's boot hart, one of `harts`: the only one that enters OpenSBI at once. */
  readonly bootHart: number;
  readonly dtb: number;
  /** Address of the fw_dynamic_info structure (see fwDynamicInfo). */
  readonly fwDynamicInfo: number;
  /** Entry of OpenSBI's fw_dynamic firmware. */
  readonly firmware: number;
  /**
   * Where the hart id comes from: `mhartid` reads the CSR (M-mode only, the case before OpenSBI),
   * `a0` keeps what the previous stage left there (QEMU's reset vector does so).
   */
  readonly hartIdFrom?: 'mhartid' | 'a0';
}

/**
 * RISC-V stub in M-mode, run by every hart: a0 = hart id; harts not in `harts` park. The boot
 * hart jumps to OpenSBI with a1 = dtb and a2 = fw_dynamic_info (fw_dynamic.md); the partition's
 * other harts first wait for a machine software interrupt. OpenSBI 1.1 picks its cold-boot hart
 * by lottery among the harts that enter (lib/sbi/sbi_init.c; boot_hart only steers relocation in
 * firmware/fw_base.S),
 * so they enter only when the OS starts them (SBI HSM hart_start sends that IPI) and find
 * themselves START_PENDING on OpenSBI's warm-boot path.
 */
export function riscvBootStub(o: RiscvBootOptions): Uint8Array {
  if (o.harts.length === 0) throw new RangeError('riscvBootStub needs at least one hart');
  if (!o.harts.includes(o.bootHart))
    throw new RangeError(`boot hart ${o.bootHart} is not one of the harts ${o.harts.join(', ')}`);
  const firmware = address(o.firmware, 64, 'firmware');
  if (firmware % 4n !== 0n) throw new RangeError(`firmware entry ${o.firmware} is not 4-byte aligned`);
  const harts = [...new Set(o.harts)].map((h) => address(h, 64, 'hart id'));
  const { zero, t0, t1, a0, a1, a2 } = rv.X;
  const items: Item[] = [rv.csrw(rv.CSR_MIE, zero)];
  if ((o.hartIdFrom ?? 'mhartid') === 'mhartid') items.push(rv.csrr(a0, rv.CSR_MHARTID));
  for (const hart of harts) {
    items.push(...rv.liSequence(t0, hart), (here, at) => rv.beq(a0, t0, at('partition') - here));
  }
  items.push(
    label('park'),
    rv.wfi(),
    (here, at) => rv.jal(zero, at('park') - here),
    label('partition'),
    ...rv.liSequence(t0, address(o.bootHart, 64, 'bootHart')),
    (here, at) => rv.beq(a0, t0, at('enter') - here),
    // With mstatus.MIE clear no trap is taken: MSIP in mie only makes WFI return when it is pending.
    rv.addi(t1, zero, rv.MIP_MSIP),
    rv.csrw(rv.CSR_MIE, t1),
    label('wait'),
    rv.wfi(),
    rv.csrr(t1, rv.CSR_MIP),
    rv.andi(t1, t1, rv.MIP_MSIP),
    (here, at) => rv.beq(t1, zero, at('wait') - here),
    rv.csrw(rv.CSR_MIE, zero),
    label('enter'),
    ...rv.liSequence(a1, address(o.dtb, 64, 'dtb')),
    ...rv.liSequence(a2, address(o.fwDynamicInfo, 64, 'fwDynamicInfo')),
    ...rv.liSequence(t0, firmware),
    rv.jr(t0),
  );
  return assemble(items);
}

/** OpenSBI include/sbi/fw_dynamic.h: the structure FW_DYNAMIC finds through a2. */
export const FW_DYNAMIC_INFO = {
  MAGIC: 0x4942534f, // "OSBI"
  VERSION: 2, // version 2 adds boot_hart
  SIZE: 6 * 8,
  MODE: { U: 0, S: 1, M: 3 },
  /** enum sbi_scratch_options. */
  OPTIONS: { NO_BOOT_PRINTS: 1, DEBUG_PRINTS: 2 },
} as const;

export interface FwDynamicInfoOptions {
  /** Where OpenSBI jumps next: the kernel or bare-metal image. */
  readonly nextAddr: number;
  /** Privilege of the next stage; S for Linux. */
  readonly nextMode?: keyof typeof FW_DYNAMIC_INFO.MODE;
  /** sbi_scratch_options bits. */
  readonly options?: number;
  /** The hart that cold-boots OpenSBI; 'lottery' lets the first to arrive do it (-1). */
  readonly bootHart: number | 'lottery';
}

/** struct fw_dynamic_info for RV64: six little-endian unsigned longs. */
export function fwDynamicInfo(o: FwDynamicInfoOptions): Uint8Array {
  const out = new Uint8Array(FW_DYNAMIC_INFO.SIZE);
  const view = new DataView(out.buffer);
  const bootHart = o.bootHart === 'lottery' ? 2n ** 64n - 1n : address(o.bootHart, 64, 'bootHart');
  const fields = [
    BigInt(FW_DYNAMIC_INFO.MAGIC),
    BigInt(FW_DYNAMIC_INFO.VERSION),
    address(o.nextAddr, 64, 'nextAddr'),
    BigInt(FW_DYNAMIC_INFO.MODE[o.nextMode ?? 'S']),
    address(o.options ?? 0, 64, 'options'),
    bootHart,
  ];
  fields.forEach((v, i) => view.setBigUint64(i * 8, v, true));
  return out;
}
