// Shared by the payload tests: builds the RISC-V probe and the reference boot stubs
// (test/payloads/stubs/*.S) with Debian's cross binutils, writes partition trees for dtc,
// and runs QEMU until a console line or power-off. Addresses: ARM stub at 0x40100000, above the
// 1 MiB DTB QEMU writes at the RAM base; RISC-V stub at 0x80000000, where QEMU's reset ROM sends
// every hart, OpenSBI relocated to 0x80100000 (as src/backends/qemu/machine.ts arranges them).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PAYLOAD_SOURCES = fileURLToPath(new URL('./', import.meta.url));
export const OPENSBI_DYNAMIC = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin';
export const UBOOT_RISCV_SMODE = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
/** The payload cache scripts/fetch-payloads.sh fills. */
export const PAYLOAD_CACHE = process.env.VMAN_PAYLOAD_DIR ?? join(ROOT, '.cache', 'payloads');

const MiB = 1024 * 1024;

/** Debian packages that provide each tool, for the message a missing tool gives. */
const PACKAGES: Readonly<Record<string, string>> = {
  'aarch64-linux-gnu-as': 'binutils-aarch64-linux-gnu',
  'aarch64-linux-gnu-objcopy': 'binutils-aarch64-linux-gnu',
  'arm-linux-gnueabihf-as': 'binutils-arm-linux-gnueabihf',
  'arm-linux-gnueabihf-objcopy': 'binutils-arm-linux-gnueabihf',
  'riscv64-linux-gnu-as': 'binutils-riscv64-linux-gnu',
  'riscv64-linux-gnu-objcopy': 'binutils-riscv64-linux-gnu',
  'riscv64-linux-gnu-gcc': 'gcc-riscv64-linux-gnu',
  dtc: 'device-tree-compiler',
  'qemu-system-aarch64': 'qemu-system-arm',
  'qemu-system-arm': 'qemu-system-arm',
  'qemu-system-riscv64': 'qemu-system-misc',
  sh: 'dash',
};

/** Runs a tool to completion; a missing tool or a non-zero exit throws with its output. */
export function run(tool: string, args: readonly string[]): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.error)
    throw new Error(`${tool} could not run (${r.error.message}); install Debian package ${PACKAGES[tool] ?? tool}`);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A scratch directory removed when the process exits. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export type StubArch = 'aarch64' | 'arm' | 'riscv64';

const AS: Readonly<Record<StubArch, { prefix: string; flags: readonly string[] }>> = {
  aarch64: { prefix: 'aarch64-linux-gnu-', flags: [] },
  arm: { prefix: 'arm-linux-gnueabihf-', flags: [] },
  riscv64: { prefix: 'riscv64-linux-gnu-', flags: ['-march=rv64imac_zicsr'] },
};

/** Assembles test/payloads/stubs/ARCH.S into raw bytes. */
export function assembleStub(arch: StubArch, dir: string): Uint8Array {
  const { prefix, flags } = AS[arch];
  const obj = join(dir, `stub-${arch}.o`);
  const bin = join(dir, `stub-${arch}.bin`);
  run(`${prefix}as`, [...flags, '-o', obj, join(PAYLOAD_SOURCES, 'stubs', `${arch}.S`)]);
  run(`${prefix}objcopy`, ['-O', 'binary', obj, bin]);
  return new Uint8Array(readFileSync(bin));
}

/** Byte offsets of the data words vman patches in each reference stub. */
export const STUB_DATA = {
  aarch64: { target: 0x68, dtb: 0x70, kernel: 0x78, result: 0x80 },
  arm: { target: 0x5c, dtb: 0x60, kernel: 0x64, result: 0x68 },
  riscv64: { hartMask: 0x60, dtb: 0x68, opensbi: 0x70, fwInfo: 0x78 },
} as const;

/** OpenSBI include/sbi/fw_dynamic.h. */
const FW_DYNAMIC_MAGIC = 0x4942534fn;
const FW_DYNAMIC_VERSION = 2n;
const FW_DYNAMIC_MODE_S = 1n;

export interface RiscvStubWords {
  readonly harts: readonly number[];
  readonly bootHart: number;
  readonly dtb: number;
  readonly opensbi: number;
  readonly next: number;
}

