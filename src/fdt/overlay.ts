// Device tree overlays as `dtc -@` compiles them (dtc's Documentation/dt-object-internal.txt),
// applied as libfdt's fdt_overlay_apply (v1.7.1 and later) applies them:
//   1. every phandle in the overlay moves above the base's largest;
//   2. the overlay's references to its own nodes (/__local_fixups__) move with them;
//   3. references to base labels (/__fixups__) get the base node's phandle, via its /__symbols__;
//   4. an overlay node that lands on a base node which has a phandle takes that phandle;
//   5. each fragment's __overlay__ merges into its target (`target` phandle or `target-path`):
//      new properties and subnodes go first, as libfdt inserts them, existing ones are replaced;
//   6. the overlay's /__symbols__ join the base's, rewritten to the merged paths.
import { FdtError, hex } from './errors.js';
import { getProp } from './props.js';
import { bytesToName, valueToName } from './strings.js';
import { cloneFdt, findByPhandle, findNode, getChild, getPhandle, maxPhandle, node, pathOfNode } from './tree.js';
import type { Fdt, FdtNode } from './types.js';
import { pathOf, walk } from './walk.js';

const CELL = 4;
const PHANDLE_MAX = 0xfffffffe;
const PHANDLE_UNRESOLVED = 0xffffffff;
const PHANDLE_PROPS = ['phandle', 'linux,phandle'] as const;
const OVERLAY = '__overlay__';
const FIXUP_ENTRY = /^([^:]*):([^:]+):(\d+)$/;

type Fail = (fragment: string | undefined, what: string) => FdtError;

/** Applies a compiled overlay (`dtc -@`, `/plugin/;`) to a copy of `base`; `source` names the overlay in errors. */
export function applyOverlay(base: Fdt, overlay: Fdt, source: string): Fdt {
  const result = cloneFdt(base);
  const ov = cloneFdt(overlay);
  const fail: Fail = (fragment, what) =>
    new FdtError('bad-overlay', `Overlay ${source}${fragment === undefined ? '' : `, ${fragment}`}: ${what}`, {
      overlay: source,
      ...(fragment === undefined ? {} : { fragment }),
    });
  const delta = maxPhandle(result);
  shiftPhandles(ov, delta, fail);
  shiftLocalReferences(ov, delta, fail);
  resolveLabels(result, ov, fail);
  keepBasePhandles(result, ov, fail);
  for (const fragment of ov.root.children) {
    const body = getChild(fragment, OVERLAY);
    if (body !== undefined) mergeNode(findTarget(result, fragment, fail).node, body);
  }
  mergeSymbols(result, ov, fail);
  return result;
}

/** The fragment a path lies in: its first component. */
function fragmentOf(path: string): string | undefined {
  return path.split('/').find((part) => part !== '');
}

function readCell(value: Uint8Array, offset: number): number {
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(offset);
}

function writeCell(value: Uint8Array, offset: number, cell: number): void {
  new DataView(value.buffer, value.byteOffset, value.byteLength).setUint32(offset, cell);
}

/** Sets a property as fdt_setprop does: in place when the node has it, else first. */
function setFirst(target: FdtNode, name: string, value: Uint8Array): void {
  const existing = getProp(target, name);
  if (existing !== undefined) existing.value = value;
  else target.props.unshift({ name, value });
}

// Step 1: every phandle of the overlay's nodes moves up by the base's largest phandle.
function shiftPhandles(ov: Fdt, delta: number, fail: Fail): void {
  walk(ov.root, (n, chain) => {
    for (const name of PHANDLE_PROPS) {
      const prop = getProp(n, name);
      if (prop === undefined) continue;
      const path = pathOf(chain);
      if (prop.value.length !== CELL)
        throw fail(fragmentOf(path), `${name} of node ${path} is ${prop.value.length} bytes, not one cell`);
      const moved = readCell(prop.value, 0) + delta;
      if (moved > PHANDLE_MAX)
        throw fail(
          fragmentOf(path),
          `${name} of node ${path} would pass ${hex(PHANDLE_MAX)} once above the base's phandles`,
        );
      writeCell(prop.value, 0, moved);
    }
  });
}

/**
 * Walks /__local_fixups__ alongside the overlay tree it mirrors; for each listed cell of each
 * listed property, calls `fix(value, offset)`.
 */
