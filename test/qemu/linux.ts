// The Linux scenario the ARM and RISC-V suites run: two partitions side by side, the second dependsOn
// the first, each booting Debian's kernel with the busybox initramfs whose /init prints what it sees.
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import {
  hwidsOf,
  manifest,
  probeFacts,
  qemuProcessesUnder,
  readyTimes,
  running,
  type BoardJson,
  type QemuConfig,
  type StatusJson,
} from './support.js';

const MiB = 1024 * 1024;
/** Page tables, the initrd before it is freed, per-CPU areas: what a kernel reserves besides its own image. */
const KERNEL_SLACK = 8 * MiB;
/**
 * What a kernel reserves at boot whatever the partition's size, besides its image. riscv64: the
 * SPARSEMEM_EXTREME root array, sized for MAX_PHYSMEM_BITS 56 (Sv57): 2^(56 - 27) sections, 128 to a
 * root (4 KiB / 32-byte mem_section with PAGE_EXTENSION), 8 bytes a root: 32 MiB (memblock=debug
 * shows it allocated by sparse_init on Debian's 6.12).
 */
const FIXED_RESERVATIONS: Readonly<Record<LinuxCase['board'], number>> = {
  'qemu-virt-aarch64': 0,
  'qemu-virt-armv7': 0,
  'qemu-virt-riscv64': 32 * MiB,
};

/** cpus and memory of one partition, as manifest YAML values. */
export interface Placement {
  readonly cpus: string;
  readonly memory: string;
}

export interface LinuxCase {
  readonly board: 'qemu-virt-aarch64' | 'qemu-virt-armv7' | 'qemu-virt-riscv64';
  /** `uname -m` in the guest. */
  readonly uname: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly timeout: string;
  /** The console's device name in the bootargs: ttyAMA0 (PL011, the default) or ttyS0 (NS16550A). */
  readonly console?: string;
  /** Where each partition goes; by default 2 cores and 256 MiB, wherever vman places them. */
  readonly first?: Placement;
  readonly second?: Placement;
}

const DEFAULT_PLACEMENT: Placement = { cpus: '2', memory: '256Mi' };

/**
 * Bytes the kernel occupies once running, from its header: arm64 and RISC-V image_size (both at
 * offset 16); zImage TEXT_OFFSET + decompressed + BSS (KLSZ).
 */
function kernelFootprint(c: LinuxCase): number {
  const head = new Uint8Array(readFileSync(c.kernel)).slice(0, 64 * 1024);
  const v = new DataView(head.buffer);
  if (c.board !== 'qemu-virt-armv7') return Number(v.getBigUint64(16, true));
  const table = v.getUint32(0x38, true);
  const z = readFileSync(c.kernel);
  const zv = new DataView(z.buffer, z.byteOffset, z.byteLength);
  return (
    zv.getUint32(table + 16, true) + zv.getUint32(zv.getUint32(table + 8, true), true) + zv.getUint32(table + 12, true)
  );
}

const spec = (c: LinuxCase, at: Placement, bootargs: string, extra = '') =>
  `cpus: ${at.cpus}\nmemory: ${at.memory}\nboot:\n  kernel: ${c.kernel}\n  initrd: ${c.initrd}\n` +
  `  bootargs: "${bootargs}"\nreadiness:\n  console: "^VMAN-READY"\n  timeout: ${c.timeout}\n${extra}`;

/** The kernel command line of each partition. */
export function bootargs(c: Pick<LinuxCase, 'console'>): { readonly first: string; readonly second: string } {
  const console = `console=${c.console ?? 'ttyAMA0'}`;
  return { first: `${console} vman.after=idle`, second: `${console} vman.after=idle vman.role=second` };
}

/**
 * Applies `first` and `second` (dependsOn first), checks the order and what each guest reports.
 * Returns apply → ready seconds.
 */
