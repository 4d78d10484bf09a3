// Fdt → DTS source that `dtc -I dts -O dtb` compiles back to the same tree. Values are printed
// as `dtc -O dts` prints a blob's: strings and string lists when every byte is printable text,
// else `<cells>` when the length is a multiple of 4, else `[bytes]`. One difference: in the
// phandle-and-arguments properties that dtc's checks verify (clocks, interrupts-extended,
// *-gpios, …), phandles are written as path references, `<&{/soc/clock} 0x02>`, which compile
// to the same value and spare a clean tree dtc's "is not a phandle reference" warnings.
import { getPhandle } from './tree.js';
import type { Fdt, FdtNode, FdtProperty } from './types.js';
import { pathOf, walk } from './walk.js';

const CELL = 4;
const ADDRESS_DIGITS = 16;
const PHANDLE_NONE = 0;
const PHANDLE_UNSET = 0xffffffff;

/** dtc's checks.c: properties of phandles with arguments, and the provider property giving the argument count. */
const PHANDLE_ARGS: ReadonlyMap<string, { readonly cells: string; readonly optional?: true }> = new Map([
  ['clocks', { cells: '#clock-cells' }],
  ['cooling-device', { cells: '#cooling-cells' }],
  ['dmas', { cells: '#dma-cells' }],
  ['hwlocks', { cells: '#hwlock-cells' }],
  ['interrupts-extended', { cells: '#interrupt-cells' }],
  ['io-channels', { cells: '#io-channel-cells' }],
  ['iommus', { cells: '#iommu-cells' }],
  ['mboxes', { cells: '#mbox-cells' }],
  ['msi-parent', { cells: '#msi-cells', optional: true }],
  ['mux-controls', { cells: '#mux-control-cells' }],
  ['phys', { cells: '#phy-cells' }],
  ['power-domains', { cells: '#power-domain-cells' }],
  ['pwms', { cells: '#pwm-cells' }],
  ['resets', { cells: '#reset-cells' }],
  ['sound-dai', { cells: '#sound-dai-cells' }],
  ['thermal-sensors', { cells: '#thermal-sensor-cells' }],
]);
const GPIO_CELLS = { cells: '#gpio-cells' } as const;

/** Nodes by phandle, with their paths. */
type Providers = ReadonlyMap<number, { readonly node: FdtNode; readonly path: string }>;

/** DTS for the tree. The boot CPU, which DTS cannot state, is named in a comment (dtc's `-b`). */
export function toDts(fdt: Fdt): string {
  const out: string[] = ['/dts-v1/;\n\n'];
  if (fdt.bootCpuidPhys !== 0) {
    out.push(
      `// boot_cpuid_phys is ${hexCell(fdt.bootCpuidPhys)}: ` +
        `DTS cannot say so; compile with dtc -b ${fdt.bootCpuidPhys}\n`,
    );
  }
  for (const r of fdt.reservations) {
    out.push(
      `/memreserve/\t0x${r.address.toString(16).padStart(ADDRESS_DIGITS, '0')} ` +
        `0x${r.size.toString(16).padStart(ADDRESS_DIGITS, '0')};\n`,
    );
  }
  let providers: Providers | undefined;
  walk(
    fdt.root,
    (node, chain) => {
      const depth = chain.length - 1;
      if (depth > 0) out.push('\n');
      out.push(`${'\t'.repeat(depth)}${depth === 0 ? '/' : node.name} {\n`);
      const indent = '\t'.repeat(depth + 1);
      for (const prop of node.props) {
        const args = phandleArgs(node, prop);
        const refs = args === undefined ? undefined : references(prop.value, args, (providers ??= phandles(fdt)));
        out.push(`${indent}${prop.name}${refs ?? formatValue(prop.value)};\n`);
      }
    },
    (_node, chain) => {
      out.push(`${'\t'.repeat(chain.length - 1)}};\n`);
    },
  );
  return out.join('');
}

