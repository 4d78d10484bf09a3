// A partition's own device tree, built from scratch from board + allocation + manifest + boot
// layout: only its cores, its memory, its devices and console, /chosen at the planned addresses.
// Pure. Overlays are applied afterwards (src/desired/resolve.ts, with src/fdt/overlay.ts).
import type { Board, BoardCpu, BoardDevice, DeviceInterrupt, PropertyValue } from '../board/model.js';
import type { Fdt, FdtNode, FdtProperty } from '../fdt/types.js';
import { cells, empty, str, strs, u32 } from '../fdt/props.js';

/** What the tree needs to know about the partition. */
export interface TreeInput {
  readonly board: Board;
  readonly name: string;
  /** Logical core ids. */
  readonly cpus: readonly number[];
  readonly memory: { readonly base: number; readonly size: number };
  readonly devices: readonly string[];
  readonly bootargs?: string;
  readonly initrd?: { readonly base: number; readonly size: number };
}

/** GIC interrupt specifier flags (Documentation/devicetree/bindings/interrupt-controller/arm,gic.yaml). */
const GIC_SPI = 0;
const GIC_PPI = 1;
const IRQ_EDGE_RISING = 1;
const IRQ_LEVEL_HIGH = 4;
/** RISC-V local interrupt numbers (privileged spec, mip bits). */
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

const hex = (n: number) => n.toString(16);
const node = (name: string, props: FdtProperty[], children: FdtNode[] = []): FdtNode => ({ name, props, children });
const hi = (n: number) => Math.floor(n / 2 ** 32);
const lo = (n: number) => n % 2 ** 32;
/** An address or size as two cells (root #address-cells = #size-cells = 2). */
const two = (n: number) => [hi(n), lo(n)];
const regProp = (ranges: readonly { readonly base: number; readonly size: number }[]) =>
  cells('reg', ...ranges.flatMap((r) => [...two(r.base), ...two(r.size)]));

/** Hands out phandles in order, so the same input always gives the same tree. */
class Phandles {
  private next = 1;
  take(): number {
    return this.next++;
  }
}

function propertyOf(name: string, v: PropertyValue): FdtProperty {
  if (v === true) return empty(name);
  if (typeof v === 'string') return str(name, v);
  if (v.length > 0 && typeof v[0] === 'string') return strs(name, ...(v as readonly string[]));
  return cells(name, ...(v as readonly number[]));
}

function interruptCells(irqs: readonly DeviceInterrupt[]): number[] {
  return irqs.flatMap((i) =>
    i.type === 'spi' ? [GIC_SPI, i.number, i.trigger === 'edge-rising' ? IRQ_EDGE_RISING : IRQ_LEVEL_HIGH] : [i.number],
  );
}

// The timer PPIs reach the partition's cores only: GICv2 names them by CPU interface number.
function ppiFlags(board: Board, cpus: readonly BoardCpu[]): number {
  if (board.interruptController.kind !== 'gicv2') return IRQ_LEVEL_HIGH;
  const mask = cpus.reduce((m, c) => (c.id < 8 ? m | (1 << c.id) : m), 0);
  return ((mask & 0xff) << 8) | IRQ_LEVEL_HIGH;
}

/** Fixed clocks for the devices and the console, one per frequency, in the order they are first asked for. */
class FixedClocks {
  private readonly byHz = new Map<number, number>();
  readonly nodes: FdtNode[] = [];
  constructor(private readonly phandles: Phandles) {}

  phandleFor(hz: number): number {
    let p = this.byHz.get(hz);
    if (p === undefined) {
      p = this.phandles.take();
      this.byHz.set(hz, p);
      this.nodes.push(
        node(`clock-${hz}`, [
          str('compatible', 'fixed-clock'),
          u32('#clock-cells', 0),
          u32('clock-frequency', hz),
          str('clock-output-names', `clk${hz}`),
          u32('phandle', p),
        ]),
      );
    }
    return p;
  }
}

/** What the node builders share while one tree is built. Phandles are taken in build order. */
interface TreeContext {
  readonly input: TreeInput;
  readonly board: Board;
  /** ARM (PSCI, GIC, devices at the root) rather than RISC-V (SBI, PLIC, devices under /soc). */
  readonly arm: boolean;
  /** The partition's cores, in the order the input names them (the first boots). */
  readonly cpus: readonly BoardCpu[];
  readonly phandles: Phandles;
  readonly clocks: FixedClocks;
}

function treeContext(input: TreeInput): TreeContext {
  const { board } = input;
  const cpus = input.cpus.map((id) => {
    const c = board.cpus.find((x) => x.id === id);
    if (!c) throw new Error(`bug: core ${id} is not on board ${board.name}`);
    return c;
  });
  const phandles = new Phandles();
  return { input, board, arm: board.arch !== 'riscv64', cpus, phandles, clocks: new FixedClocks(phandles) };
}

