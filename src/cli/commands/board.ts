// `vman board`: cores, memory banks, what the management partition and the monitor reserve, and
// the devices partitions may be given, each with who holds it now (read from the monitor, never with
// the lock; any board may be shown, live partitions or not).
import type { Command } from '../run.js';
import type { Board } from '../../board/model.js';
import type { Holder, Occupancy } from '../../engine/index.js';
import { openEngine } from '../engine.js';
import { styleFor, type Style } from '../render/style.js';
import { formatRange, formatSize, formatAddress } from '../../units/format.js';
import { interruptToYaml } from '../../board/from-yaml.js';

/** A holder as `vman board` names it: `reserved by the management partition`, `held by rtos0`. */
function holderText(h: Holder): string {
  if (h.kind === 'reserved')
    return `reserved by ${h.owner === 'management' ? 'the management partition' : 'the monitor'}`;
  return h.kind === 'partition' ? `held by ${h.name}` : `held by ${h.name} (an orphan: \`vman apply\` removes it)`;
}

/** A live holder's name for --json (`heldBy`); null for a reservation or nobody. */
const heldBy = (h: Holder | undefined): string | null => (h && h.kind !== 'reserved' ? h.name : null);

/**
 * SPEC's `board --json` document (the model, with interrupts in their YAML form), plus who holds each core,
 * device and memory range now: `heldBy` (a live partition or orphan, else null), each bank's `held` ranges,
 * and `heldKnown` (false when that could not be read: then nothing is shown as held).
 */
export function boardJson(board: Board, origin: string, occ: Occupancy, known: boolean): Record<string, unknown> {
  const reservedDevices = new Set(board.reserved.flatMap((r) => r.devices));
  return {
    name: board.name,
    arch: board.arch,
    origin,
    model: board.model,
    heldKnown: known,
    cpus: board.cpus.map((c) => ({
      ...c,
      reservedBy: board.reserved.find((r) => r.cpus.includes(c.id))?.owner ?? null,
      heldBy: heldBy(occ.cpus.get(c.id)),
    })),
    memory: occ.memory.map(({ bank, stretches }) => ({
      base: bank.base,
      size: bank.size,
      held: stretches.flatMap((m) => {
        const name = heldBy(m.holder);
        return name === null ? [] : [{ partition: name, base: m.base, size: m.size }];
      }),
    })),
    reserved: board.reserved.map((r) => ({
      owner: r.owner,
      cpus: r.cpus,
      memory: r.memory.map((m) => ({ base: m.base, size: m.size })),
      devices: r.devices,
    })),
    devices: board.devices.map((d) => ({
      name: d.name,
      compatible: d.compatible,
      reg: d.reg.map((r) => ({ base: r.base, size: r.size })),
      interrupts: d.interrupts.map(interruptToYaml),
      dma: d.dma,
      assignable: !reservedDevices.has(d.name) && d.dma.kind !== 'unconfined',
      heldBy: heldBy(occ.devices.get(d.name)),
    })),
    interruptController: board.interruptController,
    timer: board.timer,
    power: board.power,
    console: board.console,
  };
}

/** A column of texts padded to its widest. */
function padded(texts: readonly string[]): string[] {
  const width = Math.max(0, ...texts.map((t) => t.length));
  return texts.map((t) => t.padEnd(width));
}

// The human listing: each core, memory stretch and device with its holder, or free / assignable.
function render(b: Board, origin: string, occ: Occupancy, unknown: string | undefined, s: Style): string {
  const shown = (h: Holder | undefined, free: string) => (h ? s.dim(holderText(h)) : s.green(free));
  const lines = [`${s.bold(b.name)} (${b.arch}${origin === 'builtin' ? ', built-in' : `, from ${origin}`})`];
  if (unknown) lines.push(s.dim(`(${unknown}: what partitions hold is not shown)`));
  lines.push('', s.bold('Cores'));
  for (const c of b.cpus) {
    lines.push(
      `  ${String(c.id).padStart(3)}  hwid ${formatAddress(c.hwid).padEnd(10)} ${c.compatible.padEnd(16)} ` +
        shown(occ.cpus.get(c.id), 'free'),
    );
  }
  lines.push('', s.bold('Memory'));
  for (const { bank, stretches } of occ.memory) {
    lines.push(`  ${formatRange(bank)}  ${formatSize(bank.size)}`);
    const ranges = padded(stretches.map(formatRange));
    const sizes = padded(stretches.map((m) => formatSize(m.size)));
    stretches.forEach((m, i) => lines.push(`    ${ranges[i]}  ${sizes[i]}  ${shown(m.holder, 'free')}`));
  }
  lines.push('', s.bold('Reserved'));
  for (const r of b.reserved) {
    lines.push(
      `  ${r.owner.padEnd(10)} cores [${r.cpus.join(', ')}]  ` +
        `memory ${r.memory.map((m) => `${formatRange(m)} (${formatSize(m.size)})`).join(', ') || '-'}  ` +
        `devices ${r.devices.join(', ') || '-'}`,
    );
  }
  lines.push('', s.bold('Devices'));
  for (const d of b.devices) {
    const holder = occ.devices.get(d.name);
    const why = holder
      ? s.dim(holderText(holder))
      : d.dma.kind === 'unconfined'
        ? s.dim('not assignable: DMA not confined')
        : s.green('assignable');
    const dma =
      d.dma.kind === 'stream-id'
        ? `, DMA stream ${d.dma.streamId}`
        : d.dma.kind === 'iommu'
          ? `, DMA via ${d.dma.iommu}`
          : '';
    lines.push(
      `  ${d.name.padEnd(10)} ${d.compatible[0]?.padEnd(22) ?? ''} ` +
        `${d.reg[0] ? formatAddress(d.reg[0].base).padEnd(12) : ''} ${why}${dma}`,
    );
  }
  if (b.console.kind === 'virtual-uart')
    lines.push(
      '',
      `${s.bold('Console')}: each partition gets a virtual ${b.console.device.compatible[0]} ` +
        `at ${formatAddress(b.console.device.reg[0]?.base ?? 0)} from the monitor`,
    );
  return `${lines.join('\n')}\n`;
}

const board: Command<'board'> = async (inv, io) => {
  const engine = await openEngine(inv.flags, io, { readOnly: true });
  const ws = engine.workspace;
  const { occupancy, unknown } = await engine.occupancy();
  if (inv.flags.json) {
    io.out(`${JSON.stringify(boardJson(ws.board, ws.boardOrigin, occupancy, unknown === undefined))}\n`);
    return 'ok';
  }
  io.out(render(ws.board, ws.boardOrigin, occupancy, unknown, styleFor(io.outStream, io.env)));
  return 'ok';
};

export default board;
