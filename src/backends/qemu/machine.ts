// One partition as one QEMU `virt` machine: how many CPUs and how much RAM it needs, what vman
// writes outside the partition to release its boot core, and the command line. Pure: the verified
// QEMU 7.2 arrangements of the boot stubs (src/boot/stub.ts), as data.
//
//   RAM      A file QEMU maps shared (memory-backend-file, share=on), handed to it as descriptor
//            RAM_FD: vman writes the boot files into it while QEMU builds its machine (ram.ts).
//
//   ARM      QEMU writes its own DTB at the RAM base (1 MiB, unused); the release stub goes right
//            above it and runs on CPU0 (`cpu-num=0`): PSCI CPU_ON (QEMU's, over HVC) starts the
//            partition's boot core at the kernel entry, then CPU0 turns itself off. Every other CPU
//            starts powered off.
//   RISC-V   Every hart runs from QEMU's reset ROM to the RAM base: the stub is there. It parks the
//            harts that are not the partition's, sends the boot hart into OpenSBI fw_dynamic (1 MiB
//            above, relocatable) and holds the others until OpenSBI's HSM IPI.
import type { Arch, Board, MemRange } from '../../board/model.js';
import {
  arm64ReleaseStub,
  armv7ReleaseStub,
  fwDynamicInfo,
  RELEASE_RESULT_BYTES,
  riscvBootStub,
} from '../../boot/stub.js';
import { formatRange } from '../../units/format.js';
import { overlaps } from '../../units/ranges.js';
import { SHUTDOWN_TRACE } from './power.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** ARM virt without -kernel/-bios still writes its own 1 MiB DTB at the RAM base ("firmware boot" convention). */
const ARM_QEMU_DTB_SIZE = 1 * MiB;
/** RISC-V: the stub at the RAM base (QEMU's reset ROM jumps there), fw_dynamic_info one page above it. */
const RISCV_INFO_OFFSET = 4 * KiB;
/** RISC-V: OpenSBI at a 1 MiB-aligned address, so its naturally aligned PMP region (512 KiB) fits. */
const RISCV_OPENSBI_OFFSET = 1 * MiB;
/** RISC-V: what the firmware window spans from the RAM base (stub, info, OpenSBI and its data). */
const RISCV_FIRMWARE_WINDOW = 2 * MiB;
/**
 * RISC-V: QEMU puts its own fdt in the last 2 MiB-aligned MiB below the RAM end (or below 3 GiB):
 * RAM reaches 2 MiB past the partition, so that tree lands outside it.
 */
const RISCV_QEMU_FDT_ROOM = 2 * MiB;
/** GICv2 names CPU interfaces 0-7; QEMU's virt puts 8 CPUs per cluster under GICv2 and 16 under GICv3. */
const ARM_CLUSTER = { gicv2: 8, gicv3: 16 } as const;

/** The descriptor under which QEMU finds the partition's RAM file (its memory-backend-file is /proc/self/fd/RAM_FD). */
export const RAM_FD = 4;

/** Bytes vman generates and writes outside the partition. */
export interface FirmwareBlob {
  readonly bytes: Uint8Array;
  readonly addr: number;
}

/** What the QEMU machine of one partition looks like. */
export interface MachineLayout {
  readonly arch: Arch;
  /** Where QEMU's RAM (and so the RAM file's first byte) starts. */
  readonly ramBase: number;
  /** -smp: the highest CPU index the partition uses, plus one. */
  readonly smp: number;
  /** -m in MiB: RAM from the machine's base to past the partition's end. */
  readonly ramMiB: number;
  readonly blobs: readonly FirmwareBlob[];
  /** ARM: CPU0 starts at the release stub (QEMU's generic loader sets its PC at every reset). */
  readonly startCpu0At?: number;
  /** OpenSBI fw_dynamic (RISC-V): loaded from the host's file. */
  readonly firmware?: { readonly addr: number };
  /** ARM: the release stub's result word (PSCI CPU_ON's return code), when CPU0 is not the boot core. */
  readonly releaseResult?: { readonly addr: number; readonly bytes: 4 | 8 };
  /** Addresses outside the partition that QEMU or vman write, for the overlap check. */
  readonly outside: readonly MemRange[];
}

