// The RISC-V probe payload (test/payloads/riscv) and the reference stub
// (test/payloads/stubs/riscv64.S) under QEMU 7.2 with Debian's OpenSBI 1.1: a partition
// on some harts of a larger machine, the tree shape OpenSBI needs, and U-Boot S-mode.
// Each run takes well under a second.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assembleStub,
  boot,
  compileDts,
  loaderArgs,
  OPENSBI_DYNAMIC,
  PAYLOAD_SOURCES,
  probeFacts,
  riscvStub,
  riscvTreeDts,
  run,
  scratchDir,
  UBOOT_RISCV_SMODE,
  type Load,
} from './support.js';

const MiB = 1024 * 1024;
const dir = scratchDir('vman-riscv-probe-');
const built = run(join(PAYLOAD_SOURCES, 'riscv', 'build.sh'), [dir])
  .trim()
  .split('\n');
const PROBE_BIN = built[1]!;
const STUB = assembleStub('riscv64', dir);

/** QEMU virt RISC-V: RAM at 0x80000000; the monitor's region is its first 2 MiB. */
const RAM_BASE = 0x80000000;
const PARTITION = { base: 0x80200000, size: 256 * MiB };
const DTB = PARTITION.base + PARTITION.size - 2 * MiB;
/** Route (b) of the findings: QEMU's reset ROM sends every hart to RAM_BASE. */
const STUB_AT = RAM_BASE;
const OPENSBI_AT = 0x80100000;

interface Run {
  readonly name: string;
  readonly harts: readonly number[];
  readonly bootHart: number;
  /** Harts the tree lists (the foreign ones disabled); defaults to 0 … max hart. */
  readonly listed?: readonly number[];
  readonly payload?: string;
  readonly bootargs?: string;
  readonly ready?: RegExp;
  readonly untilExit?: boolean;
  /** Put the stub at 0x801ff000 and OpenSBI at RAM_BASE, and set every hart's PC with a loader device. */
  readonly perHartLoaders?: boolean;
}

function bootRiscv(r: Run) {
  const smp = Math.max(...r.harts) + 1;
  const listed = r.listed ?? Array.from({ length: smp }, (_, i) => i);
  const model = `vman partition ${r.name} (qemu-virt-riscv64)`;
  const dtb = compileDts(
    dir,
    r.name,
    riscvTreeDts({ model, ...PARTITION, harts: r.harts, listed, bootargs: r.bootargs ?? 'vman.after=poweroff' }),
  );
  const stubAt = r.perHartLoaders ? 0x801ff000 : STUB_AT;
  const opensbiAt = r.perHartLoaders ? RAM_BASE : OPENSBI_AT;
  const stub = join(dir, `${r.name}-stub.bin`);
  writeFileSync(
    stub,
    riscvStub(STUB, { harts: r.harts, bootHart: r.bootHart, dtb: DTB, opensbi: opensbiAt, next: PARTITION.base }),
  );
  const loads: Load[] = [
    { file: stub, addr: stubAt, ...(r.perHartLoaders ? { cpu: 0 } : {}) },
    { file: OPENSBI_DYNAMIC, addr: opensbiAt },
    { file: r.payload ?? PROBE_BIN, addr: PARTITION.base },
    { file: dtb, addr: DTB },
  ];
  const pcs = r.perHartLoaders
    ? Array.from({ length: smp - 1 }, (_, i) => [
        '-device',
        `loader,addr=0x${stubAt.toString(16)},cpu-num=${i + 1}`,
      ]).flat()
    : [];
  // 2 MiB beyond the partition, so QEMU's own fdt (top 2 MiB of RAM) lands outside it.
  const mem = (PARTITION.base + PARTITION.size - RAM_BASE + 2 * MiB) / MiB;
  return boot(
    dir,
    'qemu-system-riscv64',
    ['-machine', 'virt', '-bios', 'none', '-smp', String(smp), '-m', `${mem}M`, ...loaderArgs(loads), ...pcs],
    {
      ready: r.ready ?? /^VMAN-READY/m,
      timeoutMs: 15_000,
      untilExit: r.untilExit ?? true,
    },
  );
}