/**
 * Builds the partition's tree (no overlays). Phandles are taken in this order, so the same input
 * always gives the same bytes: the harts' interrupt controllers, the interrupt controller, the
 * clocks (as devices ask for them), then the labelled nodes without one (__symbols__).
 */
export function buildTree(input: TreeInput): Fdt {
  const ctx = treeContext(input);
  const cpus = cpusNode(ctx);
  const intc = interruptControllerNodes(ctx, cpus.hartIntcs);
  const devices = deviceNodes(ctx, intc.phandle);
  const timer = timerNode(ctx);
  const psci = psciNode(ctx.board);
  const children: FdtNode[] = [
    ...(devices.consolePath ? [aliasesNode(devices.consolePath)] : []),
    chosenNode(input, devices.consolePath),
    cpus.node,
    memoryNode(input.memory),
    ...intc.root,
    ...(timer ? [timer] : []),
    ...(psci ? [psci] : []),
    ...(ctx.arm ? devices.nodes : []),
    ...ctx.clocks.nodes,
  ];
  const soc = [...intc.soc, ...(ctx.arm ? [] : devices.nodes)];
  if (soc.length) children.push(socNode(soc));
  const root = node('', [...rootProps(ctx), ...intc.rootProps], children);
  addSymbols(root, devices.labels, ctx.phandles);
  return { root, reservations: [], bootCpuidPhys: ctx.cpus[0]?.hwid ?? 0 };
}

function rootProps({ input, board }: TreeContext): FdtProperty[] {
  return [
    u32('#address-cells', 2),
    u32('#size-cells', 2),
    str('model', `vman partition ${input.name} (${board.name})`),
    strs('compatible', `vman,partition-${input.name}`, 'vman,partition', ...board.compatible),
  ];
}

// /cpus. On RISC-V every hart from 0 to the partition's highest is listed, the others
// `status = "disabled"`: the SBI firmware (OpenSBI 1.1) indexes the CLINT by hart id counted
// from the lowest hart the CLINT names, so the slots before the partition's must be there;
// Linux and OpenSBI skip disabled harts, so only the partition's harts ever run.
// Returns the phandles of the listed harts' interrupt controllers (RISC-V), in listed order.
function cpusNode(ctx: TreeContext): { node: FdtNode; hartIntcs: number[] } {
  const { board, arm, cpus } = ctx;
  const mine = new Set(cpus.map((c) => c.hwid));
  const maxHart = Math.max(...cpus.map((c) => c.hwid));
  const listed = arm ? cpus : [...board.cpus].filter((c) => c.hwid <= maxHart).sort((a, b) => a.hwid - b.hwid);
  const cpuCells = listed.some((c) => c.hwid > 0xffffffff) ? 2 : 1;
  const hartIntcs: number[] = [];
  const cpuNodes = listed.map((c) => {
    const props: FdtProperty[] = [
      str('device_type', 'cpu'),
      str('compatible', c.compatible),
      cpuCells === 2 ? cells('reg', hi(c.hwid), lo(c.hwid)) : u32('reg', c.hwid),
    ];
    const kids: FdtNode[] = [];
    if (arm) props.push(str('enable-method', 'psci'));
    else {
      props.push(str('status', mine.has(c.hwid) ? 'okay' : 'disabled'));
      if (c.isa) props.push(str('riscv,isa', c.isa));
      if (c.mmuType) props.push(str('mmu-type', c.mmuType));
      const p = ctx.phandles.take();
      hartIntcs.push(p);
      kids.push(hartIntcNode(p));
    }
    return node(`cpu@${hex(c.hwid)}`, props, kids);
  });
  const cpusProps: FdtProperty[] = [u32('#address-cells', cpuCells), u32('#size-cells', 0)];
  if (board.timer.kind === 'riscv-timebase') cpusProps.unshift(u32('timebase-frequency', board.timer.frequency));
  return { node: node('cpus', cpusProps, cpuNodes), hartIntcs };
}

/** /memory: the partition's one RAM range. */
function memoryNode(memory: TreeInput['memory']): FdtNode {
  return node(`memory@${hex(memory.base)}`, [str('device_type', 'memory'), regProp([memory])]);
}

/** A RISC-V hart's local interrupt controller (the /cpus/cpu@N/interrupt-controller node). */
function hartIntcNode(phandle: number): FdtNode {
  return node('interrupt-controller', [
    u32('#interrupt-cells', 1),
    u32('#address-cells', 0),
    empty('interrupt-controller'),
    str('compatible', 'riscv,cpu-intc'),
    u32('phandle', phandle),
  ]);
}

