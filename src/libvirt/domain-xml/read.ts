// A parsed <domain> → the manifest's fields, or every problem with it. Each element libvirt defines
// is honoured (mapped to a field), accepted as describing what a partition always is (a pty console,
// no balloon, host-passthrough cores, the output-only id), or refused naming it: nothing is dropped.
import type { Board } from '../../board/model.js';
import type { RestartPolicy } from '../../manifest/types.js';
import { parseAddress, parseDuration } from '../../manifest/units.js';
import { normalizePath } from '../../manifest/paths.js';
import { closest } from '../../rules/suggest.js';
import { formatSize } from '../../units/format.js';
import type { XmlElement } from './tree.js';
import { isPlaceholderUuid, nameUuid, parseUuid } from './uuid.js';
import {
  DOMAIN_TYPE,
  LIBVIRT_ARCH,
  LIFECYCLE,
  VMAN_XMLNS,
  type BootFields,
  type DomainXmlCode,
  type DomainXmlProblem,
  type LifecycleActions,
  type ManifestFields,
} from './model.js';

export interface ReadOptions {
  readonly board: Board;
  readonly state: 'running' | 'stopped';
  /** The UUID the partition already has, when one of this name is declared (libvirt keeps it on redefine). */
  readonly uuid?: string;
  readonly newUuid: () => string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PAGE = 4096;

/** Why libvirt elements vman does not honour are refused, by element name (any other gets a generic reason). */
const REFUSED: Readonly<Record<string, string>> = {
  // <domain> children
  title: 'vman keeps no title with a partition; use a label (vman:labels in vman metadata)',
  description: 'vman keeps no description with a partition; use a label (vman:labels in vman metadata)',
  genid: 'a partition has no VM generation ID',
  sysinfo: 'a partition has no SMBIOS or firmware tables of vman’s making',
  bootloader: 'vman boots the kernel or image that <os><kernel> names; it runs no boot loader',
  bootloader_args: 'vman runs no boot loader',
  clock: 'a partition keeps the board’s own time (its timer and RTC); vman sets no clock offset',
  pm: 'a partition has no ACPI sleep states',
  perf: 'vman collects no perf events',
  idmap: 'a partition is not a container',
  seclabel: 'a partition is isolated by the monitor, not by a security label',
  keywrap: 'a partition has no s390 key wrapping',
  launchSecurity: 'a partition is isolated by the monitor; vman launches no confidential guest',
  numatune: 'vman places memory by base address (vman:memory base in vman metadata), not by NUMA node',
  memoryBacking: 'a partition’s memory is physical RAM of the board; it has no backing options',
  maxMemory: 'a partition’s memory is fixed while it runs (no memory hotplug)',
  memtune: 'a partition’s memory is all its own; there is nothing to tune',
  blkiotune: 'a partition has no virtual disks',
  iothreads: 'a partition has no I/O threads: it runs on its own cores',
  iothreadids: 'a partition has no I/O threads: it runs on its own cores',
  defaultiothread: 'a partition has no I/O threads: it runs on its own cores',
  vcpus: 'a partition’s vCPUs are all present from boot (no vCPU hotplug)',
  resource: 'a partition is not placed in a host resource partition',
  throttlegroups: 'a partition has no virtual disks',
  on_lockfailure: 'a partition holds no disk leases',
  // <devices> children
  emulator: 'a partition runs on the board’s cores; there is no emulator',
  disk: 'a partition has no virtual disks; it boots the files <os> names',
  interface:
    'a partition has no virtual network; give it a board device (a virtio-mmio transport, say) in vman:devices',
  hostdev: 'vman gives board devices by name, in vman:devices in vman metadata (see `vman board`)',
  controller: 'a partition has no virtual controllers; its devices are the board’s',
  filesystem: 'a partition has no shared filesystems',
  graphics: 'a partition has no display',
  video: 'a partition has no display',
  sound: 'a partition has no virtual sound device',
  audio: 'a partition has no virtual sound device',
  input: 'a partition has no virtual input devices',
  channel: 'a partition has no guest agent channel',
  redirdev: 'a partition has no USB redirection',
  redirfilter: 'a partition has no USB redirection',
  smartcard: 'a partition has no virtual smartcard',
  hub: 'a partition has no virtual USB hub',
  rng: 'a partition has no virtual RNG; give it the board’s, if it has one, in vman:devices',
  tpm: 'a partition has no virtual TPM',
  shmem: 'partitions share no memory: vman isolates every byte',
  memory: 'a partition’s memory is fixed (no memory devices or hotplug)',
  watchdog: 'a partition has no virtual watchdog; give it the board’s, if it has one, in vman:devices',
  panic: 'a partition has no pvpanic device; a crash is what the monitor reports',
  iommu: 'the monitor confines DMA as the board declares; there is no virtual IOMMU',
  vsock: 'a partition has no vsock',
  lease: 'a partition holds no disk leases',
  parallel: 'a partition has no virtual parallel port',
  nvram: 'a partition has no NVRAM device',
  crypto: 'a partition has no virtual crypto device',
  // <os> children
  dtb:
    'vman builds every partition’s device tree itself; a whole DTB cannot replace it. ' +
    'Give DT overlays in vman:overlays',
  loader: 'vman loads the kernel or image itself; a partition has no firmware loader',
  firmware: 'vman loads the kernel or image itself; a partition has no firmware',
  boot: 'a partition boots the kernel or image <os><kernel> names; it has no boot devices',
  bootmenu: 'a partition has no boot menu',
  smbios: 'a partition has no SMBIOS tables',
  bios: 'a partition has no BIOS',
  acpi: 'a partition’s hardware is described by its device tree, not ACPI tables',
  root: 'a partition has no root device of libvirt’s; give root= in <cmdline>',
  init: 'a partition is not a container',
  initarg: 'a partition is not a container',
  initenv: 'a partition is not a container',
  initdir: 'a partition is not a container',
  inituser: 'a partition is not a container',
  initgroup: 'a partition is not a container',
};

/** Children of <domain> that vman reads (each at most once). */
const DOMAIN_CHILDREN = new Set([
  'name',
  'uuid',
  'metadata',
  'memory',
  'currentMemory',
  'vcpu',
  'cputune',
  'os',
  'on_poweroff',
  'on_reboot',
  'on_crash',
  'cpu',
  'devices',
  'features',
]);

/** Children of <os> that vman reads (each at most once). */
const OS_CHILDREN = new Set(['type', 'kernel', 'initrd', 'cmdline']);

/** Children of vman:partition, and what each holds. */
const VMAN_CHILDREN = ['labels', 'memory', 'devices', 'image', 'sha256', 'overlays', 'dependsOn', 'readiness'];

/** libvirt's size units (virScaleInteger): b/byte/bytes; k, m, g, t, p, e alone or with iB (1024), with B (1000). */
function unitScale(unit: string): number | undefined {
  const u = unit.toLowerCase();
  if (u === '' || u === 'k' || u === 'kib') return 1024;
  if (u === 'b' || u === 'byte' || u === 'bytes') return 1;
  const power = 'kmgtpe'.indexOf(u.charAt(0)) + 1;
  if (power === 0) return undefined;
  const rest = u.slice(1);
  const base = rest === '' || rest === 'ib' ? 1024 : rest === 'b' ? 1000 : undefined;
  return base === undefined ? undefined : base ** power;
}

class Collector {
  readonly list: DomainXmlProblem[] = [];
  add(code: DomainXmlCode, element: string, message: string): void {
    this.list.push({ code, element, message });
  }
  refuse(element: string, why: string): void {
    this.add('unsupported', element, `\`${element}\` is not supported: ${why}`);
  }
  invalid(element: string, message: string): void {
    this.add('invalid', element, `\`${element}\`: ${message}`);
  }
}

/** The XPath step for an element: vman's as `vman:x` whatever prefix the document used. */
function step(e: XmlElement): string {
  if (e.ns === '') return e.local;
  return e.ns === VMAN_XMLNS ? `vman:${e.local}` : e.qname;
}

/** Reads a <domain> element into manifest fields; undefined when there are problems (all in `problems`). */
export function readDomain(
  root: XmlElement,
  o: ReadOptions,
): { fields: ManifestFields; uuid: string } | { problems: DomainXmlProblem[] } {
  const p = new Collector();
  if (root.ns !== '' || root.local !== 'domain') {
    const what = root.ns ? `<${root.qname}> in namespace ${root.ns}` : `<${root.qname}>`;
    p.add('xml', `/${root.qname}`, `the root element is ${what}; a domain is described by a <domain> element`);
    return { problems: p.list };
  }
  const type = root.attrs.get('type');
  if (type === undefined)
    p.invalid('/domain/@type', `the domain type is missing; write <domain type='${DOMAIN_TYPE}'>`);
  else if (type !== DOMAIN_TYPE)
    p.refuse(
      '/domain/@type',
      `this endpoint defines partitions, not ${show(type)} domains; write <domain type='${DOMAIN_TYPE}'>`,
    );
  for (const [k, v] of root.attrs) {
    // id is output-only (a running domain's number): libvirt ignores it on define, and so does vman.
    if (k === 'id') {
      if (!/^[0-9]+$/.test(v)) p.invalid('/domain/@id', `${show(v)} is not a domain id (a number)`);
    } else if (k !== 'type') p.refuse(`/domain/@${k}`, 'vman knows no such attribute of <domain>');
  }
  textOnlyWhitespace(p, root, '/domain');

  const once = onceByName(p, root, '/domain', DOMAIN_CHILDREN);
  for (const c of root.children) {
    if (c.ns !== '') {
      p.refuse(`/domain/${c.qname}`, `vman honours no extension elements of namespace ${c.ns} here`);
      continue;
    }
    if (!DOMAIN_CHILDREN.has(c.local))
      p.refuse(`/domain/${c.local}`, REFUSED[c.local] ?? 'vman cannot honour it for a partition');
  }

  // name
  const nameEl = once.get('name');
  const name = nameEl ? textOf(p, nameEl, '/domain/name').trim() : '';
  if (!nameEl) p.invalid('/domain/name', 'the domain has no name; add <name>NAME</name> (a DNS label)');
  else if (!DNS_LABEL.test(name) || name.length > 63) {
    const fixed = name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63);
    p.invalid(
      '/domain/name',
      `${show(name)} is not a partition name: use at most 63 lowercase letters, digits and '-', ` +
        `starting and ending with a letter or digit${fixed && DNS_LABEL.test(fixed) ? ` (e.g. ${fixed})` : ''}`,
    );
  }

