// QEMU's own device tree for a board, read whole through fdtget (device-tree-compiler), so tests can
// compare the board model with what QEMU really generates.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Board, MemRange } from '../../src/board/model.js';

const MiB = 1024 * 1024;

/** Runs the board's QEMU with `dumpdtb` and returns the blob's path; `cleanup` removes it. */
export function dumpQemuDtb(board: Board): { readonly file: string; readonly cleanup: () => void } {
  const qemu = board.qemu;
  if (!qemu) throw new Error(`board ${board.name} has no qemu machine`);
  const dir = mkdtempSync(join(tmpdir(), 'vman-board-'));
  const file = join(dir, `${board.name}.dtb`);
  const ram = board.memory.reduce((sum, bank) => sum + bank.size, 0);
  const args = [
    '-machine',
    `${qemu.machine},dumpdtb=${file}`,
    '-cpu',
    qemu.cpu,
    '-smp',
    String(board.cpus.length),
    '-m',
    `${ram / MiB}M`,
    '-nodefaults',
    '-display',
    'none',
  ];
  execFileSync(qemu.binary, args, { stdio: 'pipe', timeout: 60_000 });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A whole flattened device tree: every node's properties as raw bytes. */
export class QemuTree {
  private readonly props = new Map<string, Map<string, Uint8Array>>();
  private readonly kids = new Map<string, string[]>();

  constructor(readonly file: string) {
    const paths: string[] = [];
    const walk = (path: string): void => {
      paths.push(path);
      const children = run(file, ['-l'], [path]).split('\n').filter(Boolean);
      this.kids.set(path, children);
      for (const child of children) walk(path === '/' ? `/${child}` : `${path}/${child}`);
    };
    walk('/');
    const pairs: [string, string][] = [];
    for (const path of paths) {
      const names = run(file, ['-p'], [path]).split('\n').filter(Boolean);
      this.props.set(path, new Map());
      for (const name of names) pairs.push([path, name]);
    }
    // One fdtget for every property: each value comes back as one line of hex bytes.
    const lines = run(file, ['-t', 'bx'], pairs.flat()).split('\n');
    pairs.forEach(([path, name], i) => {
      const line = (lines[i] ?? '').trim();
      const bytes =
        line === '' ? new Uint8Array() : Uint8Array.from(line.split(/\s+/).map((b) => Number.parseInt(b, 16)));
      this.props.get(path)!.set(name, bytes);
    });
  }

  /** Every node path, root first, depth-first in QEMU's order. */
  paths(): string[] {
    return [...this.props.keys()];
  }

  children(path: string): string[] {
    return (this.kids.get(path) ?? []).map((c) => (path === '/' ? `/${c}` : `${path}/${c}`));
  }

  has(path: string, name: string): boolean {
    return this.props.get(path)?.has(name) ?? false;
  }

  propertyNames(path: string): string[] {
    return [...(this.props.get(path)?.keys() ?? [])];
  }

  bytes(path: string, name: string): Uint8Array | undefined {
    return this.props.get(path)?.get(name);
  }

  /** A property as big-endian 32-bit cells. */
  cells(path: string, name: string): number[] | undefined {
    const b = this.bytes(path, name);
    if (!b) return undefined;
    if (b.length % 4 !== 0) throw new Error(`${path} ${name}: ${b.length} bytes is not a whole number of cells`);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return Array.from({ length: b.length / 4 }, (_, i) => view.getUint32(i * 4));
  }

  /** A property as a NUL-separated string list. */
  strings(path: string, name: string): string[] | undefined {
    const b = this.bytes(path, name);
    if (!b) return undefined;
    if (b.length === 0 || b[b.length - 1] !== 0) throw new Error(`${path} ${name}: not a string list`);
    return new TextDecoder().decode(b.subarray(0, -1)).split('\0');
  }

  cell(path: string, name: string): number | undefined {
    const c = this.cells(path, name);
    if (c && c.length !== 1) throw new Error(`${path} ${name}: ${c.length} cells, expected 1`);
    return c?.[0];
  }

  parent(path: string): string {
    const at = path.lastIndexOf('/');
    return at <= 0 ? '/' : path.slice(0, at);
  }

  /** The node's `reg` decoded with its parent's #address-cells and #size-cells. */
  reg(path: string): MemRange[] | undefined {
    const cells = this.cells(path, 'reg');
    if (!cells) return undefined;
    const parent = this.parent(path);
    const ac = this.cell(parent, '#address-cells') ?? 2;
    const sc = this.cell(parent, '#size-cells') ?? 1;
    const out: MemRange[] = [];
    for (let i = 0; i + ac + sc <= cells.length; i += ac + sc) {
      out.push({ base: joinCells(cells.slice(i, i + ac)), size: joinCells(cells.slice(i + ac, i + ac + sc)) });
    }
    return out;
  }

  /** The node whose `phandle` is `phandle`. */
  byPhandle(phandle: number): string | undefined {
    return this.paths().find((p) => this.cell(p, 'phandle') === phandle);
  }

  /** The interrupt parent in effect for a node: its own `interrupt-parent`, else its nearest ancestor's. */
  interruptParent(path: string): string | undefined {
    for (let p: string | undefined = path; p !== undefined; p = p === '/' ? undefined : this.parent(p)) {
      const ph = this.cell(p, 'interrupt-parent');
      if (ph !== undefined) return this.byPhandle(ph);
    }
    return undefined;
  }
}

/** Cells of a multi-cell number, most significant first (exact up to 2 ** 53). */
export function joinCells(cells: readonly number[]): number {
  return cells.reduce((acc, c) => acc * 2 ** 32 + c, 0);
}

function run(file: string, options: readonly string[], rest: readonly string[]): string {
  return execFileSync('fdtget', [...options, file, ...rest], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}