/** The interrupt controller's phandle and nodes: at the root (GIC) or under /soc (PLIC, CLINT). */
interface InterruptControllerNodes {
  readonly phandle: number;
  readonly root: readonly FdtNode[];
  readonly soc: readonly FdtNode[];
  /** `interrupt-parent` for the root node (GIC only: RISC-V devices name the PLIC themselves). */
  readonly rootProps: readonly FdtProperty[];
}

// Interrupt controller: the GIC, or the PLIC and CLINT naming only the partition's harts.
function interruptControllerNodes(ctx: TreeContext, hartIntcs: readonly number[]): InterruptControllerNodes {
  const ic = ctx.board.interruptController;
  const phandle = ctx.phandles.take();
  if (ic.kind === 'gicv2' || ic.kind === 'gicv3') {
    const regs = ic.kind === 'gicv2' ? [ic.distributor, ic.cpuInterface] : [ic.distributor, ic.redistributor];
    const gic = node(`intc@${hex(ic.distributor.base)}`, [
      str('compatible', ic.compatible),
      u32('#interrupt-cells', 3),
      u32('#address-cells', 0),
      empty('interrupt-controller'),
      regProp(regs),
      u32('phandle', phandle),
    ]);
    return { phandle, root: [gic], soc: [], rootProps: [u32('interrupt-parent', phandle)] };
  }
  // PLIC context 2i / 2i+1 and CLINT slot i belong to the i-th listed hart, as in the board's tree.
  const slots = (a: number, b: number) => hartIntcs.flatMap((p) => [p, a, p, b]);
  const clint = node(`clint@${hex(ic.clint.reg.base)}`, [
    strs('compatible', ...ic.clint.compatible),
    regProp([ic.clint.reg]),
    cells('interrupts-extended', ...slots(IRQ_M_SOFT, IRQ_M_TIMER)),
  ]);
  const plic = node(`plic@${hex(ic.reg.base)}`, [
    u32('phandle', phandle),
    u32('riscv,ndev', ic.ndev),
    regProp([ic.reg]),
    cells('interrupts-extended', ...slots(IRQ_M_EXT, IRQ_S_EXT)),
    empty('interrupt-controller'),
    strs('compatible', ...ic.compatible),
    u32('#address-cells', 0),
    u32('#interrupt-cells', 1),
  ]);
  return { phandle, root: [], soc: [clint, plic], rootProps: [] };
}

/** The ARM architected timer, its PPIs routed to the partition's cores; none on RISC-V (/cpus has the time base). */
function timerNode({ board, cpus }: TreeContext): FdtNode | undefined {
  if (board.timer.kind === 'riscv-timebase') return undefined;
  const flags = ppiFlags(board, cpus);
  const compat = board.timer.kind === 'armv8-timer' ? ['arm,armv8-timer', 'arm,armv7-timer'] : ['arm,armv7-timer'];
  const props = [
    strs('compatible', ...compat),
    cells('interrupts', ...board.timer.ppis.flatMap((p) => [GIC_PPI, p, flags])),
  ];
  if (board.timer.alwaysOn) props.push(empty('always-on'));
  return node('timer', props);
}

/** /psci, how the partition's OS starts its other cores (ARM); none with SBI (RISC-V). */
function psciNode(board: Board): FdtNode | undefined {
  if (board.power.kind !== 'psci') return undefined;
  const props = [strs('compatible', ...board.power.compatible), str('method', board.power.method)];
  const ids = board.power.functionIds;
  if (ids)
    props.push(
      u32('cpu_suspend', ids.cpu_suspend),
      u32('cpu_off', ids.cpu_off),
      u32('cpu_on', ids.cpu_on),
      u32('migrate', ids.migrate),
    );
  return node('psci', props);
}

/** The partition's device nodes, the label each gets in __symbols__, and the console's path. */
interface DeviceNodes {
  readonly nodes: readonly FdtNode[];
  readonly labels: ReadonlyMap<FdtNode, string>;
  readonly consolePath: string | undefined;
}

// Devices: the console first, then the partition's own, each as the board describes it.
function deviceNodes(ctx: TreeContext, intcPhandle: number): DeviceNodes {
  const { board, arm, input } = ctx;
  const nodes: FdtNode[] = [];
  const labels = new Map<FdtNode, string>();
  const busPath = arm ? '' : '/soc';
  const place = (d: Omit<BoardDevice, 'dma'>, label: string): FdtNode => {
    const n = deviceNode(ctx, d, intcPhandle);
    labels.set(n, label);
    nodes.push(n);
    return n;
  };
  let consolePath: string | undefined;
  if (board.console.kind === 'virtual-uart') {
    const n = place(board.console.device, 'console');
    consolePath = `${busPath}/${n.name}`;
  }
  // The monitor's own devices the partition's SBI firmware drives (reset/power-off) are described too.
  if (!arm) {
    for (const name of board.reserved.filter((r) => r.owner === 'monitor').flatMap((r) => r.devices)) {
      const d = board.devices.find((x) => x.name === name);
      if (d) place(d, labelOf(d.name));
    }
  }
  for (const name of input.devices) {
    const d = board.devices.find((x) => x.name === name);
    if (!d) throw new Error(`bug: device ${name} is not on board ${board.name}`);
    const n = place(d, labelOf(d.name));
    if (!consolePath && d.serial) consolePath = `${busPath}/${n.name}`;
  }
  return { nodes, labels, consolePath };
}