  // uuid
  let uuid: string | undefined;
  const uuidEl = once.get('uuid');
  if (uuidEl) {
    const raw = textOf(p, uuidEl, '/domain/uuid').trim();
    uuid = parseUuid(raw);
    if (uuid === undefined)
      p.invalid('/domain/uuid', `${show(raw)} is not a UUID (32 hex digits, or 8-4-4-4-12 with dashes)`);
    else if (isPlaceholderUuid(uuid)) {
      p.invalid('/domain/uuid', `${uuid} is a placeholder (all its bytes are equal); leave <uuid> out to get one`);
      uuid = undefined;
    } else if (o.uuid !== undefined && uuid !== o.uuid)
      p.invalid(
        '/domain/uuid',
        `partition ${name} already has UUID ${o.uuid}; give that one, or leave <uuid> out to keep it`,
      );
  }

  const memory = readMemory(p, once);
  const cpus = readCpus(p, once, o.board);
  const os = readOs(p, once.get('os'), o.board);
  const restartPolicy = readLifecycle(p, once);
  const cpuEl = once.get('cpu');
  if (cpuEl) readCpuModel(p, cpuEl);
  const devicesEl = once.get('devices');
  if (devicesEl) readDevices(p, devicesEl);
  const featuresEl = once.get('features');
  if (featuresEl) {
    textOnlyWhitespace(p, featuresEl, '/domain/features');
    for (const a of featuresEl.attrs.keys()) p.refuse(`/domain/features/@${a}`, 'vman knows no such attribute');
    for (const f of featuresEl.children)
      p.refuse(
        `/domain/features/${step(f)}`,
        'a partition’s firmware interfaces are the board’s (PSCI or SBI, its interrupt controller); ' +
          'vman sets no features',
      );
  }
  const meta = readMetadata(p, once.get('metadata'), o.board);

