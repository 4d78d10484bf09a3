// The built-in boards against QEMU 7.2's own trees (dumped at test time), against their own invariants,
// and against their YAML form in examples/boards/.
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { builtinBoards, DEFAULT_BOARD, getBuiltinBoard } from '../../src/board/builtin/index.js';
import type { Board, BoardDevice, DeviceInterrupt, MemRange, PropertyValue } from '../../src/board/model.js';
import { dumpQemuDtb, QemuTree } from './qemu-tree.js';
import { boardFromYaml } from './yaml-board.js';

const root = new URL('../../', import.meta.url);
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const GIC_SPI = 0;
const GIC_PPI = 1;
const IRQ_EDGE_RISING = 1;
const IRQ_LEVEL_HIGH = 4;
/** RISC-V local interrupt numbers in a hart's `riscv,cpu-intc` (privileged spec, mip/mie bits). */
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

const boards = [...builtinBoards.values()];
const trees = new Map<string, QemuTree>();
const cleanups: (() => void)[] = [];

test.before(() => {
  for (const board of boards) {
    const dump = dumpQemuDtb(board);
    cleanups.push(dump.cleanup);
    trees.set(board.name, new QemuTree(dump.file));
  }
});

test.after(() => {
  for (const cleanup of cleanups) cleanup();
});

function treeOf(board: Board): QemuTree {
  const t = trees.get(board.name);
  if (!t) throw new Error(`no QEMU tree for ${board.name}`);
  return t;
}

const hex = (n: number) => `0x${n.toString(16)}`;
const showRanges = (r: readonly MemRange[] | undefined) =>
  r ? r.map((x) => `${hex(x.base)}+${hex(x.size)}`).join(', ') : 'none';
const sameRanges = (a: readonly MemRange[] | undefined, b: readonly MemRange[]) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x.base === b[i]!.base && x.size === b[i]!.size);
const nodeName = (path: string) => path.slice(path.lastIndexOf('/') + 1).split('@')[0];

/** The one node called `node@…` whose reg is exactly `reg`. */
function findNode(tree: QemuTree, node: string, reg: readonly MemRange[]): string {
  const hits = tree.paths().filter((p) => nodeName(p) === node && sameRanges(tree.reg(p), reg));
  if (hits.length !== 1) {
    const named = tree.paths().filter((p) => nodeName(p) === node);
    throw new Error(
      `expected one ${node} node with reg ${showRanges(reg)}, found ${hits.length}; ${node} nodes: ` +
        `${named.map((p) => `${p} (${showRanges(tree.reg(p))})`).join('; ') || 'none'}`,
    );
  }
  return hits[0]!;
}

/** The cells a model interrupt is in the tree of a board's interrupt controller. */
function interruptCells(i: DeviceInterrupt): number[] {
  return i.type === 'spi'
    ? [GIC_SPI, i.number, i.trigger === 'edge-rising' ? IRQ_EDGE_RISING : IRQ_LEVEL_HIGH]
    : [i.number];
}