/** ` = <value>` for a property value, or '' for an empty (boolean) one. */
export function formatValue(value: Uint8Array): string {
  if (value.length === 0) return '';
  if (isText(value)) return ` = ${formatStrings(value)}`;
  if (value.length % CELL === 0) {
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const cells: string[] = [];
    for (let i = 0; i < value.length; i += CELL) cells.push(hexCell(view.getUint32(i)));
    return ` = <${cells.join(' ')}>`;
  }
  const bytes: string[] = [];
  for (const b of value) bytes.push(b.toString(16).padStart(2, '0'));
  return ` = [${bytes.join(' ')}]`;
}

/** How dtc reads a property as phandles with arguments, if it does (checks.c, prop_is_gpio). */
function phandleArgs(
  node: FdtNode,
  prop: FdtProperty,
): { readonly cells: string; readonly optional?: true } | undefined {
  const known = PHANDLE_ARGS.get(prop.name);
  if (known !== undefined) return known;
  const name = prop.name;
  const gpio =
    (name.endsWith('-gpios') || name === 'gpios' || name.endsWith('-gpio') || name === 'gpio') &&
    !name.endsWith(',nr-gpios');
  return gpio && !node.props.some((p) => p.name === 'gpio-hog') ? GPIO_CELLS : undefined;
}

function phandles(fdt: Fdt): Providers {
  const map = new Map<number, { node: FdtNode; path: string }>();
  walk(fdt.root, (node, chain) => {
    const phandle = getPhandle(node);
    if (phandle !== undefined && !map.has(phandle)) map.set(phandle, { node, path: pathOf(chain) });
  });
  return map;
}

/**
 * ` = <&{/path} 0x01 …>`, walking the cells as dtc does: a phandle, then as many arguments as
 * its node's cells property says; 0 and 0xffffffff stand alone. Undefined when no cell refers
 * to a node (the value then prints as usual).
 */
function references(
  value: Uint8Array,
  args: { readonly cells: string; readonly optional?: true },
  providers: Providers,
): string | undefined {
  if (value.length === 0 || value.length % CELL !== 0) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const count = value.length / CELL;
  const refs = new Map<number, string>();
  for (let cell = 0; cell < count;) {
    const phandle = view.getUint32(cell * CELL);
    if (phandle === PHANDLE_NONE || phandle === PHANDLE_UNSET) {
      cell++;
      continue;
    }
    const provider = providers.get(phandle);
    if (provider === undefined) break;
    refs.set(cell, `&{${provider.path}}`);
    const sizeProp = provider.node.props.find((p) => p.name === args.cells);
    if (sizeProp === undefined && args.optional === undefined) break;
    if (sizeProp !== undefined && sizeProp.value.length !== CELL) break;
    cell +=
      1 +
      (sizeProp === undefined ? 0 : new DataView(sizeProp.value.buffer, sizeProp.value.byteOffset, CELL).getUint32(0));
  }
  if (refs.size === 0) return undefined;
  const cells: string[] = [];
  for (let cell = 0; cell < count; cell++) cells.push(refs.get(cell) ?? hexCell(view.getUint32(cell * CELL)));
  return ` = <${cells.join(' ')}>`;
}

/** dtc prints cells as `0x%02x`. */
function hexCell(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

// dtc's guess: NUL-terminated, only printable bytes or C escapes, and no more NULs than other bytes.
function isText(value: Uint8Array): boolean {
  if (value[value.length - 1] !== 0) return false;
  let nuls = 0;
  for (const b of value) {
    if (b === 0) nuls++;
    else if (!(b >= 0x20 && b < 0x7f) && !(b >= 0x07 && b <= 0x0d)) return false;
  }
  return nuls <= value.length - nuls;
}

const ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0b: '\\v',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

/** `"a", "b"` for a string list: each NUL-terminated piece quoted and escaped. */
function formatStrings(value: Uint8Array): string {
  const pieces: string[] = [];
  let piece = '';
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!;
    if (b === 0) {
      pieces.push(`"${piece}"`);
      piece = '';
    } else {
      piece += ESCAPES[b] ?? String.fromCharCode(b);
    }
  }
  return pieces.join(', ');
}