function forEachLocalReference(ov: Fdt, fail: Fail, fix: (value: Uint8Array, offset: number) => void): void {
  const fixups = findNode(ov, '/__local_fixups__');
  if (fixups === undefined) return;
  const visit = (tree: FdtNode, fixup: FdtNode, path: string): void => {
    for (const list of fixup.props) {
      const where = `${path === '' ? '/' : path}:${list.name}`;
      if (list.value.length % CELL !== 0)
        throw fail('__local_fixups__', `the fixup list for ${where} is not a whole number of cells`);
      const target = getProp(tree, list.name);
      if (target === undefined)
        throw fail(fragmentOf(path) ?? '__local_fixups__', `__local_fixups__ names ${where}, which the overlay lacks`);
      for (let i = 0; i < list.value.length; i += CELL) {
        const offset = readCell(list.value, i);
        if (offset + CELL > target.value.length) {
          throw fail(
            fragmentOf(path) ?? '__local_fixups__',
            `__local_fixups__ names offset ${offset} of ${where}, past its ${target.value.length} bytes`,
          );
        }
        fix(target.value, offset);
      }
    }
    for (const child of fixup.children) {
      const treeChild = getChild(tree, child.name);
      if (treeChild === undefined)
        throw fail(
          fragmentOf(path) ?? child.name,
          `__local_fixups__ names node ${path}/${child.name}, which the overlay lacks`,
        );
      visit(treeChild, child, `${path}/${child.name}`);
    }
  };
  visit(ov.root, fixups, '');
}

// Step 2: references to the overlay's own nodes follow their phandles.
function shiftLocalReferences(ov: Fdt, delta: number, fail: Fail): void {
  forEachLocalReference(ov, fail, (value, offset) => writeCell(value, offset, (readCell(value, offset) + delta) >>> 0));
}

// Step 3: each /__fixups__ property is a base label; each of its strings, `path:property:offset`,
// is a cell of the overlay that must hold the phandle of the base node with that label.
function resolveLabels(base: Fdt, ov: Fdt, fail: Fail): void {
  const fixups = findNode(ov, '/__fixups__');
  if (fixups === undefined) return;
  const symbols = getChild(base.root, '__symbols__');
  for (const { name: label, value } of fixups.props) {
    if (value.length === 0 || value[value.length - 1] !== 0)
      throw fail('__fixups__', `fixup "${label}" is not a list of NUL-terminated strings`);
    const entries = bytesToName(value, 0, value.length - 1)
      .split('\0')
      .map((entry) => {
        const m = FIXUP_ENTRY.exec(entry);
        if (m === null)
          throw fail('__fixups__', `fixup "${label}" entry ${JSON.stringify(entry)} is not path:property:offset`);
        return { path: m[1]!, prop: m[2]!, offset: Number(m[3]) };
      });
    const fragment = fragmentOf(entries[0]!.path);
    if (symbols === undefined) {
      throw fail(
        fragment,
        `label "${label}" is not in the base tree's __symbols__ (the base has none: compile it with dtc -@)`,
      );
    }
    const symbolPath = valueToName(getProp(symbols, label)?.value);
    if (symbolPath === undefined) throw fail(fragment, `label "${label}" is not in the base tree's __symbols__`);
    const target = findNode(base, symbolPath);
    if (target === undefined)
      throw fail(fragment, `label "${label}" names ${symbolPath}, which is not in the base tree`);
    const phandle = getPhandle(target);
    if (phandle === undefined) throw fail(fragment, `label "${label}" names ${symbolPath}, which has no phandle`);
    for (const entry of entries) {
      const where = `${entry.path}:${entry.prop}`;
      const holder = findNode(ov, entry.path);
      const prop = holder && getProp(holder, entry.prop);
      if (prop === undefined)
        throw fail(fragmentOf(entry.path), `the fixup for label "${label}" names ${where}, which the overlay lacks`);
      if (entry.offset + CELL > prop.value.length) {
        throw fail(
          fragmentOf(entry.path),
          `the fixup for label "${label}" names offset ${entry.offset} of ${where}, ` +
            `past its ${prop.value.length} bytes`,
        );
      }
      writeCell(prop.value, entry.offset, phandle);
    }
  }
}