  // What needs several elements at once.
  let boot: BootFields | undefined;
  if (os) {
    const kind = meta.image ? 'image' : 'kernel';
    if (kind === 'image' && os.initrd !== undefined)
      p.invalid(
        '/domain/os/initrd',
        'an initrd goes with a Linux kernel, but vman:image says <kernel> is a bare-metal image; ' +
          'remove <initrd> or vman:image',
      );
    const files: Record<string, string | undefined> =
      kind === 'image' ? { image: os.kernel } : { kernel: os.kernel, initrd: os.initrd };
    for (const [k, v] of Object.entries(meta.sha256)) {
      if (v !== undefined && files[k] === undefined)
        p.invalid(
          `/domain/metadata/vman:partition/vman:sha256/@${k}`,
          k === 'image' || k === 'kernel'
            ? `pins the ${k}, but <kernel> is ${kind === 'image' ? 'an image (vman:image)' : 'a Linux kernel'}; ` +
                `pin it as ${kind === 'image' ? 'image' : 'kernel'}`
            : 'pins the initrd, but the domain has no <initrd>',
        );
    }
    boot = {
      kind,
      file: os.kernel,
      ...(kind === 'kernel' && os.initrd !== undefined ? { initrd: os.initrd } : {}),
      ...(meta.image?.load !== undefined ? { load: meta.image.load } : {}),
      ...(meta.image?.entry !== undefined ? { entry: meta.image.entry } : {}),
      ...(os.cmdline !== undefined ? { bootargs: os.cmdline } : {}),
      overlays: meta.overlays,
      sha256: meta.sha256,
    };
  }
  if (typeof cpus === 'number' && cpus > o.board.cpus.length)
    p.refuse('/domain/vcpu', `the board (${o.board.name}) has ${o.board.cpus.length} cores, fewer than ${cpus}`);

  if (p.list.length || !boot || !memory || cpus === undefined || !restartPolicy) return { problems: p.list };
  const finalUuid = uuid ?? o.uuid ?? o.newUuid();
  const fields: ManifestFields = {
    name,
    ...(finalUuid !== nameUuid(name) ? { uid: finalUuid } : {}),
    labels: meta.labels,
    state: o.state,
    cpus,
    memory: meta.base !== undefined ? { size: memory, base: meta.base } : { size: memory },
    devices: meta.devices,
    boot,
    dependsOn: meta.dependsOn,
    readiness: meta.readiness,
    restartPolicy,
  };
  return { fields, uuid: finalUuid };
}

// The `known` children of `parent` (no namespace) by local name, each at most once: a second is a problem.
function onceByName(
  p: Collector,
  parent: XmlElement,
  path: string,
  known: ReadonlySet<string>,
): Map<string, XmlElement> {
  const out = new Map<string, XmlElement>();
  for (const c of parent.children) {
    if (c.ns !== '' || !known.has(c.local)) continue;
    if (out.has(c.local)) p.invalid(`${path}/${c.local}`, `appears more than once (line ${c.line}); keep one`);
    else out.set(c.local, c);
  }
  return out;
}

function textOnlyWhitespace(p: Collector, e: XmlElement, path: string): void {
  if (e.text.trim() !== '')
    p.add('xml', path, `\`${path}\` holds text ${show(e.text.trim())}, but only elements belong there`);
}