function propertyBytes(v: PropertyValue): Uint8Array {
  if (v === true) return new Uint8Array();
  if (typeof v === 'string') return new TextEncoder().encode(`${v}\0`);
  if (v.every((x): x is string => typeof x === 'string'))
    return new TextEncoder().encode(v.map((s) => `${s}\0`).join(''));
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  (v as readonly number[]).forEach((c, i) => view.setUint32(i * 4, c));
  return out;
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** Collects mismatches so one failure lists every difference. */
class Diff {
  readonly problems: string[] = [];
  eq(what: string, actual: unknown, expected: unknown): void {
    if (JSON.stringify(actual) !== JSON.stringify(expected))
      this.problems.push(`${what}: QEMU has ${JSON.stringify(actual)}, model says ${JSON.stringify(expected)}`);
  }
  check(ok: boolean, what: string): void {
    if (!ok) this.problems.push(what);
  }
  done(): void {
    assert.equal(this.problems, []);
  }
}

function interruptControllerPath(board: Board, tree: QemuTree): string {
  const ic = board.interruptController;
  if (ic.kind === 'gicv2') return findNode(tree, 'intc', [ic.distributor, ic.cpuInterface]);
  if (ic.kind === 'plic') return findNode(tree, 'plic', [ic.reg]);
  throw new Error(`no built-in board uses ${ic.kind}`);
}

/** The interrupts a node raises: its `interrupts`, or for a PCI host the parent specifiers of its `interrupt-map`. */
function treeInterrupts(tree: QemuTree, path: string, icPath: string, d: Diff): number[][] {
  const icCells = tree.cell(icPath, '#interrupt-cells')!;
  const own = tree.cells(path, 'interrupts');
  if (own) {
    d.eq(`${path} interrupt parent`, tree.interruptParent(path), icPath);
    return Array.from({ length: own.length / icCells }, (_, i) => own.slice(i * icCells, (i + 1) * icCells));
  }
  const map = tree.cells(path, 'interrupt-map');
  if (!map) return [];
  const childCells = tree.cell(path, '#address-cells')! + tree.cell(path, '#interrupt-cells')!;
  const parentAddressCells = tree.cell(icPath, '#address-cells') ?? 0;
  const entry = childCells + 1 + parentAddressCells + icCells;
  const seen = new Map<string, number[]>();
  for (let i = 0; i + entry <= map.length; i += entry) {
    d.eq(`${path} interrupt-map parent`, tree.byPhandle(map[i + childCells]!), icPath);
    const spec = map.slice(i + childCells + 1 + parentAddressCells, i + entry);
    seen.set(spec.join(' '), spec);
  }
  return [...seen.values()].sort((a, b) => a.join(' ').localeCompare(b.join(' '), 'en', { numeric: true }));
}

/** Checks one model device (or the console's UART) against its node in QEMU's tree. */
function checkDevice(board: Board, tree: QemuTree, dev: Omit<BoardDevice, 'dma'>, strict: boolean, d: Diff): string {
  const path = findNode(tree, dev.node, dev.reg);
  const icPath = interruptControllerPath(board, tree);
  d.eq(`${path} compatible`, tree.strings(path, 'compatible'), dev.compatible);
  const expected = dev.interrupts.map(interruptCells);
  const actual = treeInterrupts(tree, path, icPath, d);
  const sorted = tree.has(path, 'interrupt-map')
    ? [...expected].sort((a, b) => a.join(' ').localeCompare(b.join(' '), 'en', { numeric: true }))
    : expected;
  d.eq(`${path} interrupts`, actual, sorted);
  const clocks = Object.entries(dev.clocks ?? {});
  d.eq(
    `${path} clock-names`,
    tree.strings(path, 'clock-names') ?? [],
    clocks.map(([name]) => name),
  );
  const phandles = tree.cells(path, 'clocks') ?? [];
  d.eq(`${path} clocks count`, phandles.length, clocks.length);
  phandles.forEach((ph, i) => {
    const clk = tree.byPhandle(ph) ?? `phandle ${ph}`;
    d.eq(`${path} clock ${i} (${clk}) compatible`, tree.strings(clk, 'compatible'), ['fixed-clock']);
    d.eq(`${path} clock ${i} (${clk}) #clock-cells`, tree.cell(clk, '#clock-cells'), 0);
    d.eq(`${path} clock ${i} (${clk}) frequency`, tree.cell(clk, 'clock-frequency'), clocks[i]?.[1]);
  });
  for (const [name, value] of Object.entries(dev.properties ?? {})) {
    const b = tree.bytes(path, name);
    d.check(
      sameBytes(b, propertyBytes(value)),
      `${path} ${name}: QEMU has ${b ? `[${[...b].map(hex).join(' ')}]` : 'nothing'}, model says ` +
        `${JSON.stringify(value)}`,
    );
  }
  if (strict) {
    // A partition's node must carry everything QEMU's does (phandle only matters to QEMU's own references).
    const known = new Set([
      'compatible',
      'reg',
      'interrupts',
      'interrupt-parent',
      'clocks',
      'clock-names',
      'phandle',
      ...Object.keys(dev.properties ?? {}),
    ]);
    for (const name of tree.propertyNames(path))
      d.check(known.has(name), `${path} has ${name}, which the model does not carry`);
  }
  return path;
}

const reservedDevices = (board: Board) => new Set(board.reserved.flatMap((r) => r.devices));

for (const board of boards) {
  test(`${board.name}: root, memory and QEMU machine match QEMU's tree`, () => {
    const tree = treeOf(board);
    const d = new Diff();
    d.eq('/ model', tree.strings('/', 'model'), [board.model]);
    d.eq('/ compatible', tree.strings('/', 'compatible'), board.compatible);
    const banks = tree.paths().filter((p) => tree.strings(p, 'device_type')?.[0] === 'memory');
    d.eq(
      'memory banks',
      banks.flatMap((p) => tree.reg(p) ?? []),
      board.memory,
    );
    d.eq('qemu.ramBase', board.qemu?.ramBase, board.memory[0]?.base);
    d.done();
  });

  test(`${board.name}: cpus match QEMU's tree (hwid, compatible, ISA, topology order)`, () => {
    const tree = treeOf(board);
    const d = new Diff();
    const nodes = tree.children('/cpus').filter((p) => nodeName(p) === 'cpu');
    d.eq('number of cpu nodes', nodes.length, board.cpus.length);
    const cpuMap = tree.paths().filter((p) => p.startsWith('/cpus/cpu-map/') && /\/core\d+$/.test(p));
    for (const cpu of board.cpus) {
      const path = nodes.find((p) => tree.cells(p, 'reg')?.[0] === cpu.hwid);
      if (!path) {
        d.check(false, `no /cpus/cpu node with reg ${hex(cpu.hwid)} for core ${cpu.id}`);
        continue;
      }
      d.eq(`${path} reg`, tree.cells(path, 'reg'), [cpu.hwid]);
      d.eq(`${path} device_type`, tree.strings(path, 'device_type'), ['cpu']);
      d.eq(`${path} compatible`, tree.strings(path, 'compatible'), [cpu.compatible]);
      d.eq(`${path} riscv,isa`, tree.strings(path, 'riscv,isa'), cpu.isa === undefined ? undefined : [cpu.isa]);
      d.eq(`${path} mmu-type`, tree.strings(path, 'mmu-type'), cpu.mmuType === undefined ? undefined : [cpu.mmuType]);
      d.eq(
        `${path} enable-method`,
        tree.strings(path, 'enable-method'),
        board.power.kind === 'psci' ? ['psci'] : undefined,
      );
      // Logical id i is QEMU's i-th core in /cpus/cpu-map.
      const core = cpuMap.find((p) => p.endsWith(`/core${cpu.id}`));
      d.eq(`cpu-map core${cpu.id}`, core && tree.byPhandle(tree.cell(core, 'cpu')!), path);
    }
    d.done();
  });

  test(`${board.name}: interrupt controller matches QEMU's tree`, () => {
    const tree = treeOf(board);
    const d = new Diff();
    const ic = board.interruptController;
    const path = interruptControllerPath(board, tree);
    d.check(tree.has(path, 'interrupt-controller'), `${path} is not an interrupt-controller`);
    if (ic.kind === 'gicv2') {
      d.eq(`${path} compatible`, tree.strings(path, 'compatible'), [ic.compatible]);
      d.eq(`${path} #interrupt-cells`, tree.cell(path, '#interrupt-cells'), 3);
      d.eq('/ interrupt-parent', tree.interruptParent('/'), path);
      const v2m = tree.children(path).filter((p) => nodeName(p) === 'v2m');
      d.eq(`${path} v2m reg`, v2m.map((p) => tree.reg(p)).flat(), ic.v2m ? [ic.v2m] : []);
      for (const p of v2m) d.eq(`${p} compatible`, tree.strings(p, 'compatible'), ['arm,gic-v2m-frame']);
    } else if (ic.kind === 'plic') {
      d.eq(`${path} compatible`, tree.strings(path, 'compatible'), ic.compatible);
      d.eq(`${path} riscv,ndev`, tree.cell(path, 'riscv,ndev'), ic.ndev);
      d.eq(`${path} #interrupt-cells`, tree.cell(path, '#interrupt-cells'), 1);
      const clint = findNode(tree, 'clint', [ic.clint.reg]);
      d.eq(`${clint} compatible`, tree.strings(clint, 'compatible'), ic.clint.compatible);
      // Per hart, in hart order: PLIC contexts M-external then S-external; CLINT M-software then M-timer.
      const intc = board.cpus.map((cpu) => {
        const cpuPath = tree.children('/cpus').find((p) => tree.cells(p, 'reg')?.[0] === cpu.hwid) ?? '';
        const local = `${cpuPath}/interrupt-controller`;
        d.eq(`${local} compatible`, tree.strings(local, 'compatible'), ['riscv,cpu-intc']);
        d.eq(`${local} #interrupt-cells`, tree.cell(local, '#interrupt-cells'), 1);
        return tree.cell(local, 'phandle') ?? -1;
      });
      d.eq(
        `${path} interrupts-extended`,
        tree.cells(path, 'interrupts-extended'),
        intc.flatMap((ph) => [ph, IRQ_M_EXT, ph, IRQ_S_EXT]),
      );
      d.eq(
        `${clint} interrupts-extended`,
        tree.cells(clint, 'interrupts-extended'),
        intc.flatMap((ph) => [ph, IRQ_M_SOFT, ph, IRQ_M_TIMER]),
      );
    }
    d.done();
  });

  test(`${board.name}: timer and power interface match QEMU's tree`, () => {
    const tree = treeOf(board);
    const d = new Diff();
    const { timer, power } = board;
    if (timer.kind === 'riscv-timebase') {
      d.eq('/cpus timebase-frequency', tree.cell('/cpus', 'timebase-frequency'), timer.frequency);
    } else {
      d.eq(
        '/timer compatible',
        tree.strings('/timer', 'compatible'),
        timer.kind === 'armv8-timer' ? ['arm,armv8-timer', 'arm,armv7-timer'] : ['arm,armv7-timer'],
      );
      d.eq('/timer always-on', tree.has('/timer', 'always-on'), timer.alwaysOn);
      // GICv2 PPI flags carry a mask of the cores the PPI is wired to in bits 8–15.
      const flags = (((1 << board.cpus.length) - 1) << 8) | IRQ_LEVEL_HIGH;
      d.eq(
        '/timer interrupts',
        tree.cells('/timer', 'interrupts'),
        timer.ppis.flatMap((ppi) => [GIC_PPI, ppi, flags]),
      );
    }
    if (power.kind === 'psci') {
      d.eq('/psci method', tree.strings('/psci', 'method'), [power.method]);
      d.eq('/psci compatible', tree.strings('/psci', 'compatible'), power.compatible);
      const ids = power.functionIds;
      d.check(ids !== undefined, 'QEMU lists PSCI function ids; the model has none');
      for (const [name, id] of Object.entries(ids ?? {})) d.eq(`/psci ${name}`, tree.cell('/psci', name), id);
    } else {
      d.check(!tree.paths().includes('/psci'), 'an SBI board must have no /psci node');
    }
    d.done();
  });

  test(`${board.name}: every device and the console UART match QEMU's tree`, () => {
    const tree = treeOf(board);
    const d = new Diff();
    const reserved = reservedDevices(board);
    for (const dev of board.devices) checkDevice(board, tree, dev, !reserved.has(dev.name), d);
    if (board.console.kind === 'virtual-uart') {
      const path = checkDevice(board, tree, board.console.device, true, d);
      d.eq('/chosen stdout-path', tree.strings('/chosen', 'stdout-path'), [path]);
    }
    d.done();
  });

  test(`${board.name}: every device node with registers in QEMU's tree is in the model`, () => {
    const tree = treeOf(board);
    const ic = board.interruptController;
    const known = new Set<string>(board.devices.map((dev) => findNode(tree, dev.node, dev.reg)));
    known.add(interruptControllerPath(board, tree));
    if (ic.kind === 'plic') known.add(findNode(tree, 'clint', [ic.clint.reg]));
    // platform-bus: QEMU's window for dynamic sysbus devices (-device ... on the platform bus); empty by default.
    const unmodelled = tree
      .paths()
      .filter((p) => (tree.parent(p) === '/' || tree.parent(p) === '/soc') && tree.has(p, 'reg') && !known.has(p))
      .filter((p) => tree.strings(p, 'device_type')?.[0] !== 'memory' && nodeName(p) !== 'platform-bus');
    assert.equal(unmodelled, []);
  });
}

test('three built-in boards, keyed by name, with qemu-virt-aarch64 the default', () => {
  assert.equal([...builtinBoards.keys()], ['qemu-virt-aarch64', 'qemu-virt-armv7', 'qemu-virt-riscv64']);
  for (const [name, board] of builtinBoards) {
    assert.is(board.name, name);
    assert.is(getBuiltinBoard(name), board);
  }
  assert.is(DEFAULT_BOARD, 'qemu-virt-aarch64');
  assert.is(getBuiltinBoard(DEFAULT_BOARD)?.arch, 'aarch64');
  assert.is(getBuiltinBoard('qemu-virt-armv7')?.arch, 'armv7');
  assert.is(getBuiltinBoard('qemu-virt-riscv64')?.arch, 'riscv64');
  assert.is(getBuiltinBoard('qemu-virt-x86'), undefined);
});

const overlaps = (a: MemRange, b: MemRange) => a.base < b.base + b.size && b.base < a.base + a.size;
const inside = (r: MemRange, banks: readonly MemRange[]) =>
  banks.some((b) => r.base >= b.base && r.base + r.size <= b.base + b.size);

for (const board of boards) {
  test(`${board.name}: 8 cores with ids 0–7, unique hwids, at least 2 GiB of RAM`, () => {
    assert.equal(
      board.cpus.map((c) => c.id),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.is(new Set(board.cpus.map((c) => c.hwid)).size, 8);
    assert.ok(board.memory.reduce((s, b) => s + b.size, 0) >= 2 * GiB);
  });

  test(`${board.name}: reservations are disjoint, inside RAM, and name real cores and devices`, () => {
    const cpuIds = new Set(board.cpus.map((c) => c.id));
    const deviceNames = new Set(board.devices.map((x) => x.name));
    const ranges = board.reserved.flatMap((r) => r.memory);
    for (const r of ranges) assert.ok(inside(r, board.memory), `${showRanges([r])} is outside RAM`);
    for (const r of ranges) assert.is((r.base % 4096) + (r.size % 4096), 0, `${showRanges([r])} is not page-aligned`);
    ranges.forEach((a, i) =>
      ranges
        .slice(i + 1)
        .forEach((b) => assert.not.ok(overlaps(a, b), `${showRanges([a])} overlaps ${showRanges([b])}`)),
    );
    const cpus = board.reserved.flatMap((r) => r.cpus);
    assert.is(new Set(cpus).size, cpus.length, 'a core is reserved twice');
    for (const c of cpus) assert.ok(cpuIds.has(c), `reserved core ${c} does not exist`);
    const devs = board.reserved.flatMap((r) => r.devices);
    assert.is(new Set(devs).size, devs.length, 'a device is reserved twice');
    for (const n of devs) assert.ok(deviceNames.has(n), `reserved device ${n} does not exist`);
    const management = board.reserved.filter((r) => r.owner === 'management');
    assert.is(management.length, 1);
    assert.equal(management[0]!.cpus, [0]);
  });

  test(`${board.name}: devices are in address order, with unique names, registers and interrupts`, () => {
    const names = board.devices.map((x) => x.name);
    assert.is(new Set(names).size, names.length);
    const bases = board.devices.map((x) => x.reg[0]!.base);
    assert.equal(
      bases,
      [...bases].sort((a, b) => a - b),
    );
    const regs = board.devices.flatMap((x) => x.reg.map((r) => ({ name: x.name, r })));
    regs.forEach((a, i) =>
      regs
        .slice(i + 1)
        .forEach((b) =>
          assert.not.ok(overlaps(a.r, b.r), `${a.name} ${showRanges([a.r])} overlaps ${b.name} ${showRanges([b.r])}`),
        ),
    );
    for (const { name, r } of regs)
      assert.not.ok(
        board.memory.some((m) => overlaps(m, r)),
        `${name} overlaps RAM`,
      );
    const irqs = board.devices.flatMap((x) => x.interrupts.map((i) => `${i.type} ${i.number}`));
    assert.is(new Set(irqs).size, irqs.length, 'two devices share an interrupt');
  });

  test(`${board.name}: assignable DMA masters are confined, each with its own stream id`, () => {
    const reserved = reservedDevices(board);
    for (const dev of board.devices)
      if (!reserved.has(dev.name))
        assert.is.not(dev.dma.kind, 'unconfined', `${dev.name} is assignable but unconfined`);
    const streams = board.devices.flatMap((x) => (x.dma.kind === 'stream-id' ? [x.dma.streamId] : []));
    assert.is(new Set(streams).size, streams.length);
  });

  test(`${board.name}: virtio transports are virtio0… in address order`, () => {
    const virtio = board.devices.filter((x) => x.compatible.includes('virtio,mmio'));
    assert.is(virtio.length, board.arch === 'riscv64' ? 8 : 32);
    virtio.forEach((x, i) => {
      assert.is(x.name, `virtio${i}`);
      assert.equal(x.dma, { kind: 'stream-id', streamId: i });
    });
  });

  test(`${board.name}: the console is a virtual UART beside the real one`, () => {
    assert.is(board.console.kind, 'virtual-uart');
    if (board.console.kind !== 'virtual-uart') return;
    const uart = board.console.device;
    assert.ok(uart.serial);
    assert.not.ok(
      board.devices.some((x) => x.name === uart.name),
      `console UART ${uart.name} has the name of a device`,
    );
    const real = board.devices.filter((x) => x.serial && sameRanges(x.reg, uart.reg));
    assert.equal(
      real.map((x) => x.name),
      ['uart0'],
    );
    assert.ok(
      board.reserved.some((r) => r.owner === 'management' && r.devices.includes('uart0')),
      'the real UART belongs to management',
    );
  });
}

test('ARM boards: management holds core 0 and 0x40000000–0x47ffffff, so partitions start at 0x48000000', () => {
  for (const name of ['qemu-virt-aarch64', 'qemu-virt-armv7']) {
    const board = getBuiltinBoard(name)!;
    assert.equal(board.reserved, [
      {
        owner: 'management',
        cpus: [0],
        memory: [{ base: 0x4000_0000, size: 128 * MiB }],
        devices: ['uart0', 'flash0', 'fw-cfg0', 'pcie0'],
      },
    ]);
  }
  assert.equal(getBuiltinBoard('qemu-virt-aarch64')!.memory, [{ base: 0x4000_0000, size: 4 * GiB }]);
  assert.equal(getBuiltinBoard('qemu-virt-armv7')!.memory, [{ base: 0x4000_0000, size: 2 * GiB }]);
});

test('riscv64: OpenSBI holds 0x80000000–0x801fffff, management the last 128 MiB', () => {
  const board = getBuiltinBoard('qemu-virt-riscv64')!;
  assert.equal(board.memory, [{ base: 0x8000_0000, size: 2 * GiB }]);
  assert.equal(board.reserved, [
    { owner: 'monitor', cpus: [], memory: [{ base: 0x8000_0000, size: 2 * MiB }], devices: ['syscon0'] },
    {
      owner: 'management',
      cpus: [0],
      memory: [{ base: 0xf800_0000, size: 128 * MiB }],
      devices: ['uart0', 'fw-cfg0', 'flash0', 'pcie0'],
    },
  ]);
});

// --- The YAML form -------------------------------------------------------------------------------

const exampleDir = new URL('examples/boards/', root);
const exampleFiles = readdirSync(exampleDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function boardValidator() {
  const schema = JSON.parse(readFileSync(new URL('schemas/board.schema.json', root), 'utf8')) as object;
  return new Ajv2020({ allErrors: true, strict: true }).compile(schema);
}

test('examples/boards holds one YAML file per built-in board', () => {
  assert.equal(exampleFiles, [...builtinBoards.keys()].map((n) => `${n}.yaml`).sort());
});

for (const file of exampleFiles) {
  test(`examples/boards/${file}: validates against the board schema and says what the built-in board says`, () => {
    const text = readFileSync(new URL(file, exampleDir), 'utf8');
    assert.is(text.split('\n')[0], '# yaml-language-server: $schema=../../schemas/board.schema.json');
    const doc: unknown = parse(text);
    const validate = boardValidator();
    const valid = validate(doc);
    assert.equal(validate.errors ?? [], []);
    assert.ok(valid);
    const fromYaml = boardFromYaml(doc);
    const builtin = getBuiltinBoard(String(fromYaml['name']));
    assert.ok(builtin, `no built-in board ${String(fromYaml['name'])}`);
    assert.equal(fromYaml, JSON.parse(JSON.stringify(builtin)) as unknown);
    // clock-names order is the order of `clocks`, so YAML must keep it.
    const yamlDevices = fromYaml['devices'] as { clocks?: Record<string, number> }[];
    builtin!.devices.forEach((dev, i) =>
      assert.equal(Object.keys(yamlDevices[i]?.clocks ?? {}), Object.keys(dev.clocks ?? {})),
    );
  });
}

test.run();