test('probe on harts 2,3 of 4: boots on hart 2, starts hart 3 via SBI HSM, sees its tree', async () => {
  const r = await bootRiscv({ name: 'p23', harts: [2, 3], bootHart: 2 });
  assert.ok(r.ready, r.console);
  const f = probeFacts(r.console);
  assert.is(f.get('boot_hart'), '0x2');
  assert.is(f.get('dt_harts'), '0x2,0x3');
  assert.is(f.get('hsm_start.0x3'), '0');
  assert.is(f.get('cpu_hwids'), '0x2,0x3');
  assert.is(f.get('cpus_count'), '2');
  assert.is(f.get('model'), 'vman partition p23 (qemu-virt-riscv64)');
  assert.is(f.get('dt_memory.memory@80200000'), '0x80200000+0x10000000');
  assert.is(f.get('dtb'), `0x${DTB.toString(16)}`);
  assert.is(f.get('bootargs'), 'vman.after=poweroff');
  // SBI_ERR_INVALID_PARAM: a hart outside the tree is not OpenSBI's to start.
  assert.is(f.get('hsm_start_foreign.0x0'), '-3');
  assert.match(r.console, /^Domain0 HARTs\s+: 2\*,3\*\r?$/m);
  // SBI SRST → OpenSBI's sifive_test → QEMU 7.2 exits 0 (it ignores -no-shutdown).
  assert.is(r.exitCode, 0);
});

test('the boot hart is the declared one, even when it is not the lowest', async () => {
  const r = await bootRiscv({ name: 'p56', harts: [5, 6], bootHart: 6 });
  const f = probeFacts(r.console);
  assert.is(f.get('boot_hart'), '0x6');
  assert.is(f.get('cpu_hwids'), '0x6,0x5');
  assert.is(f.get('hsm_start.0x5'), '0');
  assert.match(r.console, /^Boot HART ID\s+: 6\r?$/m);
});

test('per-hart loader PCs with OpenSBI at 0x80000000 work too', async () => {
  const r = await bootRiscv({ name: 'pl', harts: [1, 2], bootHart: 1, perHartLoaders: true });
  const f = probeFacts(r.console);
  assert.is(f.get('cpu_hwids'), '0x1,0x2');
  assert.match(r.console, /^Firmware Base\s+: 0x80000000\r?$/m);
});

test('a tree listing only the partition harts: OpenSBI 1.1 sends hart 3 its IPI at the wrong CLINT slot', async () => {
  const r = await bootRiscv({ name: 'only', harts: [2, 3], bootHart: 2, listed: [2, 3] });
  const f = probeFacts(r.console);
  assert.is(f.get('hsm_start.0x3'), '0');
  assert.is(f.get('cpu_hwids'), '0x2');
  // Hart 3 stays START_PENDING (2): msip[3 - first_hartid 2] is hart 1's.
  assert.match(f.get('hsm_status') ?? '', /(^|,)0x3:2(,|$)/);
});

test('U-Boot S-mode prints the model and memory of the partition tree', async () => {
  const r = await bootRiscv({
    name: 'uboot',
    harts: [2, 3],
    bootHart: 2,
    payload: UBOOT_RISCV_SMODE,
    bootargs: '',
    ready: /Hit any key to stop autoboot/,
    untilExit: false,
  });
  assert.ok(r.ready, r.console);
  assert.match(r.console, /^Model: vman partition uboot \(qemu-virt-riscv64\)\r?$/m);
  assert.match(r.console, /^DRAM:\s+256 MiB\r?$/m);
});

test('the probe payload is linked at 0x80200000 and enters there', () => {
  const header = run('riscv64-linux-gnu-readelf', ['-hlW', built[0]!]);
  assert.match(header, /Entry point address:\s+0x80200000/);
  assert.match(header, /LOAD\s+0x[0-9a-f]+ 0x0000000080200000 0x0000000080200000/);
  const bin = readFileSync(PROBE_BIN);
  assert.ok(bin.length > 0 && bin.length < 64 * 1024);
});

test.run();
