// The built-in boards, by name. Pure data: see each board's file for where its numbers come from.
import type { Board } from '../model.js';
import { qemuVirtAarch64 } from './qemu-virt-aarch64.js';
import { qemuVirtArmv7 } from './qemu-virt-armv7.js';
import { qemuVirtRiscv64 } from './qemu-virt-riscv64.js';

/** The board used when neither `--board`, `board.yaml` nor the state names one. */
export const DEFAULT_BOARD = 'qemu-virt-aarch64';

/** Every built-in board, keyed by its name, in the order `vman board` lists them. */
export const builtinBoards: ReadonlyMap<string, Board> = new Map<string, Board>(
  [qemuVirtAarch64, qemuVirtArmv7, qemuVirtRiscv64].map((board) => [board.name, board]),
);

/** The built-in board called `name`, or undefined when there is none. */
export function getBuiltinBoard(name: string): Board | undefined {
  return builtinBoards.get(name);
}