/** The RISC-V reference stub with its hart mask, DTB, OpenSBI entry and fw_dynamic_info filled in. */
export function riscvStub(stub: Uint8Array, w: RiscvStubWords): Uint8Array {
  const out = stub.slice();
  const view = new DataView(out.buffer);
  const mask = w.harts.reduce((m, h) => m | (1n << BigInt(h)), 0n);
  view.setBigUint64(STUB_DATA.riscv64.hartMask, mask, true);
  view.setBigUint64(STUB_DATA.riscv64.dtb, BigInt(w.dtb), true);
  view.setBigUint64(STUB_DATA.riscv64.opensbi, BigInt(w.opensbi), true);
  const info = [FW_DYNAMIC_MAGIC, FW_DYNAMIC_VERSION, BigInt(w.next), FW_DYNAMIC_MODE_S, 0n, BigInt(w.bootHart)];
  info.forEach((v, i) => view.setBigUint64(STUB_DATA.riscv64.fwInfo + 8 * i, v, true));
  return out;
}

/** An ARM reference stub with target core, DTB and kernel entry filled in. */
export function armStub(
  arch: 'aarch64' | 'arm',
  stub: Uint8Array,
  w: { target: number; dtb: number; kernel: number },
): Uint8Array {
  const out = stub.slice();
  const view = new DataView(out.buffer);
  const at = STUB_DATA[arch];
  const put = (off: number, v: number) =>
    arch === 'aarch64' ? view.setBigUint64(off, BigInt(v), true) : view.setUint32(off, v, true);
  put(at.target, w.target);
  put(at.dtb, w.dtb);
  put(at.kernel, w.kernel);
  return out;
}

/** Compiles DTS text with dtc; returns the blob's path. */
export function compileDts(dir: string, name: string, dts: string): string {
  const src = join(dir, `${name}.dts`);
  const out = join(dir, `${name}.dtb`);
  writeFileSync(src, dts);
  run('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', out, src]);
  return out;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export interface RiscvTree {
  readonly model: string;
  readonly base: number;
  readonly size: number;
  /** The partition's harts (status "okay"). */
  readonly harts: readonly number[];
  /** Every hart the tree lists, in order; the ones not in `harts` get status "disabled". */
  readonly listed: readonly number[];
  readonly bootargs: string;
  /** Where the initrd was loaded (/chosen linux,initrd-start and -end), if any. */
  readonly initrd?: { readonly start: number; readonly end: number };
}

/** A QEMU virt RISC-V partition tree: CLINT and PLIC name every listed hart in order. */
export function riscvTreeDts(t: RiscvTree): string {
  const isa = 'rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc';
  const cpus = t.listed
    .map(
      (h) => `\t\tcpu${h}: cpu@${h} {
\t\t\tdevice_type = "cpu";
\t\t\treg = <${h}>;
\t\t\tstatus = "${t.harts.includes(h) ? 'okay' : 'disabled'}";
\t\t\tcompatible = "riscv";
\t\t\triscv,isa = "${isa}";
\t\t\tmmu-type = "riscv,sv48";
\t\t\tcpu${h}_intc: interrupt-controller {
\t\t\t\t#interrupt-cells = <1>;
\t\t\t\tinterrupt-controller;
\t\t\t\tcompatible = "riscv,cpu-intc";
\t\t\t};
\t\t};
`,
    )
    .join('');
  const clint = t.listed.map((h) => `&cpu${h}_intc 3 &cpu${h}_intc 7`).join(' ');
  const plic = t.listed.map((h) => `&cpu${h}_intc 11 &cpu${h}_intc 9`).join(' ');
  const initrd = t.initrd
    ? `\t\tlinux,initrd-start = <0x0 ${hex(t.initrd.start)}>;\n\t\tlinux,initrd-end = <0x0 ${hex(t.initrd.end)}>;\n`
    : '';
  return `/dts-v1/;
/ {
\t#address-cells = <2>;
\t#size-cells = <2>;
\tmodel = "${t.model}";
\tcompatible = "vman,partition", "riscv-virtio";
\tchosen {
\t\tbootargs = "${t.bootargs}";
\t\tstdout-path = "/soc/serial@10000000";
${initrd}\t};
\tmemory@${t.base.toString(16)} {
\t\tdevice_type = "memory";
\t\treg = <0x0 ${hex(t.base)} 0x0 ${hex(t.size)}>;
\t};
\tcpus {
\t\t#address-cells = <1>;
\t\t#size-cells = <0>;
\t\ttimebase-frequency = <10000000>;
${cpus}\t};
\tsoc {
\t\t#address-cells = <2>;
\t\t#size-cells = <2>;
\t\tcompatible = "simple-bus";
\t\tranges;
\t\tclint@2000000 {
\t\t\tcompatible = "sifive,clint0", "riscv,clint0";
\t\t\treg = <0x0 0x2000000 0x0 0x10000>;
\t\t\tinterrupts-extended = <${clint}>;
\t\t};
\t\tplic: plic@c000000 {
\t\t\tcompatible = "sifive,plic-1.0.0", "riscv,plic0";
\t\t\treg = <0x0 0xc000000 0x0 0x600000>;
\t\t\t#address-cells = <0>;
\t\t\t#interrupt-cells = <1>;
\t\t\tinterrupt-controller;
\t\t\triscv,ndev = <0x60>;
\t\t\tinterrupts-extended = <${plic}>;
\t\t};
\t\tserial@10000000 {
\t\t\tcompatible = "ns16550a";
\t\t\treg = <0x0 0x10000000 0x0 0x100>;
\t\t\tclock-frequency = <0x384000>;
\t\t\tinterrupt-parent = <&plic>;
\t\t\tinterrupts = <10>;
\t\t};
\t\ttest@100000 {
\t\t\tcompatible = "sifive,test1", "sifive,test0", "syscon";
\t\t\treg = <0x0 0x100000 0x0 0x1000>;
\t\t};
\t};
};
`;
}

