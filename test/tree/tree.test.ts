// Every tree vman builds decompiles with dtc with no warnings, on all three built-in boards, for
// Linux and bare-metal partitions, with and without devices and overlays; and says the right things.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTree, type TreeInput } from '../../src/tree/build.js';
import { encodeFdt } from '../../src/fdt/encode.js';
import { decodeFdt } from '../../src/fdt/decode.js';
import { applyOverlay } from '../../src/fdt/overlay.js';
import { getBuiltinBoard } from '../../src/board/builtin/index.js';
import type { Board } from '../../src/board/model.js';
import type { Fdt, FdtNode } from '../../src/fdt/types.js';

const tmp = mkdtempSync(join(tmpdir(), 'vman-tree-'));
const MiB = 1024 * 1024;

function dtc(args: string[], input?: Uint8Array): { out: string; err: string; code: number } {
  const r = spawnSync('dtc', args, { input, encoding: 'buffer' });
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.status ?? -1 };
}

/** Decompiles with dtc and asserts it printed no warning at all. */
function decompileClean(bytes: Uint8Array, what: string): string {
  const r = dtc(['-I', 'dtb', '-O', 'dts', '-'], bytes);
  assert.is(r.code, 0, `${what}: dtc failed: ${r.err}`);
  assert.is(r.err, '', `${what}: dtc warned:\n${r.err}`);
  return r.out;
}