export async function bootPair(cfg: QemuConfig, c: LinuxCase): Promise<Map<string, number>> {
  const args = bootargs(c);
  cfg.write('first', manifest('first', spec(c, c.first ?? DEFAULT_PLACEMENT, args.first)));
  cfg.write('second', manifest('second', spec(c, c.second ?? DEFAULT_PLACEMENT, args.second, 'dependsOn: [first]\n')));
  const plan = cfg.plan();
  assert.equal(
    plan.changes.map((x) => [x.partition, x.action]),
    [
      ['first', 'create'],
      ['second', 'create'],
    ],
  );
  assert.ok(
    plan.steps.find((s) => s.id === 'second/release-cores')?.after.includes('first/wait-ready'),
    'second is released after first is ready',
  );

  // Watch both consoles while the apply runs: the dependency's VMAN-READY must come before the
  // dependant prints anything.
  const seen: { ready?: number; second?: number } = {};
  const size = (f: string) => {
    try {
      return statSync(f).size;
    } catch {
      return 0;
    }
  };
  const watch = setInterval(() => {
    const now = Date.now();
    if (
      seen.ready === undefined &&
      size(cfg.file('first', 'console.log')) > 0 &&
      /^VMAN-READY\r?$/m.test(readFileSync(cfg.file('first', 'console.log'), 'latin1'))
    )
      seen.ready = now;
    if (seen.second === undefined && size(cfg.file('second', 'console.log')) > 0) seen.second = now;
  }, 10);
  const t0 = Date.now();
  const r = await cfg.start(['apply', '--auto-approve']);
  clearInterval(watch);
  assert.is(r.code, 0, `apply failed:\n${r.stdout}\n${r.stderr}`);
  console.log(`  ${c.board}: apply of two partitions took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  assert.ok(seen.ready !== undefined && seen.second !== undefined, `both consoles written (${JSON.stringify(seen)})`);
  assert.ok(
    seen.ready <= seen.second,
    `first was ready (${seen.ready}) before second printed anything (${seen.second})`,
  );
  const at = (text: string) => r.lines.findIndex((l) => l.text === text || l.text.startsWith(text));
  assert.ok(at('first: wait-ready done') >= 0 && at('first: wait-ready done') < at('second: release-cores'), r.stdout);
  const readyLine = r.lines[at('first: wait-ready done')];
  const releaseLine = r.lines[at('second: release-cores')];
  assert.ok(readyLine && releaseLine && readyLine.at <= releaseLine.at);

  const st = cfg.status();
  assert.equal(
    st.partitions.map((p) => [p.name, p.state, p.drift]),
    [
      ['first', 'running', []],
      ['second', 'running', []],
    ],
  );
  assert.equal(st.orphans, []);
  assert.is(st.backend, cfg.backend);
  const board = cfg.json<BoardJson>(['board']).json;
  const footprint = kernelFootprint(c) + FIXED_RESERVATIONS[c.board];
  for (const p of st.partitions) {
    const text = cfg.console(p.name);
    try {
      checkFacts(p, probeFacts(text));
    } catch (err) {
      (err as Error).message +=
        `\n--- console of ${p.name} (last 40 lines) ---\n${text.split('\n').slice(-40).join('\n')}`;
      throw err;
    }
  }
  cfg.converged();
  return readyTimes(r.stdout);

  function checkFacts(p: StatusJson['partitions'][number], f: Map<string, string>): void {
    const hw = hwidsOf(board, p.cpus);
    assert.is(f.get('arch'), c.uname);
    assert.equal(
      f.get('cpu_hwids')?.split(',').sort(),
      [...hw].sort(),
      `${p.name}: online CPUs are the partition's cores`,
    );
    assert.is(f.get('cpu0.hwid'), hw[0], `${p.name}: Linux booted on the boot core`);
    assert.is(f.get('cpus_count'), String(p.cpus.length));
    assert.is(f.get('cpus_online'), `0-${p.cpus.length - 1}`);
    assert.is(f.get('cpus_possible'), `0-${p.cpus.length - 1}`, `${p.name}: no other core is even possible`);
    assert.is(f.get('model'), `vman partition ${p.name} (${c.board})`);
    assert.is(f.get('cmdline'), args[p.name as keyof typeof args]);
    const cell = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
    const hi = (n: number) => Math.floor(n / 2 ** 32);
    assert.is(
      f.get(`dt_memory.memory@${p.memory.base.toString(16)}`),
      [hi(p.memory.base), p.memory.base % 2 ** 32, hi(p.memory.size), p.memory.size % 2 ** 32].map(cell).join(' '),
    );
    const total = Number(f.get('memtotal_kib')) * 1024;
    assert.ok(
      total <= p.memory.size && p.memory.size - total <= footprint + KERNEL_SLACK,
      `${p.name}: MemTotal ${total / 1024} KiB of ${p.memory.size / 1024} KiB ` +
        `(kernel and fixed reservations ${footprint} bytes)`,
    );
  }
}

/** Destroys everything and checks that no QEMU process is left (by the recorded pids and by a scan of /proc). */
export function destroyAll(cfg: QemuConfig): void {
  const pids = [...cfg.qemuPids().values()];
  assert.ok(pids.length > 0 && pids.every(running), 'QEMU processes ran before destroy');
  const r = cfg.run(['destroy', '--auto-approve']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  for (const pid of pids) assert.is(running(pid), false, `QEMU ${pid} ended`);
  assert.equal(qemuProcessesUnder(cfg.state), []);
  assert.equal(cfg.status().partitions, []);
}