// The text of an element that holds only text (no children, no attributes other than `allowed`).
function textOf(p: Collector, e: XmlElement, path: string, allowed: readonly string[] = []): string {
  for (const c of e.children) p.add('xml', `${path}/${step(c)}`, `\`${path}\` holds text only, not <${c.qname}>`);
  for (const a of e.attrs.keys())
    if (!allowed.includes(a)) p.refuse(`${path}/@${a}`, `vman knows no such attribute of <${e.qname}>`);
  return e.text;
}

function noAttrs(p: Collector, e: XmlElement, path: string, allowed: readonly string[] = []): void {
  for (const a of e.attrs.keys())
    if (!allowed.includes(a)) p.refuse(`${path}/@${a}`, `vman knows no such attribute of <${e.qname}>`);
}

// A libvirt scaled integer (<memory unit='KiB'>N</memory>) in bytes.
function scaled(p: Collector, e: XmlElement, path: string, extraAttrs: readonly string[]): number | undefined {
  const raw = textOf(p, e, path, ['unit', ...extraAttrs]).trim();
  const unit = e.attrs.get('unit') ?? '';
  const scale = unitScale(unit);
  if (scale === undefined) {
    p.invalid(
      `${path}/@unit`,
      `unknown unit ${show(unit)}; use b, KiB, MiB, GiB, TiB (or k, M, G, T), or KB, MB, GB, TB`,
    );
    return undefined;
  }
  if (!/^[0-9]+$/.test(raw)) {
    p.invalid(path, `${show(raw)} is not a whole number`);
    return undefined;
  }
  const bytes = Number(raw) * scale;
  if (!Number.isSafeInteger(bytes)) {
    p.invalid(path, `${raw} ${unit || 'KiB'} is too large`);
    return undefined;
  }
  if (bytes === 0) {
    p.invalid(path, 'a partition needs some memory');
    return undefined;
  }
  if (bytes % PAGE !== 0) {
    p.invalid(path, `${raw} ${unit || 'KiB'} is not a multiple of 4 KiB (vman gives memory in 4 KiB pages)`);
    return undefined;
  }
  return bytes;
}

function readMemory(p: Collector, once: ReadonlyMap<string, XmlElement>): number | undefined {
  const mem = once.get('memory');
  if (!mem) {
    p.invalid('/domain/memory', "the domain has no memory; add e.g. <memory unit='MiB'>256</memory>");
    return undefined;
  }
  if (mem.attrs.has('dumpCore')) p.refuse('/domain/memory/@dumpCore', 'vman dumps no partition memory into core files');
  const size = scaled(p, mem, '/domain/memory', ['dumpCore']);
  const cur = once.get('currentMemory');
  if (cur) {
    const c = scaled(p, cur, '/domain/currentMemory', []);
    if (size !== undefined && c !== undefined && c !== size)
      p.refuse(
        '/domain/currentMemory',
        `a partition always holds all its memory (${formatSize(size)}), so <currentMemory> must equal <memory> ` +
          `(it is ${formatSize(c)}); there is no balloon`,
      );
  }
  return size;
}