export interface ArmTree {
  readonly arch: 'aarch64' | 'arm';
  readonly model: string;
  readonly base: number;
  readonly size: number;
  readonly cores: readonly number[];
  readonly bootargs: string;
  readonly initrd: { readonly start: number; readonly end: number };
}

/** A QEMU virt ARM partition tree (GICv2, PSCI over HVC, PL011 at 0x9000000). */
export function armTreeDts(t: ArmTree): string {
  const cpu = t.arch === 'aarch64' ? 'arm,cortex-a57' : 'arm,cortex-a15';
  const timer = t.arch === 'aarch64' ? '"arm,armv8-timer", "arm,armv7-timer"' : '"arm,armv7-timer"';
  // GICv2 PPI flags: bits 15:8 = the CPU interfaces (QEMU: cpu index = MPIDR) the PPI goes to.
  const ppi = hex((t.cores.reduce((m, c) => m | (1 << c), 0) << 8) | 4);
  const cpus = t.cores
    .map(
      (c) =>
        `\t\tcpu@${c} { device_type = "cpu"; compatible = "${cpu}"; reg = <${hex(c)}>; enable-method = "psci"; };\n`,
    )
    .join('');
  return `/dts-v1/;
/ {
\tmodel = "${t.model}";
\tcompatible = "vman,partition", "linux,dummy-virt";
\tinterrupt-parent = <&gic>;
\t#address-cells = <2>;
\t#size-cells = <2>;
\tchosen {
\t\tbootargs = "${t.bootargs}";
\t\tstdout-path = "/pl011@9000000";
\t\tlinux,initrd-start = <0x0 ${hex(t.initrd.start)}>;
\t\tlinux,initrd-end = <0x0 ${hex(t.initrd.end)}>;
\t};
\tmemory@${t.base.toString(16)} { device_type = "memory"; reg = <0x0 ${hex(t.base)} 0x0 ${hex(t.size)}>; };
\tcpus {
\t\t#address-cells = <1>;
\t\t#size-cells = <0>;
${cpus}\t};
\tpsci { compatible = "arm,psci-1.0", "arm,psci-0.2", "arm,psci"; method = "hvc"; };
\tgic: intc@8000000 {
\t\tcompatible = "arm,cortex-a15-gic";
\t\t#interrupt-cells = <3>;
\t\t#address-cells = <0>;
\t\tinterrupt-controller;
\t\treg = <0x0 0x8000000 0x0 0x10000>, <0x0 0x8010000 0x0 0x10000>;
\t};
\ttimer {
\t\tcompatible = ${timer};
\t\tinterrupts = <1 13 ${ppi}>, <1 14 ${ppi}>, <1 11 ${ppi}>, <1 10 ${ppi}>;
\t\talways-on;
\t};
\tapb_pclk: apb-pclk {
\t\tcompatible = "fixed-clock";
\t\t#clock-cells = <0>;
\t\tclock-frequency = <24000000>;
\t\tclock-output-names = "clk24mhz";
\t};
\tpl011@9000000 {
\t\tcompatible = "arm,pl011", "arm,primecell";
\t\treg = <0x0 0x9000000 0x0 0x1000>;
\t\tinterrupts = <0 1 4>;
\t\tclocks = <&apb_pclk>, <&apb_pclk>;
\t\tclock-names = "uartclk", "apb_pclk";
\t};
};
`;
}