/** One device node as the board describes it; its clocks become fixed clocks of the tree. */
function deviceNode(ctx: TreeContext, d: Omit<BoardDevice, 'dma'>, intcPhandle: number): FdtNode {
  const first = d.reg[0];
  const props: FdtProperty[] = [strs('compatible', ...d.compatible), regProp(d.reg)];
  if (d.interrupts.length) {
    if (!ctx.arm) props.push(u32('interrupt-parent', intcPhandle));
    props.push(cells('interrupts', ...interruptCells(d.interrupts)));
  }
  if (d.clocks && Object.keys(d.clocks).length) {
    const names = Object.keys(d.clocks);
    props.push(
      cells('clocks', ...names.map((n) => ctx.clocks.phandleFor(d.clocks?.[n] ?? 0))),
      strs('clock-names', ...names),
    );
  }
  for (const [k, v] of Object.entries(d.properties ?? {})) props.push(propertyOf(k, v));
  return node(first ? `${d.node}@${hex(first.base)}` : d.node, props);
}

/** /aliases: serial0 is the console, so Linux numbers it as its first serial port (ttyAMA0, ttyS0). */
function aliasesNode(consolePath: string): FdtNode {
  return node('aliases', [str('serial0', consolePath)]);
}

/** /chosen: bootargs, the console, and where the initrd was loaded (boot layout). */
function chosenNode(input: TreeInput, consolePath: string | undefined): FdtNode {
  const props: FdtProperty[] = [];
  if (input.bootargs !== undefined) props.push(str('bootargs', input.bootargs));
  if (consolePath) props.push(str('stdout-path', consolePath));
  if (input.initrd) {
    props.push(cells('linux,initrd-start', ...two(input.initrd.base)));
    props.push(cells('linux,initrd-end', ...two(input.initrd.base + input.initrd.size)));
  }
  return node('chosen', props);
}

/** /soc, the RISC-V bus: one-to-one ranges, children by unit address. */
function socNode(children: FdtNode[]): FdtNode {
  return node(
    'soc',
    [u32('#address-cells', 2), u32('#size-cells', 2), str('compatible', 'simple-bus'), empty('ranges')],
    children.sort((a, b) => unitOf(a) - unitOf(b)),
  );
}

/** A device name as a DTS label ([a-zA-Z_][a-zA-Z0-9_]*). */
function labelOf(name: string): string {
  const l = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(l) ? l : `_${l}`;
}

// The label a node gets in __symbols__, so overlays (dtc -@) can target the partition's nodes.
function ruleLabel(n: FdtNode, parent: FdtNode | undefined): string | undefined {
  const [base = '', unit] = n.name.split('@');
  if (['cpus', 'chosen', 'aliases', 'psci', 'timer', 'soc'].includes(base) && !unit) return base;
  if (base === 'cpu' && unit) return `cpu${Number.parseInt(unit, 16)}`;
  if (base === 'memory') return 'memory';
  if (base === 'intc') return 'gic';
  if (base === 'plic' || base === 'clint') return base;
  if (base === 'interrupt-controller' && parent?.name.startsWith('cpu@'))
    return `cpu${Number.parseInt(parent.name.split('@')[1] ?? '0', 16)}_intc`;
  if (base.startsWith('clock-')) return `clk${base.slice(6)}`;
  return undefined;
}

// Labels every well-known node (giving it a phandle if it has none) and writes /__symbols__,
// as dtc -@ would for a tree written with those labels.
function addSymbols(root: FdtNode, deviceLabels: ReadonlyMap<FdtNode, string>, ph: Phandles): void {
  const symbols: FdtProperty[] = [];
  const walk = (n: FdtNode, path: string, parent: FdtNode | undefined) => {
    const label = deviceLabels.get(n) ?? ruleLabel(n, parent);
    if (label && path) {
      if (!n.props.some((p) => p.name === 'phandle')) n.props.push(u32('phandle', ph.take()));
      symbols.push(str(label, path));
    }
    for (const c of n.children) walk(c, `${path}/${c.name}`, n);
  };
  walk(root, '', undefined);
  root.children.push(node('__symbols__', symbols));
}

function unitOf(n: FdtNode): number {
  const at = n.name.indexOf('@');
  return at < 0 ? 0 : Number.parseInt(n.name.slice(at + 1), 16);
}
