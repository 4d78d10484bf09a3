// `vman board`: cores, memory banks, what the management partition and the monitor reserve, and
// the devices partitions may be given.
import type { Command } from '../run.js';
import type { Board } from '../../board/model.js';
import { openEngine } from '../engine.js';
import { styleFor } from '../render/style.js';
import { formatRange, formatSize, formatAddress } from '../../units/format.js';
import { interruptToYaml } from '../../board/from-yaml.js';

/** SPEC's `board --json` document (the model, with interrupts in their YAML form). */
export function boardJson(board: Board, origin: string): Record<string, unknown> {
  const reservedDevices = new Set(board.reserved.flatMap((r) => r.devices));
  return {
    name: board.name,
    arch: board.arch,
    origin,
    model: board.model,
    cpus: board.cpus.map((c) => ({
      ...c,
      reservedBy: board.reserved.find((r) => r.cpus.includes(c.id))?.owner ?? null,
    })),
    memory: board.memory.map((m) => ({ base: m.base, size: m.size })),
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
    })),
    interruptController: board.interruptController,
    timer: board.timer,
    power: board.power,
    console: board.console,
  };
}

const board: Command<'board'> = async (inv, io) => {
  const ws = (await openEngine(inv.flags, io, { readOnly: true })).workspace;
  const b = ws.board;
  if (inv.flags.json) {
    io.out(`${JSON.stringify(boardJson(b, ws.boardOrigin))}\n`);
    return 'ok';
  }
  const s = styleFor(io.outStream, io.env);
  const owner = (id: number) => b.reserved.find((r) => r.cpus.includes(id))?.owner;
  const lines = [
    `${s.bold(b.name)} (${b.arch}${ws.boardOrigin === 'builtin' ? ', built-in' : `, from ${ws.boardOrigin}`})`,
    '',
    s.bold('Cores'),
    ...b.cpus.map(
      (c) =>
        `  ${String(c.id).padStart(3)}  hwid ${formatAddress(c.hwid).padEnd(10)} ${c.compatible.padEnd(16)} ` +
        (owner(c.id) ? s.dim(`reserved by the ${owner(c.id)}`) : s.green('free')),
    ),
    '',
    s.bold('Memory'),
    ...b.memory.map((m) => `  ${formatRange(m)}  ${formatSize(m.size)}`),
    '',
    s.bold('Reserved'),
    ...b.reserved.map(
      (r) =>
        `  ${r.owner.padEnd(10)} cores [${r.cpus.join(', ')}]  ` +
        `memory ${r.memory.map((m) => `${formatRange(m)} (${formatSize(m.size)})`).join(', ') || '-'}  ` +
        `devices ${r.devices.join(', ') || '-'}`,
    ),
    '',
    s.bold('Devices'),
  ];
  const reserved = new Set(b.reserved.flatMap((r) => r.devices));
  for (const d of b.devices) {
    const why = reserved.has(d.name)
      ? s.dim('reserved')
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
  io.out(`${lines.join('\n')}\n`);
  return 'ok';
};

export default board;
