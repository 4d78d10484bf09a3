// Shared by the fdt tests: the real peers (dtc, fdtoverlay, QEMU), the blob corpus and
// fast-check generators for trees.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Fdt, FdtNode, FdtProperty } from '../../src/fdt/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/fdt/', import.meta.url));

let dir: string | undefined;
/** A temporary directory for this test process, removed at exit. */
export function tempDir(): string {
  if (dir === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'vman-fdt-'));
    dir = made;
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return dir;
}

/** Runs dtc with `input` on stdin; throws with dtc's stderr when it fails. */
export function dtc(args: readonly string[], input: Uint8Array | string): { stdout: Buffer; stderr: string } {
  const r = spawnSync('dtc', [...args, '-'], { input, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`dtc ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
  return { stdout: r.stdout, stderr: r.stderr.toString() };
}

/** DTS source → DTB bytes through dtc. */
export function compileDts(source: string, flags: readonly string[] = []): Uint8Array {
  return new Uint8Array(dtc(['-q', '-I', 'dts', '-O', 'dtb', ...flags], source).stdout);
}

/** A fixture file → DTB bytes through dtc. */
export function compileFixture(name: string, flags: readonly string[] = []): Uint8Array {
  return compileDts(readFileSync(join(FIXTURES, name), 'utf8'), flags);
}

/** DTB → DTS text as dtc prints it. */
export function decompile(blob: Uint8Array, flags: readonly string[] = []): string {
  return dtc(['-q', '-I', 'dtb', '-O', 'dts', ...flags], blob).stdout.toString();
}

/** dtc's warnings for a tree, without the file and line prefix each has. */
export function warnings(input: Uint8Array | string, format: 'dts' | 'dtb', flags: readonly string[] = []): string[] {
  const { stderr } = dtc(['-I', format, '-O', 'dtb', '-o', '/dev/null', ...flags], input);
  return stderr
    .split('\n')
    .filter((l) => l.includes('Warning'))
    .map((l) => l.slice(l.indexOf('Warning')))
    .sort();
}

/** fdtoverlay's result of applying overlays to base, in order. */
export function fdtoverlay(base: Uint8Array, overlays: readonly Uint8Array[]): Uint8Array {
  const d = tempDir();
  writeFileSync(join(d, 'base.dtb'), base);
  const names = overlays.map((o, i) => {
    const name = join(d, `overlay${i}.dtbo`);
    writeFileSync(name, o);
    return name;
  });
  execFileSync('fdtoverlay', ['-i', join(d, 'base.dtb'), '-o', join(d, 'out.dtb'), ...names], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Uint8Array(readFileSync(join(d, 'out.dtb')));
}

/** The QEMU 7.2 machines whose device trees make the libfdt corpus. */
export const QEMU_MACHINES: readonly { name: string; binary: string; args: readonly string[] }[] = [
  {
    name: 'aarch64-gicv2',
    binary: 'qemu-system-aarch64',
    args: ['-machine', 'virt,gic-version=2', '-cpu', 'cortex-a57', '-smp', '8', '-m', '4G'],
  },
  {
    name: 'aarch64-gicv3',
    binary: 'qemu-system-aarch64',
    args: ['-machine', 'virt,gic-version=3', '-cpu', 'cortex-a57', '-smp', '8', '-m', '4G'],
  },
  { name: 'arm', binary: 'qemu-system-arm', args: ['-machine', 'virt', '-cpu', 'cortex-a15', '-smp', '8', '-m', '2G'] },
  { name: 'riscv64', binary: 'qemu-system-riscv64', args: ['-machine', 'virt', '-smp', '8', '-m', '2G'] },
];

/** The DTB a QEMU machine builds with libfdt, dumped whole (`-machine …,dumpdtb=FILE`). */
export function qemuDump(machine: (typeof QEMU_MACHINES)[number]): Uint8Array {
  const file = join(tempDir(), `${machine.name}.dtb`);
  const args = machine.args.map((a, i) => (machine.args[i - 1] === '-machine' ? `${a},dumpdtb=${file}` : a));
  execFileSync(machine.binary, [...args, '-nodefaults', '-display', 'none'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60_000,
  });
  return new Uint8Array(readFileSync(file));
}

/**
 * dtc option sets each fixture is compiled with: padding, a minimum size, spare reservation slots, alignment, version
 * 16, symbols.
 */
export const DTC_VARIANTS: readonly (readonly string[])[] = [
  [],
  ['-@'],
  ['-p', '1024'],
  ['-S', '8192'],
  ['-R', '4'],
  ['-a', '64'],
  ['-V', '16'],
  ['-@', '-p', '64', '-R', '2'],
];

/** The plain (non-overlay) DTS fixtures. */
export function treeFixtures(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.dts') && (!f.startsWith('overlay-') || f === 'overlay-base.dts'))
    .sort();
}

/** Every blob of the corpus: dtc-compiled fixtures in every variant, compiled overlays, and QEMU's dumps. */
export function corpus(): { name: string; blob: Uint8Array }[] {
  const out: { name: string; blob: Uint8Array }[] = [];
  for (const f of treeFixtures()) {
    for (const flags of DTC_VARIANTS)
      out.push({ name: `${f} ${flags.join(' ')}`.trim(), blob: compileFixture(f, flags) });
  }
  for (const f of readdirSync(FIXTURES).filter((f) => f.startsWith('overlay-') && f !== 'overlay-base.dts')) {
    out.push({ name: `${f} -@`, blob: compileFixture(f, ['-@']) });
  }
  for (const m of QEMU_MACHINES) out.push({ name: `qemu ${m.name}`, blob: qemuDump(m) });
  return out;
}

/** The tree without its layout, for comparing trees. */
export function bare(fdt: Fdt): Omit<Fdt, 'layout'> {
  return { root: fdt.root, reservations: fdt.reservations, bootCpuidPhys: fdt.bootCpuidPhys };
}

/** Plain objects, as decodeFdt makes them (deep equality compares prototypes). */
const PLAIN = { noNullPrototype: true } as const;

/** Names dtc gives meaning to, or refuses, as plain properties of random trees. */
const SPECIAL_PROPS = new Set(['name', 'phandle', 'linux,phandle']);

/** Random values: strings and string lists, cells, bytes, empty. */
export const valueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 6 }).map((cells) => {
    const out = new Uint8Array(cells.length * 4);
    cells.forEach((c, i) => new DataView(out.buffer).setUint32(i * 4, c));
    return out;
  }),
  fc
    .array(fc.string({ unit: fc.constantFrom(...'abc xyz,.-_/\\"\t\n0123'.split('')), maxLength: 10 }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((list) => new TextEncoder().encode(list.map((s) => `${s}\0`).join(''))),
  fc.constant(new Uint8Array(0)),
);

/** A random tree. `dts` keeps names to what DTS can spell and dtc accepts as plain data. */
export function fdtArb(options: { dts: boolean }): fc.Arbitrary<Fdt> {
  const nodeName = options.dts
    ? fc.stringMatching(/^[a-z][a-z0-9,._+-]{0,10}(@[0-9a-f]{1,6})?$/)
    : fc.string({
        unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
        minLength: 1,
        maxLength: 12,
      });
  const propName = options.dts
    ? fc.stringMatching(/^[a-z#][a-z0-9,._+?#-]{0,16}$/).filter((n) => !SPECIAL_PROPS.has(n))
    : fc.string({ unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 16 });
  const props: fc.Arbitrary<FdtProperty[]> = fc.uniqueArray(fc.record({ name: propName, value: valueArb }, PLAIN), {
    selector: (p) => p.name,
    maxLength: 5,
  });
  const { node } = fc.letrec<{ node: FdtNode }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 4, depthIdentifier: 'tree' },
      fc.record({ name: nodeName, props, children: fc.constant(null).map((): FdtNode[] => []) }, PLAIN),
      fc.record(
        { name: nodeName, props, children: fc.uniqueArray(tie('node'), { selector: (n) => n.name, maxLength: 3 }) },
        PLAIN,
      ),
    ),
  }));
  return fc.record(
    {
      root: fc.record(
        { name: fc.constant(''), props, children: fc.uniqueArray(node, { selector: (n) => n.name, maxLength: 4 }) },
        PLAIN,
      ),
      reservations: fc.array(
        fc.record(
          {
            address: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
            size: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
          },
          PLAIN,
        ),
        { maxLength: 3 },
      ),
      bootCpuidPhys: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
    },
    PLAIN,
  );
}

/** One piece of a hand-made structure block: a token word, a NUL-terminated name, or raw bytes (each padded to 4). */
export type Piece = number | string | Uint8Array;

/**
 * A hand-made v17 blob: header, reservations at 0x28, the structure block from `pieces`, the
 * strings block. Offsets in messages are then known: the structure block starts at
 * 0x28 + 16 * (reservations + 1).
 */
export function assemble(
  pieces: readonly Piece[],
  strings = '',
  reservations: readonly [bigint, bigint][] = [],
): Uint8Array {
  const chunks: Uint8Array[] = pieces.map((piece) => {
    if (typeof piece === 'number') {
      const word = new Uint8Array(4);
      new DataView(word.buffer).setUint32(0, piece);
      return word;
    }
    const raw = typeof piece === 'string' ? new TextEncoder().encode(`${piece}\0`) : piece;
    const padded = new Uint8Array(Math.ceil(raw.length / 4) * 4);
    padded.set(raw);
    return padded;
  });
  const structSize = chunks.reduce((n, c) => n + c.length, 0);
  const stringBytes = new TextEncoder().encode(strings);
  const memRsv = 0x28;
  const struct = memRsv + 16 * (reservations.length + 1);
  const total = struct + structSize + stringBytes.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  [0xd00dfeed, total, struct, struct + structSize, memRsv, 17, 16, 0, stringBytes.length, structSize].forEach((w, i) =>
    view.setUint32(i * 4, w),
  );
  reservations.forEach(([address, size], i) => {
    view.setBigUint64(memRsv + i * 16, address);
    view.setBigUint64(memRsv + i * 16 + 8, size);
  });
  let p = struct;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  out.set(stringBytes, p);
  return out;
}
