// Nodes and trees: building, copying, finding (by path, alias, label, phandle) and editing.
// Name matching follows libfdt: a name without a unit address also matches `name@…`.
import { FdtError } from './errors.js';
import { getProp, u32 } from './props.js';
import { valueToName } from './strings.js';
import type { Fdt, FdtNode, FdtProperty, FdtReservation } from './types.js';
import { pathOf, walk } from './walk.js';

/** 2.3.3: phandles run from 1 to 0xfffffffe. */
const PHANDLE_MAX = 0xfffffffe;
const CELL = 4;

/** A node from its name (with any unit address), properties and children. */
export function node(name: string, props: FdtProperty[] = [], children: FdtNode[] = []): FdtNode {
  return { name, props, children };
}

/** A tree around `root`, with no reservations and boot CPU 0 unless given. */
export function createFdt(root: FdtNode = node(''), reservations: FdtReservation[] = [], bootCpuidPhys = 0): Fdt {
  return { root, reservations, bootCpuidPhys };
}

/** A deep copy: new nodes, property lists and values. The layout, immutable, is shared. */
export function cloneFdt(fdt: Fdt): Fdt {
  const copy: Fdt = {
    root: cloneNode(fdt.root),
    reservations: fdt.reservations.map((r) => ({ address: r.address, size: r.size })),
    bootCpuidPhys: fdt.bootCpuidPhys,
  };
  if (fdt.layout !== undefined) copy.layout = fdt.layout;
  return copy;
}

/** A deep copy of a node and everything under it. */
export function cloneNode(source: FdtNode): FdtNode {
  const copies: FdtNode[] = [];
  let top: FdtNode | undefined;
  walk(source, (n, chain) => {
    const copy = node(
      n.name,
      n.props.map((p) => ({ name: p.name, value: p.value.slice() })),
      [],
    );
    copies.length = chain.length - 1;
    const parent = copies[copies.length - 1];
    if (parent === undefined) top = copy;
    else parent.children.push(copy);
    copies.push(copy);
  });
  return top!;
}

/** The child called `name`; a name without `@` also matches the first `name@…`, as libfdt does. */
export function getChild(parent: FdtNode, name: string): FdtNode | undefined {
  const exact = parent.children.find((c) => c.name === name);
  if (exact !== undefined || name.includes('@')) return exact;
  return parent.children.find((c) => c.name.startsWith(name) && c.name.charCodeAt(name.length) === 0x40);
}

/** The node at `path`: absolute (`/cpus/cpu@2`), or starting with an alias from /aliases (`serial0`). */
export function findNode(fdt: Fdt, path: string): FdtNode | undefined {
  let current: FdtNode | undefined = fdt.root;
  let rest = path;
  if (!path.startsWith('/')) {
    const slash = path.indexOf('/');
    const aliases = getChild(fdt.root, 'aliases');
    const target = aliases && valueToName(getProp(aliases, slash < 0 ? path : path.slice(0, slash))?.value);
    if (target === undefined || !target.startsWith('/')) return undefined;
    current = findNode(fdt, target);
    rest = slash < 0 ? '' : path.slice(slash);
  }
  for (const part of rest.split('/')) {
    if (part === '' || current === undefined) continue;
    current = getChild(current, part);
  }
  return path === '' ? undefined : current;
}

/** Calls `visit` for every node in document order with its path and its parent. */
export function forEachNode(fdt: Fdt, visit: (node: FdtNode, path: string, parent: FdtNode | undefined) => void): void {
  walk(fdt.root, (n, chain) => visit(n, pathOf(chain), chain[chain.length - 2]));
}

/** The path of `target` (the very object) in the tree, or undefined when it is not in it. */
export function pathOfNode(fdt: Fdt, target: FdtNode): string | undefined {
  let found: string | undefined;
  walk(fdt.root, (n, chain) => {
    if (found === undefined && n === target) found = pathOf(chain);
  });
  return found;
}

/** The node's phandle (`phandle`, else `linux,phandle`, each one cell), or undefined, as libfdt reads it. */
export function getPhandle(n: FdtNode): number | undefined {
  for (const name of ['phandle', 'linux,phandle']) {
    const value = getProp(n, name)?.value;
    if (value !== undefined && value.length === CELL) {
      const phandle = new DataView(value.buffer, value.byteOffset, CELL).getUint32(0);
      return phandle === 0 ? undefined : phandle;
    }
  }
  return undefined;
}

/** The first node, in document order, with this phandle. */
export function findByPhandle(fdt: Fdt, phandle: number): FdtNode | undefined {
  let found: FdtNode | undefined;
  walk(fdt.root, (n) => {
    if (found === undefined && getPhandle(n) === phandle) found = n;
  });
  return found;
}

/** The node a label names, through /__symbols__ (trees compiled with `dtc -@`). */
export function findByLabel(fdt: Fdt, label: string): FdtNode | undefined {
  const symbols = getChild(fdt.root, '__symbols__');
  const path = symbols && valueToName(getProp(symbols, label)?.value);
  return path === undefined ? undefined : findNode(fdt, path);
}

/** The largest phandle in the tree, 0 when there is none. */
export function maxPhandle(fdt: Fdt): number {
  let max = 0;
  walk(fdt.root, (n) => {
    max = Math.max(max, getPhandle(n) ?? 0);
  });
  return max;
}

/** The node's phandle, giving it the next free one (the tree's largest + 1) when it has none. */
export function allocatePhandle(fdt: Fdt, target: FdtNode): number {
  const existing = getPhandle(target);
  if (existing !== undefined) return existing;
  const next = maxPhandle(fdt) + 1;
  if (next > PHANDLE_MAX)
    throw new FdtError(
      'bad-value',
      `Cannot allocate a phandle for node "${target.name}": phandles up to ${PHANDLE_MAX} are taken`,
    );
  setProp(target, u32('phandle', next));
  return next;
}

/** Sets a property: replaces the value where the node has one of that name, else appends it. */
export function setProp(target: FdtNode, prop: FdtProperty): void {
  const i = target.props.findIndex((p) => p.name === prop.name);
  if (i < 0) target.props.push(prop);
  else target.props[i] = prop;
}

/** Removes the property called `name`; true when there was one. */
export function deleteProp(target: FdtNode, name: string): boolean {
  const i = target.props.findIndex((p) => p.name === name);
  if (i >= 0) target.props.splice(i, 1);
  return i >= 0;
}

/** Appends `child` to `parent` and returns it; FdtError when a child of that exact name exists. */
export function addChild(parent: FdtNode, child: FdtNode): FdtNode {
  if (parent.children.some((c) => c.name === child.name)) {
    throw new FdtError(
      'bad-value',
      `Cannot add node "${child.name}" to node "${parent.name || '/'}": it already has one of that name`,
    );
  }
  parent.children.push(child);
  return child;
}

/** Removes the child called exactly `name`; true when there was one. */
export function deleteChild(parent: FdtNode, name: string): boolean {
  const i = parent.children.findIndex((c) => c.name === name);
  if (i >= 0) parent.children.splice(i, 1);
  return i >= 0;
}
