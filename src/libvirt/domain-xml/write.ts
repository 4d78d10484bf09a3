// A partition → the domain XML `dumpxml` prints. Laid out as libvirt lays out its own (two-space
// indent, single-quoted attributes, the same element order), so that, with its type replaced by one
// libvirt's schema knows, virt-xml-validate accepts it.
import type { Board } from '../../board/model.js';
import { DEFAULT_READY_TIMEOUT_MS, DEFAULT_RESTART_POLICY, type PartitionSpec } from '../../manifest/types.js';
import { DOMAIN_TYPE, LIBVIRT_ARCH, LIFECYCLE, VMAN_PREFIX, VMAN_XMLNS } from './model.js';

/** Writes the domain XML of a partition whose UUID is `uuid`. */
export function writeDomain(spec: PartitionSpec, uuid: string, board: Board, id?: number): string {
  const out: string[] = [];
  const put = (depth: number, line: string) => out.push(`${'  '.repeat(depth)}${line}`);
  put(0, `<domain type='${DOMAIN_TYPE}'${id !== undefined ? ` id='${id}'` : ''}>`);
  put(1, `<name>${text(spec.name)}</name>`);
  put(1, `<uuid>${uuid}</uuid>`);
  const meta = metadata(spec);
  if (meta.length) {
    put(1, '<metadata>');
    put(2, `<${VMAN_PREFIX}:partition xmlns:${VMAN_PREFIX}='${VMAN_XMLNS}'>`);
    for (const [depth, line] of meta) put(3 + depth, line);
    put(2, `</${VMAN_PREFIX}:partition>`);
    put(1, '</metadata>');
  }
  const kib = spec.memory.size / 1024;
  put(1, `<memory unit='KiB'>${kib}</memory>`);
  put(1, `<currentMemory unit='KiB'>${kib}</currentMemory>`);
  const ids = 'ids' in spec.cpus ? spec.cpus.ids : undefined;
  put(1, `<vcpu placement='static'>${ids ? ids.length : 'count' in spec.cpus ? spec.cpus.count : 1}</vcpu>`);
  if (ids) {
    put(1, '<cputune>');
    ids.forEach((core, i) => put(2, `<vcpupin vcpu='${i}' cpuset='${core}'/>`));
    put(1, '</cputune>');
  }
  put(1, '<os>');
  put(2, `<type arch='${LIBVIRT_ARCH[board.arch]}' machine='${attr(board.name)}'>hvm</type>`);
  const b = spec.boot;
  put(2, `<kernel>${text(b.kind === 'kernel' ? b.kernel : b.image)}</kernel>`);
  if (b.kind === 'kernel' && b.initrd !== undefined) put(2, `<initrd>${text(b.initrd)}</initrd>`);
  if (b.bootargs !== undefined) put(2, `<cmdline>${text(b.bootargs)}</cmdline>`);
  put(1, '</os>');
  const life = LIFECYCLE[spec.restartPolicy ?? DEFAULT_RESTART_POLICY];
  put(1, `<on_poweroff>${life.on_poweroff}</on_poweroff>`);
  put(1, `<on_reboot>${life.on_reboot}</on_reboot>`);
  put(1, `<on_crash>${life.on_crash}</on_crash>`);
  put(0, '</domain>');
  return `${out.join('\n')}\n`;
}

// vman's own fields, as [depth below vman:partition, line].
function metadata(spec: PartitionSpec): [number, string][] {
  const v = VMAN_PREFIX;
  const out: [number, string][] = [];
  const labels = Object.entries(spec.labels);
  if (labels.length) {
    out.push([0, `<${v}:labels>`]);
    for (const [k, val] of labels) out.push([1, `<${v}:label key='${attr(k)}'>${text(val)}</${v}:label>`]);
    out.push([0, `</${v}:labels>`]);
  }
  if (spec.memory.base !== undefined) out.push([0, `<${v}:memory base='${hex(spec.memory.base)}'/>`]);
  if (spec.devices.length) {
    out.push([0, `<${v}:devices>`]);
    for (const d of spec.devices) out.push([1, `<${v}:device name='${attr(d)}'/>`]);
    out.push([0, `</${v}:devices>`]);
  }
  const b = spec.boot;
  if (b.kind === 'image') {
    const load = b.load !== undefined ? ` load='${hex(b.load)}'` : '';
    const entry = b.entry !== undefined ? ` entry='${hex(b.entry)}'` : '';
    out.push([0, `<${v}:image${load}${entry}/>`]);
  }
  const pins = Object.entries(b.sha256).filter((e): e is [string, string] => typeof e[1] === 'string');
  if (pins.length) out.push([0, `<${v}:sha256 ${pins.map(([k, d]) => `${k}='${d}'`).join(' ')}/>`]);
  if (b.overlays.length) {
    out.push([0, `<${v}:overlays>`]);
    for (const o of b.overlays) out.push([1, `<${v}:overlay>${text(o)}</${v}:overlay>`]);
    out.push([0, `</${v}:overlays>`]);
  }
  if (spec.dependsOn.length) {
    out.push([0, `<${v}:dependsOn>`]);
    for (const d of spec.dependsOn) out.push([1, `<${v}:dependency name='${attr(d)}'/>`]);
    out.push([0, `</${v}:dependsOn>`]);
  }
  const r = spec.readiness;
  const timeout = r.timeoutMs !== DEFAULT_READY_TIMEOUT_MS ? ` timeout='${duration(r.timeoutMs)}'` : '';
  if (r.console !== undefined) {
    out.push([0, `<${v}:readiness${timeout}>`]);
    out.push([1, `<${v}:console>${text(r.console)}</${v}:console>`]);
    out.push([0, `</${v}:readiness>`]);
  } else if (timeout) out.push([0, `<${v}:readiness${timeout}/>`]);
  return out;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** A duration as the manifest writes it, in the largest unit that divides it. */
export function duration(ms: number): string {
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

// Characters XML 1.0 cannot carry at all, even as references (§2.2 Char).
const NOT_XML =
  // eslint-disable-next-line no-control-regex -- the C0 controls XML forbids (all but tab, LF, CR) are what it finds
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function carryable(s: string): string {
  const m = NOT_XML.exec(s);
  if (m)
    throw new RangeError(
      `${JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s)} holds character ` +
        `U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}, which XML 1.0 cannot carry`,
    );
  return s;
}

/** Element text: `&`, `<`, `>` escaped, and CR as a reference (a parser turns a literal one into LF). */
function text(s: string): string {
  return carryable(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

/** A single-quoted attribute value: tab, LF and CR as references (a parser turns literal ones into spaces). */
function attr(s: string): string {
  return carryable(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}
