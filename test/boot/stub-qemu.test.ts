// The generated stubs on QEMU 7.2's virt machines: each boots a bare-metal probe
// (test/fixtures/boot/probe.c) that prints the registers and core it was entered with.
// One short run per case; a run powers itself off (PSCI SYSTEM_OFF / SBI SRST).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arch } from '../../src/board/model.js';
import { describeElf } from '../../src/boot/image.js';
import {
  arm64ReleaseStub,
  armv7ReleaseStub,
  fwDynamicInfo,
  RELEASE_RESULT_BYTES,
  riscvBootStub,
} from '../../src/boot/stub.js';
import { run } from './support.js';

const fixtures = fileURLToPath(new URL('../fixtures/boot/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'vman-stub-qemu-'));
const OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin';

/**
 * Addresses in QEMU's virt RAM. ARM: QEMU writes its own DTB at the RAM base (firmware boot, hw/arm/boot.c);
 * the position-independent stub is placed to END at stubEnd, so its result word has a fixed address.
 */
const ARM = { dtb: 0x40000000, stubEnd: 0x40180000, probe: 0x40200000 };
const RV = { stub: 0x80000000, info: 0x80100000, opensbi: 0x80200000, probe: 0x80400000, dtb: 0x82000000 };

const GCC: Record<Arch, { gcc: string; flags: string[] }> = {
  aarch64: { gcc: 'aarch64-linux-gnu-gcc', flags: ['-mgeneral-regs-only', '-mstrict-align'] },
  armv7: {
    gcc: 'arm-linux-gnueabihf-gcc',
    flags: ['-marm', '-march=armv7-a', '-mfloat-abi=soft', '-mno-unaligned-access'],
  },
  riscv64: { gcc: 'riscv64-linux-gnu-gcc', flags: ['-march=rv64imac_zicsr', '-mabi=lp64', '-mcmodel=medany'] },
};

/** Build the probe for `arch` at `address`; returns its path and its physical entry (from describeElf). */
function probe(
  arch: Arch,
  address: number,
  name: string,
  define: Record<string, number> = {},
): { path: string; entry: number } {
  const path = join(work, `${name}.elf`);
  const g = GCC[arch];
  const defines = Object.entries(define).map(([k, v]) => `-D${k}=0x${v.toString(16)}`);
  run(g.gcc, [
    '-nostdlib',
    '-ffreestanding',
    '-static',
    '-O2',
    '-fno-pic',
    '-no-pie',
    ...g.flags,
    ...defines,
    '-Wl,--build-id=none',
    '-Wl,-z,max-page-size=4096',
    `-Wl,-Ttext=0x${address.toString(16)}` /* ld reads it as hex */,
    '-o',
    path,
    join(fixtures, 'probe.c'),
  ]);
  const d = describeElf(new Uint8Array(readFileSync(path)), { arch });
  if (d.kind !== 'elf') throw new Error(`${d.code}: ${d.message}`);
  return { path, entry: d.entry };
}

interface Load {
  readonly file: string;
  readonly addr?: number;
  readonly cpu?: number;
}

/**
 * Run QEMU (multi-threaded TCG, so harts race as on hardware) until the guest powers off or 30 s pass; returns the
 * console output.
 */
function boot(binary: string, machine: readonly string[], loads: readonly Load[]): string {
  const log = join(work, 'console.log');
  writeFileSync(log, '');
  const devices = loads.flatMap((l) => [
    '-device',
    [
      'loader',
      `file=${l.file}`,
      ...(l.addr === undefined ? [] : [`addr=0x${l.addr.toString(16)}`, 'force-raw=on']),
      ...(l.cpu === undefined ? [] : [`cpu-num=${l.cpu}`]),
    ].join(','),
  ]);
  const r = spawnSync(
    binary,
    [...machine, '-nodefaults', '-display', 'none', '-serial', `file:${log}`, '-no-reboot', ...devices],
    {
      timeout: 30_000,
      killSignal: 'SIGKILL',
      encoding: 'utf8',
    },
  );
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new Error(`${binary} is missing (Debian qemu-system-arm / qemu-system-misc)`);
  return readFileSync(log, 'utf8') + (r.status === 0 ? '' : `\n[qemu exit ${r.status} ${r.signal ?? ''}: ${r.stderr}]`);
}

/** The probe's line as a map: r0..r3, core, result. */
function probeLine(console: string): Record<string, bigint> {
  const line = /^VMAN-STUB (.*)$/m.exec(console);
  if (!line) throw new Error(`no probe output in:\n${console}`);
  return Object.fromEntries(
    line[1]!
      .trim()
      .split(' ')
      .map((kv) => kv.split('=') as [string, string])
      .map(([k, v]) => [k, BigInt(v)]),
  );
}

function file(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

const ARM_MACHINES = {
  aarch64: {
    binary: 'qemu-system-aarch64',
    machine: ['-machine', 'virt,gic-version=2', '-cpu', 'cortex-a57', '-smp', '4', '-m', '256M'],
  },
  armv7: {
    binary: 'qemu-system-arm',
    machine: ['-machine', 'virt,gic-version=2', '-cpu', 'cortex-a15', '-smp', '4', '-m', '256M'],
  },
} as const;

for (const arch of ['aarch64', 'armv7'] as const) {
  const releaseStub = arch === 'aarch64' ? arm64ReleaseStub : armv7ReleaseStub;

  test(`${arch} release stub on CPU0 starts core 2 by PSCI CPU_ON with the boot registers, and records success`, () => {
    const p = probe(arch, ARM.probe, `${arch}-release`, { RESULT_ADDR: ARM.stubEnd - RELEASE_RESULT_BYTES[arch] });
    const stub = releaseStub({ dtb: ARM.dtb, entry: p.entry, bootMpidr: 2 });
    const m = ARM_MACHINES[arch];
    const out = probeLine(
      boot(m.binary, m.machine, [
        { file: file(`${arch}-stub.bin`, stub), addr: ARM.stubEnd - stub.length, cpu: 0 },
        { file: p.path },
      ]),
    );
    assert.is(out.core! & 0xff00ffffffn, 2n, 'runs on the boot core');
    assert.is(out.result, 0n, 'CPU_ON returned SUCCESS');
    if (arch === 'aarch64') assert.equal([out.r0, out.r1, out.r2, out.r3], [BigInt(ARM.dtb), 0n, 0n, 0n]);
    else assert.equal([out.r0, out.r1, out.r2], [0n, 0xffffffffn, BigInt(ARM.dtb)]);
  });

  test(`${arch} release stub falls through to the entry code when the boot core is CPU0`, () => {
    const p = probe(arch, ARM.probe, `${arch}-direct`);
    const stub = releaseStub({ dtb: ARM.dtb, entry: p.entry, bootMpidr: 0 });
    const m = ARM_MACHINES[arch];
    const out = probeLine(
      boot(m.binary, m.machine, [
        { file: file(`${arch}-stub0.bin`, stub), addr: ARM.stubEnd - stub.length, cpu: 0 },
        { file: p.path },
      ]),
    );
    assert.is(out.core! & 0xff00ffffffn, 0n);
    assert.is(out.r0, arch === 'aarch64' ? BigInt(ARM.dtb) : 0n);
  });
}

test("riscv64 stub: the boot hart boots OpenSBI; the partition's other hart waits for HSM; foreign harts park", () => {
  if (!existsSync(OPENSBI)) throw new Error(`${OPENSBI} is missing (Debian opensbi)`);
  const machine = ['-machine', 'virt', '-smp', '4', '-m', '256M', '-bios', 'none'];
  const dtb = join(work, 'virt.dtb');
  run('qemu-system-riscv64', [
    ...machine.map((a) => (a === 'virt' ? `virt,dumpdtb=${dtb}` : a)),
    '-nodefaults',
    '-display',
    'none',
  ]);
  // Hart 3 boots while hart 2, also the partition's, waits: without the wait, OpenSBI's lottery picks either.
  const cases = [
    { hartIdFrom: 'mhartid', harts: [2, 3], bootHart: 3, secondary: 2 },
    { hartIdFrom: 'mhartid', harts: [2, 3], bootHart: 2, secondary: 3 },
    { hartIdFrom: 'a0', harts: [0], bootHart: 0, secondary: undefined },
  ] as const;
  for (const c of cases) {
    const p = probe(
      'riscv64',
      RV.probe,
      `rv-probe-${c.bootHart}`,
      c.secondary === undefined ? {} : { SECONDARY_HART: c.secondary },
    );
    const stub = riscvBootStub({
      harts: c.harts,
      bootHart: c.bootHart,
      dtb: RV.dtb,
      fwDynamicInfo: RV.info,
      firmware: RV.opensbi,
      hartIdFrom: c.hartIdFrom,
    });
    const info = fwDynamicInfo({ nextAddr: p.entry, nextMode: 'S', bootHart: c.bootHart });
    // QEMU's reset vector sends every hart to the start of RAM, with a0 = mhartid: the stub is there.
    const console = boot('qemu-system-riscv64', machine, [
      { file: file('rv-stub.bin', stub), addr: RV.stub },
      { file: file('rv-info.bin', info), addr: RV.info },
      { file: OPENSBI, addr: RV.opensbi },
      { file: dtb, addr: RV.dtb },
      { file: p.path },
    ]);
    assert.ok(new RegExp(`Boot HART ID\\s+: ${c.bootHart}\\b`).test(console), console);
    const out = probeLine(console);
    assert.is(out.r0, BigInt(c.bootHart), `${c.hartIdFrom}: a0 = hart id`);
    assert.is(out.r1, BigInt(RV.dtb), 'a1 = dtb');
    assert.is(console.match(/^VMAN-STUB/gm)!.length, 1, 'only the boot hart enters the OS first');
    if (c.secondary !== undefined) assert.match(console, new RegExp(`^VMAN-HART-UP 0x${c.secondary}$`, 'm'));
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