// <vcpu> and <cputune>: a count alone is `cpus: N`; a pin per vCPU, each on a core of its own and in
// ascending order (vCPU i is the partition's i-th core: the device tree lists cores by id), is `cpus: [ids]`.
function readCpus(
  p: Collector,
  once: ReadonlyMap<string, XmlElement>,
  board: Board,
): number | readonly number[] | undefined {
  const vcpu = once.get('vcpu');
  let count = 1; // libvirt's default when <vcpu> is absent
  if (vcpu) {
    const raw = textOf(p, vcpu, '/domain/vcpu', ['placement', 'current', 'cpuset']).trim();
    if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
      p.invalid('/domain/vcpu', `${show(raw)} is not a vCPU count (1 to 65535)`);
      return undefined;
    }
    count = Number(raw);
    const placement = vcpu.attrs.get('placement');
    if (placement !== undefined && placement !== 'static')
      p.refuse('/domain/vcpu/@placement', `vman places cores itself or as pinned; only placement='static' applies`);
    const current = vcpu.attrs.get('current');
    if (current !== undefined && current.trim() !== String(count))
      p.refuse('/domain/vcpu/@current', `every vCPU of a partition is present from boot: current must be ${count}`);
    if (vcpu.attrs.has('cpuset'))
      p.refuse(
        '/domain/vcpu/@cpuset',
        'a partition’s vCPUs do not float over a set of cores; pin each one with <cputune><vcpupin>',
      );
  }
  const tune = once.get('cputune');
  if (!tune) return count;
  noAttrs(p, tune, '/domain/cputune');
  textOnlyWhitespace(p, tune, '/domain/cputune');
  const pins = new Map<number, number>();
  for (const c of tune.children) {
    const path = `/domain/cputune/${step(c)}`;
    if (c.ns !== '' || c.local !== 'vcpupin') {
      p.refuse(path, 'vman runs each vCPU on a core of its own; of <cputune> it honours <vcpupin> only');
      continue;
    }
    textOnlyWhitespace(p, c, path);
    for (const k of c.children) p.add('xml', `${path}/${step(k)}`, `<vcpupin> holds nothing`);
    noAttrs(p, c, path, ['vcpu', 'cpuset']);
    const v = c.attrs.get('vcpu')?.trim();
    const set = c.attrs.get('cpuset')?.trim();
    if (v === undefined || set === undefined) {
      p.invalid(path, `<vcpupin> needs both vcpu and cpuset (line ${c.line})`);
      continue;
    }
    if (!/^[0-9]+$/.test(v)) {
      p.invalid(`${path}/@vcpu`, `${show(v)} is not a vCPU number`);
      continue;
    }
    const vi = Number(v);
    if (vi >= count) {
      p.refuse(path, `pins vCPU ${vi}, but <vcpu> gives ${count} vCPU${count === 1 ? '' : 's'} (0 to ${count - 1})`);
      continue;
    }
    if (pins.has(vi)) {
      p.invalid(path, `vCPU ${vi} is pinned twice; pin each vCPU once`);
      continue;
    }
    if (!/^[0-9]+$/.test(set)) {
      p.refuse(
        `${path}/@cpuset`,
        `${show(set)} is not one core: a partition's vCPU is one core of its own, so pin it to one ` +
          'core id (from `vman board`)',
      );
      continue;
    }
    const core = Number(set);
    if (core >= board.cpus.length) {
      p.invalid(
        `${path}/@cpuset`,
        `core ${core} does not exist: the board (${board.name}) has cores 0 to ${board.cpus.length - 1}`,
      );
      continue;
    }
    pins.set(vi, core);
  }
  if (pins.size === 0 && tune.children.length === 0) return count;
  if (p.list.some((x) => x.element.startsWith('/domain/cputune') || x.element.startsWith('/domain/vcpu')))
    return undefined;
  const missing = [...Array(count).keys()].filter((i) => !pins.has(i));
  if (missing.length) {
    p.refuse(
      '/domain/cputune/vcpupin',
      `vCPU${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ha${missing.length === 1 ? 's' : 've'} no ` +
        `<vcpupin>, but <vcpu> gives ${count}: pin every vCPU to a core, or none (any free cores)`,
    );
    return undefined;
  }
  const cores = [...Array(count).keys()].map((i) => pins.get(i) ?? 0);
  const dup = cores.find((c, i) => cores.indexOf(c) !== i);
  if (dup !== undefined) {
    p.refuse('/domain/cputune/vcpupin', `core ${dup} is pinned to two vCPUs; each vCPU needs a core of its own`);
    return undefined;
  }
  if (cores.some((c, i) => i > 0 && c < (cores[i - 1] ?? 0))) {
    const sorted = [...cores].sort((a, b) => a - b);
    p.refuse(
      '/domain/cputune/vcpupin',
      `vCPU i runs on the partition's i-th core by id, so pins must rise with the vCPU number: ` +
        sorted.map((c, i) => `vcpu='${i}' cpuset='${c}'`).join(', '),
    );
    return undefined;
  }
  return cores;
}

interface OsFields {
  readonly kernel: string;
  readonly initrd?: string;
  readonly cmdline?: string;
}

function readOs(p: Collector, os: XmlElement | undefined, board: Board): OsFields | undefined {
  const kernelHint =
    'add <os><kernel>/ABSOLUTE/PATH</kernel></os> (a Linux kernel, or a bare-metal image with vman:image)';
  if (!os) {
    p.refuse('/domain/os', `vman boots a kernel or image directly, and the domain names none; ${kernelHint}`);
    return undefined;
  }
  noAttrs(p, os, '/domain/os');
  textOnlyWhitespace(p, os, '/domain/os');
  const once = onceByName(p, os, '/domain/os', OS_CHILDREN);
  for (const c of os.children) {
    if (c.ns !== '') p.refuse(`/domain/os/${c.qname}`, `vman honours no extension elements of namespace ${c.ns} here`);
    else if (!OS_CHILDREN.has(c.local))
      p.refuse(`/domain/os/${c.local}`, REFUSED[c.local] ?? 'vman cannot honour it for a partition');
  }
  const type = once.get('type');
  if (type) {
    const t = textOf(p, type, '/domain/os/type', ['arch', 'machine']).trim();
    if (t !== 'hvm') p.refuse('/domain/os/type', `a partition is a whole machine: the OS type is hvm, not ${show(t)}`);
    const arch = type.attrs.get('arch');
    const want = LIBVIRT_ARCH[board.arch];
    if (arch !== undefined && arch !== want)
      p.refuse(
        '/domain/os/type/@arch',
        `the board (${board.name}) is ${want}, so a partition's arch is ${want}, not ${show(arch)}`,
      );
    const machine = type.attrs.get('machine');
    if (machine !== undefined && machine !== board.name)
      p.refuse(
        '/domain/os/type/@machine',
        `partitions run on the board, ${board.name}; write machine='${board.name}' or leave it out`,
      );
  }
  const kernel = pathOf(p, once.get('kernel'), '/domain/os/kernel');
  const initrd = pathOf(p, once.get('initrd'), '/domain/os/initrd');
  const cmdEl = once.get('cmdline');
  const cmdline = cmdEl ? textOf(p, cmdEl, '/domain/os/cmdline') : undefined;
  if (!once.get('kernel')) {
    p.refuse('/domain/os/kernel', `vman boots a kernel or image directly, and the domain names none; ${kernelHint}`);
    return undefined;
  }
  if (kernel === undefined) return undefined;
  return { kernel, ...(initrd !== undefined ? { initrd } : {}), ...(cmdline !== undefined ? { cmdline } : {}) };
}