function overlay(name: string, dts: string): Fdt {
  const src = join(tmp, `${name}.dts`);
  const out = join(tmp, `${name}.dtbo`);
  writeFileSync(src, dts);
  const r = spawnSync('dtc', ['-@', '-I', 'dts', '-O', 'dtb', '-o', out, src], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return decodeFdt(readFileSync(out));
}

const find = (n: FdtNode, path: string): FdtNode | undefined =>
  path
    .split('/')
    .filter(Boolean)
    .reduce<FdtNode | undefined>((at, part) => at?.children.find((c) => c.name === part), n);
const text = (n: FdtNode | undefined, prop: string) => {
  const v = n?.props.find((p) => p.name === prop)?.value;
  return v ? new TextDecoder().decode(v).replace(/\0$/, '') : undefined;
};

const CASES: { board: string; base: number; devices: string[]; extra: string[] }[] = [
  { board: 'qemu-virt-aarch64', base: 0x4800_0000, devices: ['virtio0', 'gpio0', 'rtc0'], extra: [] },
  { board: 'qemu-virt-armv7', base: 0x5000_0000, devices: ['virtio3', 'rtc0'], extra: [] },
  { board: 'qemu-virt-riscv64', base: 0x8020_0000, devices: ['virtio0', 'rtc0'], extra: [] },
];

for (const c of CASES) {
  const board = getBuiltinBoard(c.board) as Board;
  const base: TreeInput = { board, name: 'p0', cpus: [2, 3], memory: { base: c.base, size: 256 * MiB }, devices: [] };
  const variants: [string, TreeInput][] = [
    [
      'linux, no devices',
      { ...base, bootargs: 'console=ttyAMA0', initrd: { base: c.base + 32 * MiB, size: 3 * MiB + 17 } },
    ],
    [
      'linux with devices',
      {
        ...base,
        devices: c.devices,
        bootargs: 'console=ttyAMA0 quiet',
        initrd: { base: c.base + 32 * MiB, size: MiB },
      },
    ],
    ['bare-metal, no devices', { ...base, cpus: [5] }],
    ['bare-metal with devices', { ...base, cpus: [1, 4], devices: c.devices }],
  ];
  for (const [what, input] of variants) {
    test(`${c.board}: ${what}: dtc decompiles it with no warnings`, () => {
      const fdt = buildTree(input);
      decompileClean(encodeFdt(fdt), `${c.board} ${what}`);
    });
  }

  test(`${c.board}: the tree names the partition and holds only its cores, memory and devices`, () => {
    const fdt = buildTree({
      ...base,
      devices: c.devices,
      bootargs: 'x=1',
      initrd: { base: c.base + 0x200_0000, size: 0x1234 },
    });
    const root = fdt.root;
    assert.is(text(root, 'model'), `vman partition p0 (${c.board})`);
    const cpus = find(root, '/cpus');
    const enabled = (cpus?.children ?? []).filter((n) => text(n, 'status') !== 'disabled').map((n) => n.name);
    assert.equal(enabled, ['cpu@2', 'cpu@3']);
    const mem = root.children.filter((n) => n.name.startsWith('memory@'));
    assert.equal(
      mem.map((n) => n.name),
      [`memory@${c.base.toString(16)}`],
    );
    const regWords = [
      ...new Uint32Array(new Uint8Array(mem[0]?.props.find((p) => p.name === 'reg')?.value ?? []).slice().buffer),
    ].map((w) => ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24));
    assert.equal(
      regWords.map((w) => w >>> 0),
      [0, c.base, 0, 256 * MiB],
    );
    const chosen = find(root, '/chosen');
    assert.is(text(chosen, 'bootargs'), 'x=1');
    const start = new DataView(
      chosen?.props.find((p) => p.name === 'linux,initrd-start')?.value.buffer ?? new ArrayBuffer(8),
    );
    const end = new DataView(
      chosen?.props.find((p) => p.name === 'linux,initrd-end')?.value.buffer ?? new ArrayBuffer(8),
    );
    assert.is(Number(start.getBigUint64(0)), c.base + 0x200_0000);
    assert.is(Number(end.getBigUint64(0)), c.base + 0x200_0000 + 0x1234);
    const stdout = text(chosen, 'stdout-path') ?? '';
    assert.ok(find(root, stdout), `stdout-path ${stdout} exists`);
    // No device of the board that the partition was not given (the console is the monitor's virtual UART).
    const allNodes: string[] = [];
    const walk = (n: FdtNode) => n.children.forEach((k) => (allNodes.push(k.name), walk(k)));
    walk(root);
    for (const d of board.devices) {
      const unit = `@${d.reg[0]?.base.toString(16)}`;
      const present = allNodes.some((n) => n.startsWith(`${d.node}${unit}`));
      const monitorDev = board.reserved.some((r) => r.owner === 'monitor' && r.devices.includes(d.name));
      const isConsole = board.console.kind === 'virtual-uart' && board.console.device.reg[0]?.base === d.reg[0]?.base;
      assert.is(present, c.devices.includes(d.name) || monitorDev || isConsole, `${d.name} present=${present}`);
    }
  });

  test(`${c.board}: overlays apply (label and path targets) and the result has no dtc warnings`, () => {
    const fdt = buildTree({ ...base, devices: c.devices, bootargs: 'console=ttyAMA0' });
    const o = overlay(
      `${c.board}-o`,
      '/dts-v1/;\n/plugin/;\n&console { current-speed = <115200>; };\n' +
        '&{/} { vman-test { compatible = "vman,test"; status = "okay"; }; };\n&chosen { bootargs = "overlaid"; };\n',
    );
    const out = applyOverlay(fdt, o, 'test.dtbo');
    const dts = decompileClean(encodeFdt(out), `${c.board} with overlay`);
    assert.match(dts, 'current-speed = <0x1c200>');
    assert.match(dts, 'compatible = "vman,test"');
    assert.is(text(find(out.root, '/chosen'), 'bootargs'), 'overlaid');
    // A bad label is a clear error naming the overlay.
    const bad = overlay(`${c.board}-bad`, `/dts-v1/;\n/plugin/;\n&nosuchlabel { x = <1>; };\n`);
    assert.throws(() => applyOverlay(fdt, bad, 'bad.dtbo'), /bad\.dtbo/);
  });
}

test('same inputs, same bytes: trees are deterministic', () => {
  const board = getBuiltinBoard('qemu-virt-aarch64') as Board;
  const input: TreeInput = {
    board,
    name: 'x',
    cpus: [4],
    memory: { base: 0x5000_0000, size: 64 * MiB },
    devices: ['virtio7'],
    bootargs: 'a',
  };
  assert.equal(encodeFdt(buildTree(input)), encodeFdt(buildTree(input)));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