/** A fragment's target in `base` as it stands, and the target-path it was named by, if any. */
function findTarget(base: Fdt, fragment: FdtNode, fail: Fail): { node: FdtNode; targetPath?: string } {
  const target = getProp(fragment, 'target');
  if (target !== undefined) {
    const phandle = target.value.length === CELL ? readCell(target.value, 0) : PHANDLE_UNRESOLVED;
    if (phandle === PHANDLE_UNRESOLVED)
      throw fail(fragment.name, 'target is not a resolved phandle (one cell, not 0xffffffff)');
    if (phandle !== 0) {
      const found = findByPhandle(base, phandle);
      if (found === undefined) throw fail(fragment.name, `target phandle ${hex(phandle)} is not in the base tree`);
      return { node: found };
    }
  }
  const pathProp = getProp(fragment, 'target-path');
  if (pathProp === undefined) throw fail(fragment.name, 'has neither target nor target-path');
  const targetPath = valueToName(pathProp.value);
  if (targetPath === undefined) throw fail(fragment.name, 'target-path is not a string');
  const found = findNode(base, targetPath);
  if (found === undefined) throw fail(fragment.name, `target-path "${targetPath}" is not in the base tree`);
  return { node: found, targetPath };
}

// Step 4: a phandle already in the base wins over the overlay's for the node they share, and
// the overlay's references to it follow (libfdt ≥ 1.7.1; older libfdt overwrote the base's).
function keepBasePhandles(base: Fdt, ov: Fdt, fail: Fail): void {
  const visit = (baseNode: FdtNode, ovNode: FdtNode): void => {
    const kept = getPhandle(baseNode);
    const replaced = getPhandle(ovNode);
    if (kept !== undefined && replaced !== undefined) {
      for (const name of PHANDLE_PROPS) {
        const prop = getProp(ovNode, name);
        if (prop !== undefined && prop.value.length === CELL) writeCell(prop.value, 0, kept);
      }
      forEachLocalReference(ov, fail, (value, offset) => {
        if (readCell(value, offset) === replaced) writeCell(value, offset, kept);
      });
    }
    for (const child of ovNode.children) {
      const baseChild = getChild(baseNode, child.name);
      if (baseChild !== undefined) visit(baseChild, child);
    }
  };
  for (const fragment of ov.root.children) {
    const body = getChild(fragment, OVERLAY);
    if (body === undefined) continue;
    let target: FdtNode;
    try {
      target = findTarget(base, fragment, fail).node;
    } catch {
      continue; // a target made by an earlier fragment overwrites nothing; merging reports real faults
    }
    visit(target, body);
  }
}

// Step 5, as fdt_setprop and fdt_add_subnode do it: new properties and subnodes are inserted
// first; a subnode that exists (libfdt's name match) is merged into.
function mergeNode(target: FdtNode, from: FdtNode): void {
  for (const prop of from.props) setFirst(target, prop.name, prop.value);
  for (const child of from.children) {
    let into = getChild(target, child.name);
    if (into === undefined) {
      into = node(child.name);
      target.children.unshift(into);
    }
    mergeNode(into, child);
  }
}

// Step 6: a symbol `/fragment@N/__overlay__/rel` becomes `<target path>/rel`; others are dropped.
function mergeSymbols(base: Fdt, ov: Fdt, fail: Fail): void {
  const symbols = getChild(ov.root, '__symbols__');
  if (symbols === undefined) return;
  let baseSymbols = getChild(base.root, '__symbols__');
  if (baseSymbols === undefined) {
    baseSymbols = node('__symbols__');
    base.root.children.unshift(baseSymbols);
  }
  for (const prop of symbols.props) {
    const path = valueToName(prop.value);
    if (path === undefined) throw fail('__symbols__', `symbol "${prop.name}" is not a string`);
    if (!path.startsWith('/')) throw fail('__symbols__', `symbol "${prop.name}" (${path}) is not an absolute path`);
    const slash = path.indexOf('/', 1);
    if (slash < 0) continue;
    const fragmentName = path.slice(1, slash);
    const rest = path.slice(slash);
    let relative: string;
    if (rest.startsWith(`/${OVERLAY}/`)) relative = rest.slice(OVERLAY.length + 2);
    else if (rest === `/${OVERLAY}`) relative = '';
    else continue;
    const fragment = getChild(ov.root, fragmentName);
    if (fragment === undefined || getChild(fragment, OVERLAY) === undefined) {
      throw fail(
        fragmentName,
        `symbol "${prop.name}" points into ${fragmentName}, which is not a fragment of the overlay`,
      );
    }
    const target = findTarget(base, fragment, fail);
    const targetPath = target.targetPath ?? pathOfNode(base, target.node) ?? '/';
    const merged = targetPath.length > 1 ? `${targetPath}/${relative}` : `/${relative}`;
    const value = new Uint8Array(merged.length + 1);
    for (let i = 0; i < merged.length; i++) value[i] = merged.charCodeAt(i);
    setFirst(baseSymbols, prop.name, value);
  }
}