// An absolute path held as an element's text (libvirt's absFilePath), normalised.
function pathOf(p: Collector, e: XmlElement | undefined, path: string): string | undefined {
  if (!e) return undefined;
  const raw = textOf(p, e, path);
  return checkPath(p, raw, path);
}

// Not trimmed: libvirt takes a path's text as it is, and so does the manifest.
function checkPath(p: Collector, t: string, path: string): string | undefined {
  if (t === '') {
    p.invalid(path, 'the path is empty');
    return undefined;
  }
  if (!t.startsWith('/')) {
    p.invalid(
      path,
      `${show(t)} is a relative path; domain XML names files by absolute path ` +
        '(the manifest is written into partitions.d/, where a relative path would mean another file)',
    );
    return undefined;
  }
  if (t.length > 4096) {
    p.invalid(path, 'the path is longer than 4096 characters');
    return undefined;
  }
  return normalizePath(t);
}

// on_poweroff, on_reboot, on_crash → the restart policy whose row (model.ts LIFECYCLE) they match.
// Absent, on_poweroff and on_crash are libvirt's default, destroy; an absent on_reboot follows on_crash,
// since a partition's OS resetting itself ends it as a crash does (libvirt's default there, restart,
// would promise a reset in place that vman cannot do).
function readLifecycle(p: Collector, once: ReadonlyMap<string, XmlElement>): RestartPolicy | undefined {
  const given: Partial<Record<keyof LifecycleActions, 'destroy' | 'restart'>> = {};
  let bad = false;
  for (const k of ['on_poweroff', 'on_reboot', 'on_crash'] as const) {
    const e = once.get(k);
    if (!e) continue;
    const v = textOf(p, e, `/domain/${k}`).trim();
    if (v === 'destroy' || v === 'restart') given[k] = v;
    else {
      bad = true;
      const why: Record<string, string> = {
        preserve: 'vman does not keep an ended partition’s cores and memory frozen for inspection',
        'rename-restart': 'a partition keeps its name',
        'coredump-destroy': 'vman dumps no partition memory into core files',
        'coredump-restart': 'vman dumps no partition memory into core files',
      };
      p.refuse(
        `/domain/${k}`,
        `${show(v)}: ${why[v] ?? 'libvirt defines no such action'}; vman honours destroy and restart ` +
          '(its restartPolicy)',
      );
    }
  }
  if (bad) return undefined;
  const crash = given.on_crash ?? 'destroy';
  const want: LifecycleActions = {
    on_poweroff: given.on_poweroff ?? 'destroy',
    on_reboot: given.on_reboot ?? crash,
    on_crash: crash,
  };
  const policy = (Object.keys(LIFECYCLE) as RestartPolicy[]).find((r) =>
    (['on_poweroff', 'on_reboot', 'on_crash'] as const).every((k) => LIFECYCLE[r][k] === want[k]),
  );
  if (policy !== undefined) return policy;
  const shown = `on_poweroff=${want.on_poweroff}, on_reboot=${want.on_reboot}, on_crash=${want.on_crash}`;
  const rows =
    'Never (all destroy), OnFailure (on_reboot and on_crash restart, on_poweroff destroy) or Always (all restart)';
  if (want.on_reboot !== want.on_crash)
    p.refuse(
      '/domain/on_reboot',
      `${shown}: a partition cannot be reset in place, and a reboot cannot be told from a kernel panic's ` +
        `reset; its OS rebooting ends it as a crash does, so on_reboot must equal on_crash. vman honours ${rows}`,
    );
  else
    p.refuse(
      '/domain/on_poweroff',
      `${shown}: restarting a partition that powers itself off goes with restarting it after a crash ` +
        `(restartPolicy Always). vman honours ${rows}`,
    );
  return undefined;
}

// <cpu mode='host-passthrough'/> says what a partition always is (the board's own cores); any other model is refused.
function readCpuModel(p: Collector, cpu: XmlElement): void {
  const mode = cpu.attrs.get('mode');
  const why = "a partition runs on the board’s own cores as they are; only <cpu mode='host-passthrough'/> says so";
  if (mode !== 'host-passthrough') {
    p.refuse(mode === undefined ? '/domain/cpu' : '/domain/cpu/@mode', why);
    return;
  }
  noAttrs(p, cpu, '/domain/cpu', ['mode']);
  textOnlyWhitespace(p, cpu, '/domain/cpu');
  for (const c of cpu.children) p.refuse(`/domain/cpu/${step(c)}`, why);
}

