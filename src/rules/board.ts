// Design rules for a board: what the schema cannot see (ids in order, ranges that overlap,
// reservations of things that do not exist, an interrupt controller of the wrong architecture).
import type { Board, MemRange } from '../board/model.js';
import type { Diagnostic, Position } from './diagnostic.js';
import { CODES } from './codes.js';
import { formatRange } from '../units/format.js';
import { overlaps } from '../units/ranges.js';

const PAGE = 4096;
const insideAny = (banks: readonly MemRange[], r: MemRange) =>
  banks.some((b) => r.base >= b.base && r.base + r.size <= b.base + b.size);

/** Checks a board. `at(path)` gives the YAML position of a dotted spec path (e.g. "spec.cpus.3.id"). */
export function checkBoard(board: Board, at: (path: string) => Position | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const add = (code: string, message: string, path: string, hint?: string) => {
    const position = at(path);
    out.push({ code, message, ...(position ? { position } : {}), ...(hint ? { hint } : {}) });
  };
  const arm = board.arch !== 'riscv64';
  board.cpus.forEach((c, i) => {
    if (c.id !== i)
      add(
        CODES.boardInvalid,
        `core ${i} has id ${c.id}; ids must be 0 … n-1 in board order`,
        `spec.cpus.${i}.id`,
        `set id: ${i}`,
      );
    const dup = board.cpus.findIndex((x) => x.hwid === c.hwid);
    if (dup !== i)
      add(
        CODES.boardInvalid,
        `cores ${dup} and ${i} have the same hwid 0x${c.hwid.toString(16)}`,
        `spec.cpus.${i}.hwid`,
      );
    if (!arm && !c.isa)
      add(CODES.boardInvalid, `RISC-V core ${i} needs \`isa\` (its riscv,isa string)`, `spec.cpus.${i}`);
  });
  board.memory.forEach((m, i) => {
    if (m.base % PAGE || m.size % PAGE || m.size === 0)
      add(
        CODES.boardInvalid,
        `RAM bank ${formatRange(m)} is not 4 KiB aligned`,
        `spec.memory.${i}`,
        'RAM banks start and end on 4 KiB boundaries',
      );
    board.memory
      .slice(0, i)
      .forEach(
        (o) =>
          overlaps(o, m) &&
          add(CODES.boardOverlap, `RAM bank ${formatRange(m)} overlaps ${formatRange(o)}`, `spec.memory.${i}`),
      );
  });
  const names = new Map<string, number>();
  board.devices.forEach((d, i) => {
    const prev = names.get(d.name);
    if (prev !== undefined)
      add(
        CODES.boardInvalid,
        `device name \`${d.name}\` is used twice (devices ${prev} and ${i})`,
        `spec.devices.${i}.name`,
      );
    names.set(d.name, i);
    d.interrupts.forEach((irq, k) => {
      const want = arm ? 'spi' : 'plic';
      if (irq.type !== want)
        add(
          CODES.boardInvalid,
          `device \`${d.name}\` has a ${irq.type.toUpperCase()} interrupt, ` +
            `but this board's interrupt controller takes ${want.toUpperCase()} numbers`,
          `spec.devices.${i}.interrupts.${k}`,
        );
      const ic = board.interruptController;
      if (irq.type === 'plic' && ic.kind === 'plic' && irq.number > ic.ndev)
        add(
          CODES.boardInvalid,
          `device \`${d.name}\` uses PLIC source ${irq.number}, above riscv,ndev ${ic.ndev}`,
          `spec.devices.${i}.interrupts.${k}`,
        );
    });
    d.reg.forEach((r, k) => {
      const ram = board.memory.find((m) => overlaps(m, r));
      if (ram)
        add(
          CODES.boardOverlap,
          `device \`${d.name}\` registers ${formatRange(r)} overlap RAM ${formatRange(ram)}`,
          `spec.devices.${i}.reg.${k}`,
        );
    });
  });
  const icArm = board.interruptController.kind !== 'plic';
  if (icArm !== arm)
    add(
      CODES.boardInvalid,
      `a ${board.arch} board cannot use a ${board.interruptController.kind.toUpperCase()} interrupt controller`,
      'spec.interruptController.kind',
    );
  if ((board.timer.kind === 'riscv-timebase') === arm)
    add(CODES.boardInvalid, `a ${board.arch} board cannot use the ${board.timer.kind} timer`, 'spec.timer.kind');
  if ((board.power.kind === 'sbi') === arm)
    add(
      CODES.boardInvalid,
      `a ${board.arch} board cannot use ${board.power.kind.toUpperCase()} to start cores`,
      'spec.power.kind',
      arm ? 'ARM boards use kind: psci' : 'RISC-V boards use kind: sbi',
    );
  if (board.arch === 'aarch64' && board.timer.kind === 'armv7-timer')
    add(CODES.boardInvalid, 'an aarch64 board uses the armv8-timer', 'spec.timer.kind');

  const claimed: { what: string; range: MemRange }[] = [];
  const cpuOwner = new Map<number, string>();
  const devOwner = new Map<string, string>();
  board.reserved.forEach((r, i) => {
    r.cpus.forEach((c, k) => {
      if (!board.cpus.some((x) => x.id === c))
        add(
          CODES.boardInvalid,
          `the ${r.owner} reserves core ${c}, which the board does not have`,
          `spec.reserved.${i}.cpus.${k}`,
        );
      const o = cpuOwner.get(c);
      if (o)
        add(
          CODES.boardOverlap,
          `core ${c} is reserved by both the ${o} and the ${r.owner}`,
          `spec.reserved.${i}.cpus.${k}`,
        );
      cpuOwner.set(c, r.owner);
    });
    r.memory.forEach((m, k) => {
      if (!insideAny(board.memory, m))
        add(
          CODES.boardInvalid,
          `the ${r.owner} reserves ${formatRange(m)}, which is not inside one RAM bank`,
          `spec.reserved.${i}.memory.${k}`,
        );
      if (m.base % PAGE || m.size % PAGE)
        add(
          CODES.boardInvalid,
          `the ${r.owner}'s memory ${formatRange(m)} is not 4 KiB aligned`,
          `spec.reserved.${i}.memory.${k}`,
        );
      const o = claimed.find((c) => overlaps(c.range, m));
      if (o)
        add(
          CODES.boardOverlap,
          `the ${r.owner}'s memory ${formatRange(m)} overlaps ${o.what}'s ${formatRange(o.range)}`,
          `spec.reserved.${i}.memory.${k}`,
        );
      claimed.push({ what: `the ${r.owner}`, range: m });
    });
    r.devices.forEach((d, k) => {
      if (!names.has(d))
        add(
          CODES.boardInvalid,
          `the ${r.owner} reserves device \`${d}\`, which the board does not have`,
          `spec.reserved.${i}.devices.${k}`,
        );
      const o = devOwner.get(d);
      if (o)
        add(
          CODES.boardOverlap,
          `device \`${d}\` is reserved by both the ${o} and the ${r.owner}`,
          `spec.reserved.${i}.devices.${k}`,
        );
      devOwner.set(d, r.owner);
    });
  });
  const mgmt = board.reserved.find((r) => r.owner === 'management');
  if (!mgmt || mgmt.cpus.length === 0)
    add(
      CODES.boardInvalid,
      'the management partition must hold at least one core (core 0)',
      'spec.reserved',
      'add a reservation with owner: management and cpus: [0]',
    );
  if (board.qemu && board.memory.some((m) => m.base < (board.qemu?.ramBase ?? 0)))
    add(CODES.boardInvalid, `qemu.ramBase ${board.qemu.ramBase} lies above a RAM bank`, 'spec.qemu.ramBase');
  return out;
}