export interface MachineInput {
  readonly board: Board;
  /** Logical core ids. */
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  readonly bootCpu: number;
  readonly entry: number;
  readonly dtbAddr: number;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
const hex = (n: number) => `0x${n.toString(16)}`;

/** The QEMU CPU index of a core: its position in QEMU's own numbering, which the MPIDR or hart id follows. */
export function qemuCpuIndex(board: Board, hwid: number): number | undefined {
  if (board.arch === 'riscv64') return hwid;
  const ic = board.interruptController.kind;
  const cluster = ic === 'gicv3' ? ARM_CLUSTER.gicv3 : ARM_CLUSTER.gicv2;
  const aff0 = hwid & 0xff;
  const aff1 = Math.floor(hwid / 0x100) & 0xff;
  if (aff0 >= cluster || hwid >= 0x10000) return undefined;
  return aff1 * cluster + aff0;
}

/** Lays out the partition's QEMU machine, or says why QEMU cannot run it. */
export function machineLayout(input: MachineInput): MachineLayout | { readonly problem: string } {
  const { board } = input;
  const q = board.qemu;
  if (!q)
    return {
      problem: `board ${board.name} says nothing about QEMU (no \`qemu\` section), so the qemu backend cannot run it`,
    };
  const cores = input.cpus.map((id) => board.cpus.find((c) => c.id === id));
  const boot = board.cpus.find((c) => c.id === input.bootCpu);
  if (cores.some((c) => !c) || !boot) return { problem: `core ${input.cpus.join(', ')} is not on board ${board.name}` };
  const indices: number[] = [];
  for (const c of cores) {
    const i = c ? qemuCpuIndex(board, c.hwid) : undefined;
    if (i === undefined)
      return { problem: `core ${c?.id} (hwid ${hex(c?.hwid ?? 0)}) has no CPU in QEMU's ${board.arch} virt machine` };
    indices.push(i);
  }
  const smp = Math.max(...indices) + 1;
  const end = input.memory.base + input.memory.size;
  if (input.memory.base < q.ramBase)
    return { problem: `memory ${formatRange(input.memory)} starts below QEMU's RAM at ${hex(q.ramBase)}` };

  if (board.arch === 'riscv64') {
    const window = { base: q.ramBase, size: RISCV_FIRMWARE_WINDOW };
    if (overlaps(window, input.memory))
      return {
        problem:
          `memory ${formatRange(input.memory)} overlaps ${formatRange(window)}, ` +
          'where the QEMU backend runs the boot stub and OpenSBI',
      };
    const info = q.ramBase + RISCV_INFO_OFFSET;
    const opensbi = q.ramBase + RISCV_OPENSBI_OFFSET;
    const stub = riscvBootStub({
      harts: cores.map((c) => c?.hwid ?? 0),
      bootHart: boot.hwid,
      dtb: input.dtbAddr,
      fwDynamicInfo: info,
      firmware: opensbi,
    });
    if (stub.length > RISCV_INFO_OFFSET)
      return {
        problem:
          `the boot stub for ${input.cpus.length} harts (${stub.length} bytes) ` + 'does not fit below fw_dynamic_info',
      };
    const fwInfo = fwDynamicInfo({ nextAddr: input.entry, nextMode: 'S', bootHart: boot.hwid });
    return {
      arch: board.arch,
      ramBase: q.ramBase,
      smp,
      ramMiB: Math.ceil((alignUp(end, 2 * MiB) + RISCV_QEMU_FDT_ROOM - q.ramBase) / MiB),
      blobs: [
        { bytes: stub, addr: q.ramBase },
        { bytes: fwInfo, addr: info },
      ],
      firmware: { addr: opensbi },
      outside: [window],
    };
  }

  const stubAddr = q.ramBase + ARM_QEMU_DTB_SIZE;
  const release = { dtb: input.dtbAddr, entry: input.entry, bootMpidr: boot.hwid };
  const stub = board.arch === 'aarch64' ? arm64ReleaseStub(release) : armv7ReleaseStub(release);
  const resultBytes = RELEASE_RESULT_BYTES[board.arch];
  const used = { base: q.ramBase, size: ARM_QEMU_DTB_SIZE + stub.length };
  if (overlaps(used, input.memory))
    return {
      problem:
        `memory ${formatRange(input.memory)} overlaps ${formatRange(used)}, ` +
        'where QEMU keeps its own device tree and the QEMU backend its release stub',
    };
  const bootIndex = qemuCpuIndex(board, boot.hwid);
  return {
    arch: board.arch,
    ramBase: q.ramBase,
    smp,
    ramMiB: Math.ceil((end - q.ramBase) / MiB),
    blobs: [{ bytes: stub, addr: stubAddr }],
    startCpu0At: stubAddr,
    ...(bootIndex !== 0 ? { releaseResult: { addr: stubAddr + stub.length - resultBytes, bytes: resultBytes } } : {}),
    outside: [used],
  };
}

export interface CommandInput {
  readonly board: Board;
  readonly name: string;
  readonly layout: MachineLayout;
  /** Absolute path of the console log (the process is found again by it). */
  readonly consoleLog: string;
  /** The QMP socket, relative to the process's working directory (a unix socket path holds 108 bytes only). */
  readonly qmpSocket: string;
  /** The console's input socket, relative like the QMP socket. */
  readonly consoleSocket: string;
}

/** The id of the serial port's chardev. */
const CONSOLE_CHARDEV = 'vman-console';
/** A value inside a QEMU option list: a comma is written twice. */
const optionValue = (v: string) => v.replaceAll(',', ',,');

/** The QEMU command line (binary, then arguments) for one partition; its RAM is the file at descriptor RAM_FD. */
export function qemuCommand(c: CommandInput): { readonly binary: string; readonly args: readonly string[] } {
  const q = c.board.qemu;
  if (!q) throw new Error(`bug: board ${c.board.name} has no qemu section`);
  const args = [
    '-name',
    `vman-${c.name}`,
    '-machine',
    `${q.machine},memory-backend=vman-ram`,
    '-cpu',
    q.cpu,
    ...(c.layout.arch === 'riscv64' ? ['-bios', 'none'] : []),
    '-smp',
    String(c.layout.smp),
    '-m',
    `${c.layout.ramMiB}M`,
    '-object',
    `memory-backend-file,id=vman-ram,mem-path=/proc/self/fd/${RAM_FD},share=on,size=${c.layout.ramMiB}M`,
    // -nodefaults: no NIC, serial, monitor or display of QEMU's own; the partition sees the board's devices alone.
    '-S',
    // A guest's power-off leaves QEMU (and the partition) in place, `shutdown`; a guest's reset ends it the
    // same way rather than re-entering the boot stub on memory that no longer holds what was loaded. The
    // trace tells the two apart afterwards (power.ts shutdownRequested): only a power-off is logged.
    '-no-shutdown',
    '-no-reboot',
    '-trace',
    `enable=${SHUTDOWN_TRACE}`,
    '-nodefaults',
    '-display',
    'none',
    // The serial port is a socket (`vman console` types into it) that logs all the guest writes to the
    // console log, whether or not anyone is connected: readiness and `vman console` read that file.
    '-chardev',
    `socket,id=${CONSOLE_CHARDEV},path=${optionValue(c.consoleSocket)},server=on,wait=off,` +
      `logfile=${optionValue(c.consoleLog)},logappend=on`,
    '-serial',
    `chardev:${CONSOLE_CHARDEV}`,
    '-qmp',
    `unix:${c.qmpSocket},server=on,wait=off`,
    ...(c.layout.startCpu0At === undefined ? [] : ['-device', `loader,addr=${hex(c.layout.startCpu0At)},cpu-num=0`]),
  ];
  return { binary: q.binary, args };
}