// Devices libvirt would emulate are refused. Accepted: one <console> and one <serial> of type pty on
// port 0 (every partition has exactly one console: its UART), and <memballoon model='none'/> (no balloon).
function readDevices(p: Collector, devices: XmlElement): void {
  noAttrs(p, devices, '/domain/devices');
  textOnlyWhitespace(p, devices, '/domain/devices');
  const seen = new Set<string>();
  for (const c of devices.children) {
    const path = `/domain/devices/${step(c)}`;
    if (c.ns !== '') {
      p.refuse(path, `vman honours no extension elements of namespace ${c.ns} here`);
      continue;
    }
    if (c.local === 'console' || c.local === 'serial') {
      if (seen.has(c.local)) {
        p.refuse(path, `a partition has one console, its UART; a second <${c.local}> cannot be honoured`);
        continue;
      }
      seen.add(c.local);
      readConsole(p, c, path);
    } else if (c.local === 'memballoon') {
      if (c.attrs.get('model') !== 'none' || c.attrs.size !== 1 || c.children.length)
        p.refuse(path, "a partition holds all its memory; only <memballoon model='none'/> (no balloon) applies");
    } else p.refuse(path, REFUSED[c.local] ?? 'vman cannot honour it for a partition');
  }
}

function readConsole(p: Collector, c: XmlElement, path: string): void {
  const why =
    'a partition’s console is its UART (or the monitor’s virtual UART): only a pty console on port 0 ' +
    `describes it, e.g. <${c.local} type='pty'><target port='0'/></${c.local}>`;
  if (c.attrs.get('type') !== 'pty') {
    p.refuse(`${path}/@type`, why);
    return;
  }
  noAttrs(p, c, path, ['type']);
  textOnlyWhitespace(p, c, path);
  for (const t of c.children) {
    if (t.ns !== '' || t.local !== 'target') {
      p.refuse(`${path}/${step(t)}`, why);
      continue;
    }
    const port = t.attrs.get('port');
    const ttype = t.attrs.get('type');
    const okType = ttype === undefined || ttype === 'serial' || (c.local === 'serial' && ttype === 'system-serial');
    if (
      (port !== undefined && port !== '0') ||
      !okType ||
      t.children.length ||
      [...t.attrs.keys()].some((k) => k !== 'port' && k !== 'type')
    )
      p.refuse(`${path}/target`, why);
  }
}

interface MetaFields {
  labels: [string, string][];
  base?: number;
  devices: string[];
  image?: { load?: number; entry?: number };
  sha256: Partial<Record<'kernel' | 'initrd' | 'image', string>>;
  overlays: string[];
  dependsOn: string[];
  readiness: { console?: string; timeoutMs?: number };
}

const VP = '/domain/metadata/vman:partition';

// <metadata>: vman's own element (any prefix bound to VMAN_XMLNS); another application's metadata is
// refused, since vman keeps nothing but the manifest and would lose it.
function readMetadata(p: Collector, md: XmlElement | undefined, board: Board): MetaFields {
  const out: MetaFields = { labels: [], devices: [], sha256: {}, overlays: [], dependsOn: [], readiness: {} };
  if (!md) return out;
  noAttrs(p, md, '/domain/metadata');
  textOnlyWhitespace(p, md, '/domain/metadata');
  let mine: XmlElement | undefined;
  for (const c of md.children) {
    if (c.ns === VMAN_XMLNS && c.local === 'partition') {
      if (mine) p.invalid(VP, `appears more than once (line ${c.line}); keep one`);
      else mine = c;
    } else if (c.ns === VMAN_XMLNS)
      p.invalid(
        `/domain/metadata/vman:${c.local}`,
        `vman's metadata is one <vman:partition> element (namespace ${VMAN_XMLNS})`,
      );
    else
      p.refuse(
        `/domain/metadata/${c.qname}`,
        c.ns === ''
          ? 'metadata elements belong to a namespace; vman’s is ' + VMAN_XMLNS
          : `vman keeps only its own metadata (namespace ${VMAN_XMLNS}); another application's (${c.ns}) ` +
              'would be lost, since the manifest is all vman keeps',
      );
  }
  if (!mine) return out;
  noAttrs(p, mine, VP);
  textOnlyWhitespace(p, mine, VP);
  const seen = new Set<string>();
  for (const c of mine.children) {
    const path = `${VP}/${step(c)}`;
    if (c.ns !== VMAN_XMLNS) {
      p.invalid(
        path,
        `vman:partition holds vman's elements only (${VMAN_CHILDREN.map((k) => `vman:${k}`).join(', ')})`,
      );
      continue;
    }
    if (!VMAN_CHILDREN.includes(c.local)) {
      const fix = closest(c.local, VMAN_CHILDREN);
      p.invalid(
        path,
        `unknown element${fix ? `; did you mean vman:${fix}?` : ''} (known: ${VMAN_CHILDREN.join(', ')})`,
      );
      continue;
    }
    if (seen.has(c.local)) {
      p.invalid(path, `appears more than once (line ${c.line}); keep one`);
      continue;
    }
    seen.add(c.local);
    readVman(p, c, path, board, out);
  }
  return out;
}