/** A file placed in guest memory by QEMU's generic loader (and, with cpu, that CPU's PC). */
export interface Load {
  readonly file: string;
  readonly addr: number;
  readonly cpu?: number;
}

export function loaderArgs(loads: readonly Load[]): string[] {
  return loads.flatMap((l) => [
    '-device',
    `loader,file=${l.file},addr=${hex(l.addr)},force-raw=on${l.cpu === undefined ? '' : `,cpu-num=${l.cpu}`}`,
  ]);
}

export interface BootResult {
  /** Serial console output. */
  readonly console: string;
  /** Exit code of QEMU, or null when it was killed after the ready line. */
  readonly exitCode: number | null;
  /** Milliseconds from start to the ready line (or to the end). */
  readonly ms: number;
  readonly ready: boolean;
}

const POLL_MS = 20;

/**
 * Runs QEMU with its console in a file. Returns when `ready` appears (killing QEMU unless
 * `untilExit`), when QEMU exits, or after `timeoutMs` (then QEMU is killed).
 */
export function boot(
  dir: string,
  binary: string,
  args: readonly string[],
  o: { readonly ready: RegExp; readonly timeoutMs: number; readonly untilExit?: boolean },
): Promise<BootResult> {
  const log = join(dir, `console-${Date.now()}-${Math.random().toString(16).slice(2)}.log`);
  writeFileSync(log, '');
  const start = Date.now();
  const child = spawn(binary, ['-nodefaults', '-display', 'none', '-serial', `file:${log}`, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let readyAt: number | undefined;
    let exited: number | null | undefined;
    const read = () => (existsSync(log) ? readFileSync(log, 'latin1') : '');
    const finish = (exitCode: number | null) => {
      clearInterval(timer);
      resolve({
        console: read() + (stderr ? `\n[qemu stderr] ${stderr}` : ''),
        exitCode,
        ms: (readyAt ?? Date.now()) - start,
        ready: readyAt !== undefined,
      });
    };
    child.on('error', (e) => {
      clearInterval(timer);
      reject(new Error(`${binary} could not run (${e.message}); install Debian package ${PACKAGES[binary] ?? binary}`));
    });
    child.on('exit', (code) => {
      exited = code;
      if (readyAt === undefined && o.ready.test(read())) readyAt = Date.now();
      finish(code);
    });
    const timer = setInterval(() => {
      if (exited !== undefined) return;
      if (readyAt === undefined && o.ready.test(read())) {
        readyAt = Date.now();
        if (!o.untilExit) child.kill('SIGKILL');
      } else if (Date.now() - start > o.timeoutMs) {
        child.kill('SIGKILL');
      }
    }, POLL_MS);
  });
}

/** The `vman-probe: key=value` lines between VMAN-PROBE-BEGIN and VMAN-PROBE-END. */
export function probeFacts(console: string): Map<string, string> {
  const block = /^VMAN-PROBE-BEGIN\r?$([\s\S]*?)^VMAN-PROBE-END\r?$/m.exec(console);
  if (!block) throw new Error(`no probe block in the console:\n${console.slice(-4000)}`);
  const facts = new Map<string, string>();
  for (const m of block[1]!.matchAll(/^vman-probe: ([^=\r\n]+)=(.*?)\r?$/gm)) facts.set(m[1]!, m[2]!);
  return facts;
}