function readVman(p: Collector, c: XmlElement, path: string, board: Board, out: MetaFields): void {
  switch (c.local) {
    case 'labels':
      for (const l of list(p, c, path, 'label')) {
        const lp = `${path}/vman:label`;
        const key = l.attrs.get('key');
        const value = textOf(p, l, lp, ['key']);
        if (key === undefined) p.invalid(lp, `a label needs a key attribute (line ${l.line})`);
        else if (out.labels.some(([k]) => k === key)) p.invalid(lp, `label ${show(key)} is given twice`);
        else out.labels.push([key, value]);
      }
      return;
    case 'memory': {
      noAttrs(p, c, path, ['base']);
      textOnlyWhitespace(p, c, path);
      for (const k of c.children) p.invalid(`${path}/${step(k)}`, 'vman:memory holds nothing');
      const b = c.attrs.get('base');
      if (b === undefined) return;
      const r = parseAddress(b, 'the memory base');
      if (r.ok) out.base = r.value;
      else p.invalid(`${path}/@base`, `${r.message}${r.hint ? `; ${r.hint}` : ''}`);
      return;
    }
    case 'devices': {
      const names = board.devices.map((d) => d.name);
      for (const d of list(p, c, path, 'device')) {
        const dp = `${path}/vman:device`;
        noAttrs(p, d, dp, ['name']);
        textOnlyWhitespace(p, d, dp);
        const n = d.attrs.get('name');
        if (n === undefined) p.invalid(dp, `a device needs a name attribute (line ${d.line})`);
        else if (!names.includes(n)) {
          const fix = closest(n, names);
          p.invalid(
            `${dp}/@name`,
            `the board (${board.name}) has no device ${show(n)}` +
              (fix ? `; did you mean ${fix}?` : '; `vman board` lists its devices'),
          );
        } else if (out.devices.includes(n)) p.invalid(`${dp}/@name`, `device ${n} is given twice`);
        else out.devices.push(n);
      }
      return;
    }
    case 'image': {
      noAttrs(p, c, path, ['load', 'entry']);
      textOnlyWhitespace(p, c, path);
      for (const k of c.children) p.invalid(`${path}/${step(k)}`, 'vman:image holds nothing');
      const image: { load?: number; entry?: number } = {};
      for (const k of ['load', 'entry'] as const) {
        const v = c.attrs.get(k);
        if (v === undefined) continue;
        const r = parseAddress(v, `the image's ${k} offset`);
        if (r.ok) image[k] = r.value;
        else p.invalid(`${path}/@${k}`, `${r.message}${r.hint ? `; ${r.hint}` : ''}`);
      }
      out.image = image;
      return;
    }
    case 'sha256': {
      noAttrs(p, c, path, ['kernel', 'initrd', 'image']);
      textOnlyWhitespace(p, c, path);
      for (const k of c.children) p.invalid(`${path}/${step(k)}`, 'vman:sha256 holds nothing');
      for (const k of ['kernel', 'initrd', 'image'] as const) {
        const v = c.attrs.get(k);
        if (v === undefined) continue;
        if (/^[0-9a-fA-F]{64}$/.test(v.trim())) out.sha256[k] = v.trim().toLowerCase();
        else p.invalid(`${path}/@${k}`, 'a sha256 pin is 64 hexadecimal digits; compute it with `sha256sum FILE`');
      }
      return;
    }
    case 'overlays':
      for (const e of list(p, c, path, 'overlay')) {
        const path2 = checkPath(p, textOf(p, e, `${path}/vman:overlay`), `${path}/vman:overlay`);
        if (path2 !== undefined) out.overlays.push(path2);
      }
      return;
    case 'dependsOn':
      for (const d of list(p, c, path, 'dependency')) {
        const dp = `${path}/vman:dependency`;
        noAttrs(p, d, dp, ['name']);
        textOnlyWhitespace(p, d, dp);
        const n = d.attrs.get('name');
        if (n === undefined || n === '') p.invalid(dp, `a dependency needs a name attribute (line ${d.line})`);
        else if (out.dependsOn.includes(n)) p.invalid(`${dp}/@name`, `partition ${n} is given twice`);
        else out.dependsOn.push(n);
      }
      return;
    case 'readiness': {
      noAttrs(p, c, path, ['timeout']);
      textOnlyWhitespace(p, c, path);
      const t = c.attrs.get('timeout');
      if (t !== undefined) {
        const r = parseDuration(t, 'the readiness timeout');
        if (r.ok) out.readiness.timeoutMs = r.value;
        else p.invalid(`${path}/@timeout`, `${r.message}${r.hint ? `; ${r.hint}` : ''}`);
      }
      let console: XmlElement | undefined;
      for (const k of c.children) {
        const kp = `${path}/${step(k)}`;
        if (k.ns !== VMAN_XMLNS || k.local !== 'console') p.invalid(kp, 'vman:readiness holds one vman:console');
        else if (console) p.invalid(kp, 'appears more than once; keep one');
        else console = k;
      }
      if (console) out.readiness.console = textOf(p, console, `${path}/vman:console`);
      return;
    }
  }
}

// The children of a vman list element, each a vman `item` element.
function list(p: Collector, c: XmlElement, path: string, item: string): XmlElement[] {
  noAttrs(p, c, path);
  textOnlyWhitespace(p, c, path);
  const out: XmlElement[] = [];
  for (const k of c.children) {
    if (k.ns === VMAN_XMLNS && k.local === item) out.push(k);
    else p.invalid(`${path}/${step(k)}`, `${step(c)} holds vman:${item} elements only`);
  }
  return out;
}

// A value from the document, quoted and cut short, for messages.
function show(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}
