// Domain XML ↔ manifest: every element honoured maps to its field, every one refused is named with
// the right code, bad XML is an `xml` problem, and what define writes loads through vman's own checks.
// Asserts codes and elements (the XPath), not wording, except where the fix in the message is the point.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  domainToManifest,
  manifestToDomain,
  nameUuid,
  parseUuid,
  VMAN_UUID_NAMESPACE,
  type DomainXmlCode,
} from '../../src/libvirt/domain-xml.js';
import { CODES } from '../../src/rules/codes.js';
import {
  AARCH64,
  ARMV7,
  RISCV64,
  comparable,
  counter,
  define,
  domain,
  loadSpec,
  withMeta,
} from './domain-xml-support.js';

const MiB = 1024 * 1024;
const SHA = 'ab'.repeat(32);

type Result = ReturnType<typeof define>;

/** The manifest a successful define wrote, loaded. */
function spec(r: Result) {
  if (!r.ok) throw new Error(`define failed: ${r.message}`);
  return loadSpec(r.text);
}

/** Exactly one problem, with this code and element; the result's code and element are that problem's. */
function only(r: Result, code: DomainXmlCode, element: string): string {
  if (r.ok) throw new Error(`expected ${code} at ${element}, but define succeeded:\n${r.text}`);
  assert.equal(
    r.problems.map((p) => [p.code, p.element]),
    [[code, element]],
    r.message,
  );
  assert.is(r.code, code);
  assert.is(r.element, element);
  return r.message;
}

test('a minimal domain: a stopped partition on one core, a generated UUID, and the manifest text', () => {
  const r = define(domain());
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.name, 'web');
  assert.is(r.uuid, '00000000-0000-4000-8000-000000000001');
  assert.is(
    r.text,
    [
      "# Written by vman's libvirt endpoint from domain XML (define); `virsh dumpxml` shows it back.",
      '',
      'apiVersion: vman.dev/v1alpha1',
      'kind: Partition',
      'metadata:',
      '  name: web',
      '  uid: 00000000-0000-4000-8000-000000000001',
      'spec:',
      '  state: stopped',
      '  cpus: 1',
      '  memory: 64Mi',
      '  boot:',
      '    kernel: /images/Image',
      '',
    ].join('\n'),
  );
  const s = spec(r);
  assert.equal(s.cpus, { count: 1 });
  assert.equal(s.memory, { size: 64 * MiB });
  assert.is(s.restartPolicy, 'Never');
  assert.is(spec(define(domain(), { state: 'running' })).state, 'running');
});

test('without an injected source, a new UUID is a random version 4 one', () => {
  const r = domainToManifest(domain(), { board: AARCH64, state: 'stopped' });
  assert.ok(r.ok);
  if (r.ok) assert.match(r.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('uuid: both of libvirt’s spellings, either case, written lower-case with dashes', () => {
  for (const u of [
    '6F1C0A52-93D4-4C1E-8B0A-2F6D3E7C9A41',
    '6f1c0a5293d44c1e8b0a2f6d3e7c9a41',
    ' 6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41 ',
  ]) {
    const r = define(domain(`  <uuid>${u}</uuid>`));
    assert.ok(r.ok && r.uuid === '6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41', u);
    assert.is(spec(r).uid, '6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41');
  }
  for (const bad of ['6f1c0a52-93d4-4c1e-8b0a', 'xyz', '{6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41}', ''])
    only(define(domain(`  <uuid>${bad}</uuid>`)), 'invalid', '/domain/uuid');
  for (const placeholder of ['00000000-0000-0000-0000-000000000000', 'ffffffffffffffffffffffffffffffff'])
    only(define(domain(`  <uuid>${placeholder}</uuid>`)), 'invalid', '/domain/uuid');
});

test('uuid: the name-derived one is left out of the manifest; an existing partition keeps its own', () => {
  const derived = define(domain(`  <uuid>${nameUuid('web')}</uuid>`));
  assert.ok(derived.ok && derived.uuid === nameUuid('web'));
  assert.is(spec(derived).uid, undefined);
  const existing = '6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41';
  const kept = define(domain(), { uuid: existing });
  assert.ok(kept.ok && kept.uuid === existing);
  assert.is(spec(kept).uid, existing);
  const same = define(domain(`  <uuid>${existing.toUpperCase()}</uuid>`), { uuid: existing });
  assert.ok(same.ok);
  only(define(domain(`  <uuid>${nameUuid('other')}</uuid>`), { uuid: existing }), 'invalid', '/domain/uuid');
});

test('nameUuid is RFC 4122 version 5 in vman’s namespace (values from Python’s uuid.uuid5)', () => {
  assert.is(VMAN_UUID_NAMESPACE, '7888acb7-6dfd-5207-bd70-3f777ec1de27');
  assert.is(nameUuid('linux'), '8bbda71e-6498-5049-ba94-63db8ca633c7');
  assert.is(nameUuid('rtos'), '115391d8-f40f-5a06-a3c0-e498d354d329');
  assert.is(nameUuid('fusion-00'), 'acc88143-177f-5a36-a076-91e9104ffa2f');
  assert.is(parseUuid('886313E13B8A53729B900C9AEE199E5D'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
});

test('name: required, a DNS label; a bad one gets a suggestion', () => {
  only(define(domain('', { name: '' })), 'invalid', '/domain/name');
  assert.match(
    only(define(domain('', { name: '<name>Web_Server</name>' })), 'invalid', '/domain/name'),
    '(e.g. web-server)',
  );
  only(define(domain('', { name: `<name>${'a'.repeat(64)}</name>` })), 'invalid', '/domain/name');
  only(define(domain('', { name: '<name>-x</name>' })), 'invalid', '/domain/name');
  assert.is(spec(define(domain('', { name: '<name> db-1 </name>' }))).name, 'db-1');
});

test('type: vman only; another type is unsupported, none is invalid; id is accepted and ignored', () => {
  assert.match(only(define(domain('', { type: 'kvm' })), 'unsupported', '/domain/@type'), "<domain type='vman'>");
  only(define(domain().replace(" type='vman'", '')), 'invalid', '/domain/@type');
  const withId = define(domain().replace("type='vman'", "type='vman' id='7'"));
  assert.equal(comparable(spec(withId)), comparable(spec(define(domain()))));
  only(define(domain().replace("type='vman'", "type='vman' id='x'")), 'invalid', '/domain/@id');
  only(define(domain().replace("type='vman'", "type='vman' foo='1'")), 'unsupported', '/domain/@foo');
});

test('memory: every libvirt unit, in bytes; whole 4 KiB pages only', () => {
  const cases: [string, string, number][] = [
    ['', '65536', 64 * MiB],
    ['b', String(64 * MiB), 64 * MiB],
    ['bytes', String(64 * MiB), 64 * MiB],
    ['KiB', '65536', 64 * MiB],
    ['k', '65536', 64 * MiB],
    ['kib', '65536', 64 * MiB],
    ['KB', '4096', 4096 * 1000],
    ['MiB', '64', 64 * MiB],
    ['M', '64', 64 * MiB],
    ['MB', '64', 64_000_000],
    ['G', '2', 2 * 1024 * MiB],
    ['GiB', '1', 1024 * MiB],
    ['GB', '8', 8_000_000_000],
    ['TiB', '1', 1024 * 1024 * MiB],
  ];
  for (const [unit, n, bytes] of cases) {
    const u = unit ? ` unit='${unit}'` : '';
    const r = define(domain('', { memory: `<memory${u}>${n}</memory>` }));
    assert.equal(spec(r).memory, { size: bytes }, `${n} ${unit}`);
  }
  const bad: [string, string][] = [
    ["<memory unit='KiB'>1</memory>", '/domain/memory'], // 1 KiB: not a whole page
    ["<memory unit='b'>6000</memory>", '/domain/memory'],
    ["<memory unit='KB'>1</memory>", '/domain/memory'],
    ["<memory unit='MiB'>1.5</memory>", '/domain/memory'],
    ["<memory unit='MiB'>0</memory>", '/domain/memory'],
    ["<memory unit='MiB'>-4</memory>", '/domain/memory'],
    ["<memory unit='EiB'>99999</memory>", '/domain/memory'],
    ["<memory unit='XiB'>64</memory>", '/domain/memory/@unit'],
    ["<memory unit='Mi'>64</memory>", '/domain/memory/@unit'],
  ];
  for (const [xml, element] of bad) only(define(domain('', { memory: xml })), 'invalid', element);
  only(define(domain('', { memory: '' })), 'invalid', '/domain/memory');
  only(
    define(domain('', { memory: "<memory unit='MiB' dumpCore='on'>64</memory>" })),
    'unsupported',
    '/domain/memory/@dumpCore',
  );
});

test('currentMemory: equal to memory is honoured (in any unit); less is refused (no balloon)', () => {
  assert.equal(spec(define(domain("  <currentMemory unit='KiB'>65536</currentMemory>"))).memory, { size: 64 * MiB });
  only(define(domain("  <currentMemory unit='MiB'>32</currentMemory>")), 'unsupported', '/domain/currentMemory');
});

test('vcpu alone is a count of any cores; cputune/vcpupin gives the core ids', () => {
  assert.equal(spec(define(domain("  <vcpu placement='static'>3</vcpu>"))).cpus, { count: 3 });
  assert.equal(spec(define(domain("  <vcpu current='2'>2</vcpu><cputune/>"))).cpus, { count: 2 });
  const pinned = define(
    domain("  <vcpu>2</vcpu><cputune><vcpupin vcpu='0' cpuset='4'/>\n<vcpupin vcpu='1' cpuset='6'/></cputune>"),
  );
  assert.equal(spec(pinned).cpus, { ids: [4, 6] });
  assert.equal(spec(define(domain("  <cputune><vcpupin vcpu='0' cpuset='3'/></cputune>"))).cpus, { ids: [3] });
});

test('vcpu and vcpupin that cannot be honoured are refused naming them', () => {
  const pins = (v: string, ...p: [string, string][]) =>
    domain(`<vcpu>${v}</vcpu><cputune>${p.map(([a, b]) => `<vcpupin vcpu='${a}' cpuset='${b}'/>`).join('')}</cputune>`);
  // a pin per vCPU is required, one core each, one vCPU per core, ascending
  only(define(pins('2', ['0', '2'])), 'unsupported', '/domain/cputune/vcpupin');
  only(define(pins('1', ['0', '2'], ['1', '3'])), 'unsupported', '/domain/cputune/vcpupin');
  for (const set of ['2-3', '2,3', '^1', '1-1'])
    only(define(pins('1', ['0', set])), 'unsupported', '/domain/cputune/vcpupin/@cpuset');
  only(define(pins('2', ['0', '2'], ['1', '2'])), 'unsupported', '/domain/cputune/vcpupin');
  assert.match(
    only(define(pins('2', ['0', '5'], ['1', '3'])), 'unsupported', '/domain/cputune/vcpupin'),
    "vcpu='0' cpuset='3', vcpu='1' cpuset='5'",
  );
  only(define(pins('2', ['0', '2'], ['0', '3'])), 'invalid', '/domain/cputune/vcpupin');
  only(define(pins('1', ['0', '8'])), 'invalid', '/domain/cputune/vcpupin/@cpuset');
  only(define(pins('1', ['x', '1'])), 'invalid', '/domain/cputune/vcpupin/@vcpu');
  only(define(domain("<cputune><vcpupin vcpu='0'/></cputune>")), 'invalid', '/domain/cputune/vcpupin');
  only(define(domain("<cputune><emulatorpin cpuset='1'/></cputune>")), 'unsupported', '/domain/cputune/emulatorpin');
  only(define(domain('<cputune><shares>2048</shares></cputune>')), 'unsupported', '/domain/cputune/shares');
  only(define(domain("<vcpu placement='auto'>1</vcpu>")), 'unsupported', '/domain/vcpu/@placement');
  only(define(domain("<vcpu current='1'>2</vcpu>")), 'unsupported', '/domain/vcpu/@current');
  only(define(domain("<vcpu cpuset='1-2'>2</vcpu>")), 'unsupported', '/domain/vcpu/@cpuset');
  only(define(domain('<vcpu>9</vcpu>')), 'unsupported', '/domain/vcpu');
  only(define(domain('<vcpu>0</vcpu>')), 'invalid', '/domain/vcpu');
  only(define(domain('<vcpu>two</vcpu>')), 'invalid', '/domain/vcpu');
});

test('os: type hvm with the board’s arch and name; kernel, initrd and cmdline map to boot', () => {
  const os = (inner: string) => domain('', { os: `<os>${inner}</os>` });
  const full = define(
    os(
      "<type arch='aarch64' machine='qemu-virt-aarch64'>hvm</type><kernel>/b/Image</kernel>" +
        '<initrd>/b/initrd.gz</initrd><cmdline> console=ttyAMA0 a="x &amp; y" &lt;z&gt; </cmdline>',
    ),
  );
  assert.equal(spec(full).boot, {
    kind: 'kernel',
    kernel: '/b/Image',
    initrd: '/b/initrd.gz',
    bootargs: ' console=ttyAMA0 a="x & y" <z> ',
    overlays: [],
    sha256: {},
  });
  assert.is(spec(define(os('<kernel>/b/../c/./Image</kernel>'))).boot.kind === 'kernel', true);
  assert.equal(spec(define(os('<kernel>/b/../c/./Image</kernel><cmdline/>'))).boot, {
    kind: 'kernel',
    kernel: '/c/Image',
    bootargs: '',
    overlays: [],
    sha256: {},
  });
  // Each board's own arch.
  for (const [board, arch] of [
    [ARMV7, 'armv7l'],
    [RISCV64, 'riscv64'],
  ] as const) {
    const r = define(os(`<type arch='${arch}'>hvm</type><kernel>/k</kernel>`), { board });
    assert.ok(r.ok, arch);
    only(
      define(os(`<type arch='aarch64'>hvm</type><kernel>/k</kernel>`), { board }),
      'unsupported',
      '/domain/os/type/@arch',
    );
  }
  assert.match(
    only(define(os("<type arch='x86_64'>hvm</type><kernel>/k</kernel>")), 'unsupported', '/domain/os/type/@arch'),
    'qemu-virt-aarch64',
  );
  only(define(os("<type machine='virt'>hvm</type><kernel>/k</kernel>")), 'unsupported', '/domain/os/type/@machine');
  only(define(os('<type>exe</type><kernel>/k</kernel>')), 'unsupported', '/domain/os/type');
  only(define(os('<type>hvm</type>')), 'unsupported', '/domain/os/kernel');
  only(define(domain('', { os: '' })), 'unsupported', '/domain/os');
  assert.match(only(define(os('<kernel>images/Image</kernel>')), 'invalid', '/domain/os/kernel'), 'absolute');
  only(define(os('<kernel>/k</kernel><initrd>initrd.gz</initrd>')), 'invalid', '/domain/os/initrd');
  only(define(os('<kernel></kernel>')), 'invalid', '/domain/os/kernel');
  only(define(os('<kernel>/k</kernel><kernel>/k2</kernel>')), 'invalid', '/domain/os/kernel');
  only(define(os("<kernel foo='1'>/k</kernel>")), 'unsupported', '/domain/os/kernel/@foo');
  only(define(os('<kernel>/k</kernel>').replace('<os>', "<os firmware='efi'>")), 'unsupported', '/domain/os/@firmware');
});

test('os: dtb and the firmware and boot-device elements are refused, naming them', () => {
  for (const el of [
    '<dtb>/b/virt.dtb</dtb>',
    "<loader readonly='yes' type='pflash'>/usr/share/AAVMF/AAVMF_CODE.fd</loader>",
    '<nvram>/var/lib/nvram.fd</nvram>',
    "<boot dev='hd'/>",
    "<bootmenu enable='no'/>",
    "<smbios mode='host'/>",
    "<bios useserial='yes'/>",
    '<root>/dev/vda</root>',
    '<init>/sbin/init</init>',
  ]) {
    const name = /^<(\w+)/.exec(el)?.[1] ?? '';
    only(define(domain('', { os: `<os><kernel>/k</kernel>${el}</os>` })), 'unsupported', `/domain/os/${name}`);
  }
  assert.match(
    only(define(domain('', { os: '<os><kernel>/k</kernel><dtb>/x.dtb</dtb></os>' })), 'unsupported', '/domain/os/dtb'),
    'vman:overlays',
  );
});

test('a bare-metal image: <kernel> with vman:image, its load and entry offsets', () => {
  const r = define(withMeta("<vman:image load='0x1000' entry='4Ki'/><vman:sha256 image='" + SHA.toUpperCase() + "'/>"));
  assert.equal(spec(r).boot, {
    kind: 'image',
    image: '/images/Image',
    load: 0x1000,
    entry: 0x1000,
    overlays: [],
    sha256: { image: SHA },
  });
  assert.match(r.ok ? r.text : '', /load: 0x1000\n/);
  assert.equal(spec(define(withMeta('<vman:image/>'))).boot, {
    kind: 'image',
    image: '/images/Image',
    overlays: [],
    sha256: {},
  });
  const initrd = domain('', { os: '<os><kernel>/k</kernel><initrd>/i</initrd></os>' }).replace(
    '</domain>',
    "<metadata><v:partition xmlns:v='https://vman.dev/xmlns/libvirt/1'><v:image/></v:partition></metadata></domain>",
  );
  only(define(initrd), 'invalid', '/domain/os/initrd');
  only(define(withMeta("<vman:image load='-1'/>")), 'invalid', '/domain/metadata/vman:partition/vman:image/@load');
  only(
    define(withMeta("<vman:image entry='0x10MB'/>")),
    'invalid',
    '/domain/metadata/vman:partition/vman:image/@entry',
  );
  only(define(withMeta("<vman:image other='1'/>")), 'unsupported', '/domain/metadata/vman:partition/vman:image/@other');
  only(
    define(withMeta("<vman:sha256 image='" + SHA + "'/>")),
    'invalid',
    '/domain/metadata/vman:partition/vman:sha256/@image',
  );
  only(
    define(withMeta("<vman:sha256 initrd='" + SHA + "'/>")),
    'invalid',
    '/domain/metadata/vman:partition/vman:sha256/@initrd',
  );
  only(
    define(withMeta("<vman:sha256 kernel='abc'/>")),
    'invalid',
    '/domain/metadata/vman:partition/vman:sha256/@kernel',
  );
  assert.equal(spec(define(withMeta("<vman:sha256 kernel='" + SHA + "'/>"))).boot.sha256, { kernel: SHA });
});

test('on_poweroff, on_reboot, on_crash ↔ restartPolicy, exactly as the table says', () => {
  const life = (p?: string, r?: string, c?: string) =>
    domain(
      [p && `<on_poweroff>${p}</on_poweroff>`, r && `<on_reboot>${r}</on_reboot>`, c && `<on_crash>${c}</on_crash>`]
        .filter(Boolean)
        .join(''),
    );
  const policy = (xml: string) => spec(define(xml)).restartPolicy;
  assert.is(policy(life()), 'Never');
  assert.is(policy(life('destroy', 'destroy', 'destroy')), 'Never');
  assert.is(policy(life('destroy', 'restart', 'restart')), 'OnFailure');
  assert.is(policy(life(undefined, undefined, 'restart')), 'OnFailure');
  assert.is(policy(life('restart', 'restart', 'restart')), 'Always');
  assert.is(policy(life('restart', undefined, 'restart')), 'Always');
  assert.match(define(life('restart', 'restart', 'restart')).ok ? 'ok' : '', 'ok');
  // A reboot ends a partition as a crash does (a panic's reset looks the same): on_reboot must follow on_crash.
  only(define(life('destroy', 'restart', 'destroy')), 'unsupported', '/domain/on_reboot');
  only(define(life(undefined, 'restart')), 'unsupported', '/domain/on_reboot');
  only(define(life('restart', 'destroy', 'restart')), 'unsupported', '/domain/on_reboot');
  only(define(life('destroy', 'destroy', 'restart')), 'unsupported', '/domain/on_reboot');
  // Restart after power-off without restart after a crash is no policy vman has.
  only(define(life('restart', undefined, 'destroy')), 'unsupported', '/domain/on_poweroff');
  for (const [el, v] of [
    ['on_crash', 'preserve'],
    ['on_crash', 'coredump-destroy'],
    ['on_crash', 'coredump-restart'],
    ['on_crash', 'rename-restart'],
    ['on_poweroff', 'preserve'],
    ['on_reboot', 'rename-restart'],
    ['on_crash', 'explode'],
  ])
    only(define(domain(`<${el}>${v}</${el}>`)), 'unsupported', `/domain/${el}`);
  only(define(domain('<on_lockfailure>poweroff</on_lockfailure>')), 'unsupported', '/domain/on_lockfailure');
});

test('what libvirt defines and vman cannot honour is refused naming the element, never dropped', () => {
  const top = [
    '<title>web</title>',
    '<description>d</description>',
    '<genid/>',
    "<sysinfo type='smbios'/>",
    "<clock offset='utc'/>",
    "<pm><suspend-to-mem enabled='no'/></pm>",
    '<perf/>',
    "<seclabel type='none'/>",
    "<numatune><memory mode='strict' nodeset='0'/></numatune>",
    '<memoryBacking><hugepages/></memoryBacking>',
    "<maxMemory slots='16' unit='KiB'>1524288</maxMemory>",
    '<memtune/>',
    '<blkiotune/>',
    '<iothreads>2</iothreads>',
    '<vcpus/>',
    '<resource><partition>/machine</partition></resource>',
    '<bootloader>/usr/bin/pygrub</bootloader>',
    '<keywrap/>',
    '<idmap/>',
    '<frobnicate/>',
  ];
  for (const el of top) {
    const name = /^<(\w+)/.exec(el)?.[1] ?? '';
    only(define(domain(el)), 'unsupported', `/domain/${name}`);
  }
  only(define(domain("<cpu mode='host-model'/>")), 'unsupported', '/domain/cpu/@mode');
  only(define(domain('<cpu><model>cortex-a57</model></cpu>')), 'unsupported', '/domain/cpu');
  only(
    define(domain("<cpu mode='host-passthrough'><topology sockets='1'/></cpu>")),
    'unsupported',
    '/domain/cpu/topology',
  );
  only(define(domain('<features><acpi/></features>')), 'unsupported', '/domain/features/acpi');
  only(define(domain("<features><gic version='2'/></features>")), 'unsupported', '/domain/features/gic');
  const devices = [
    "<disk type='file' device='disk'><source file='/v.img'/><target dev='vda'/></disk>",
    "<interface type='network'><source network='default'/></interface>",
    "<graphics type='vnc'/>",
    "<video><model type='virtio'/></video>",
    "<hostdev mode='subsystem' type='pci'/>",
    "<controller type='usb'/>",
    "<input type='tablet'/>",
    "<sound model='ich9'/>",
    "<channel type='unix'/>",
    "<rng model='virtio'/>",
    "<tpm model='tpm-tis'/>",
    "<watchdog model='i6300esb'/>",
    '<panic/>',
    "<filesystem type='mount'/>",
    '<emulator>/usr/bin/qemu-system-aarch64</emulator>',
    "<memballoon model='virtio'/>",
    "<shmem name='x'/>",
    "<vsock model='virtio'/>",
    '<iommu/>',
    "<smartcard mode='host'/>",
    "<redirdev bus='usb'/>",
    "<parallel type='pty'/>",
  ];
  for (const el of devices) {
    const name = /^<(\w+)/.exec(el)?.[1] ?? '';
    only(define(domain(`<devices>${el}</devices>`)), 'unsupported', `/domain/devices/${name}`);
  }
  only(
    define(domain("<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>")),
    'unsupported',
    '/domain/qemu:commandline',
  );
  // Several at once: every one is reported, the first one's code is the result's.
  const many = define(domain("<devices><disk type='file'/><interface type='user'/></devices><clock offset='utc'/>"));
  assert.not.ok(many.ok);
  if (!many.ok) {
    assert.equal(many.problems.map((p) => p.element).sort(), [
      '/domain/clock',
      '/domain/devices/disk',
      '/domain/devices/interface',
    ]);
    assert.match(many.message, '/domain/devices/disk');
    assert.match(many.message, '/domain/devices/interface');
  }
});

test('what describes what a partition always is is accepted and changes nothing', () => {
  const plain = comparable(spec(define(domain())));
  for (const extra of [
    "<cpu mode='host-passthrough'/>",
    '<features/>',
    '<devices/>',
    "<devices><console type='pty'><target type='serial' port='0'/></console></devices>",
    "<devices><serial type='pty'><target port='0'/></serial><console type='pty'/></devices>",
    "<devices><serial type='pty'><target type='system-serial' port='0'/></serial></devices>",
    "<devices><memballoon model='none'/></devices>",
    '<cputune/>',
    '<metadata/>',
    "<metadata><vman:partition xmlns:vman='https://vman.dev/xmlns/libvirt/1'/></metadata>",
    '<!-- a comment --><?some processing instruction?>',
  ])
    assert.equal(comparable(spec(define(domain(extra)))), plain, extra);
  // …but only those forms of them.
  only(define(domain("<devices><console type='file'/></devices>")), 'unsupported', '/domain/devices/console/@type');
  only(
    define(domain("<devices><console type='pty'><target port='1'/></console></devices>")),
    'unsupported',
    '/domain/devices/console/target',
  );
  only(
    define(domain("<devices><console type='pty'/><console type='pty'/></devices>")),
    'unsupported',
    '/domain/devices/console',
  );
  only(
    define(domain("<devices><serial type='pty'><source path='/dev/pts/3'/></serial></devices>")),
    'unsupported',
    '/domain/devices/serial/source',
  );
});

test('vman metadata: labels, memory base, devices by name, overlays, dependsOn, readiness', () => {
  const r = define(
    withMeta(
      "<vman:labels><vman:label key='role'>gateway</vman:label>" +
        "<vman:label key='x y'> 1 &amp; 2 </vman:label></vman:labels>" +
        "<vman:memory base='0x48000000'/>" +
        "<vman:devices><vman:device name='virtio1'/><vman:device name='gpio0'/></vman:devices>" +
        '<vman:overlays><vman:overlay>/o/a.dtbo</vman:overlay><vman:overlay>/o/b.dtbo</vman:overlay></vman:overlays>' +
        "<vman:dependsOn><vman:dependency name='db'/><vman:dependency name='cache'/></vman:dependsOn>" +
        "<vman:readiness timeout='90s'><vman:console>^login: </vman:console></vman:readiness>",
    ),
  );
  const s = spec(r);
  assert.equal(s.labels, { role: 'gateway', 'x y': ' 1 & 2 ' });
  assert.equal(s.memory, { size: 64 * MiB, base: 0x4800_0000 });
  assert.equal(s.devices, ['virtio1', 'gpio0']);
  assert.equal(s.boot.overlays, ['/o/a.dtbo', '/o/b.dtbo']);
  assert.equal(s.dependsOn, ['db', 'cache']);
  assert.equal(s.readiness, { console: '^login: ', timeoutMs: 90_000 });
  // Any prefix bound to vman's namespace.
  const other = domain(
    "<metadata><p:partition xmlns:p='https://vman.dev/xmlns/libvirt/1'><p:devices><p:device name='rtc0'/></p:devices></p:partition></metadata>",
  );
  assert.equal(spec(define(other)).devices, ['rtc0']);
});

test('vman metadata that is wrong is invalid, naming the element; another application’s is refused', () => {
  const V = '/domain/metadata/vman:partition';
  assert.match(only(define(withMeta("<vman:device name='virtio0'/>")), 'invalid', `${V}/vman:device`), 'vman:devices');
  only(define(withMeta('<vman:frob/>')), 'invalid', `${V}/vman:frob`);
  only(define(withMeta('<vman:devices/><vman:devices/>')), 'invalid', `${V}/vman:devices`);
  assert.match(
    only(
      define(withMeta("<vman:devices><vman:device name='virtio00'/></vman:devices>")),
      'invalid',
      `${V}/vman:devices/vman:device/@name`,
    ),
    'did you mean virtio0?',
  );
  only(
    define(withMeta("<vman:devices><vman:device name='rtc0'/><vman:device name='rtc0'/></vman:devices>")),
    'invalid',
    `${V}/vman:devices/vman:device/@name`,
  );
  only(define(withMeta('<vman:devices><vman:device/></vman:devices>')), 'invalid', `${V}/vman:devices/vman:device`);
  only(
    define(withMeta("<vman:devices><vman:thing name='x'/></vman:devices>")),
    'invalid',
    `${V}/vman:devices/vman:thing`,
  );
  only(define(withMeta("<vman:memory base='0x4800000G'/>")), 'invalid', `${V}/vman:memory/@base`);
  only(define(withMeta("<vman:readiness timeout='60'/>")), 'invalid', `${V}/vman:readiness/@timeout`);
  only(
    define(withMeta('<vman:overlays><vman:overlay>rel.dtbo</vman:overlay></vman:overlays>')),
    'invalid',
    `${V}/vman:overlays/vman:overlay`,
  );
  only(
    define(withMeta('<vman:labels><vman:label>v</vman:label></vman:labels>')),
    'invalid',
    `${V}/vman:labels/vman:label`,
  );
  only(
    define(withMeta("<vman:labels><vman:label key='a'>1</vman:label><vman:label key='a'>2</vman:label></vman:labels>")),
    'invalid',
    `${V}/vman:labels/vman:label`,
  );
  only(
    define(domain("<metadata><vman:other xmlns:vman='https://vman.dev/xmlns/libvirt/1'/></metadata>")),
    'invalid',
    '/domain/metadata/vman:other',
  );
  assert.match(
    only(
      define(
        domain(
          "<metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'/></metadata>",
        ),
      ),
      'unsupported',
      '/domain/metadata/libosinfo:libosinfo',
    ),
    'would be lost',
  );
  only(define(domain('<metadata><plain/></metadata>')), 'unsupported', '/domain/metadata/plain');
});

test('what only the manifest checks catch comes back invalid, with vman’s diagnostic code and the element', () => {
  const V = '/domain/metadata/vman:partition';
  const regex = define(withMeta('<vman:readiness><vman:console>([unclosed</vman:console></vman:readiness>'));
  only(regex, 'invalid', `${V}/vman:readiness/vman:console`);
  assert.is(!regex.ok && regex.problems[0]?.diagnostic, CODES.badRegex);
  const self = define(withMeta("<vman:dependsOn><vman:dependency name='web'/></vman:dependsOn>"));
  only(self, 'invalid', `${V}/vman:dependsOn`);
  assert.is(!self.ok && self.problems[0]?.diagnostic, CODES.dependsSelf);
  const long = define(withMeta(`<vman:labels><vman:label key='k'>${'x'.repeat(254)}</vman:label></vman:labels>`));
  only(long, 'invalid', `${V}/vman:labels`);
});

test('XML that is not well-formed, or not a domain, is an xml problem that says where', () => {
  const xml = (text: string) => {
    const r = define(text);
    if (r.ok) throw new Error(`accepted: ${text}`);
    assert.is(r.code, 'xml', `${text}: ${r.message}`);
    assert.is(r.problems.length, 1);
    return r.message;
  };
  assert.match(xml("<domain type='vman'>\n  <name>web</name>\n  <os>\n</domain>"), /line \d+/);
  xml('');
  xml('not xml');
  xml("<domain type='vman'><name>a</name></domain><domain/>");
  xml("<domain type='vman'><name>a &nbsp; b</name></domain>");
  xml("<domain type='vman'><name>a & b</name></domain>");
  xml("<domain type='vman'><name>a &#1; b</name></domain>");
  xml("<domain type='vman'><name>a \u0001 b</name></domain>");
  xml("<domain type='vman' a='<'/>");
  xml("<domain type='vman'><name>]]></name></domain>");
  assert.match(xml('<!DOCTYPE domain [<!ENTITY x "web">]><domain type=\'vman\'><name>&x;</name></domain>'), 'DOCTYPE');
  xml("<domain type='vman'><v:name/></domain>");
  xml("<domain type='vman' xmlns:v=''><name>a</name></domain>");
  xml("<domain type='vman'><__proto__/></domain>");
  xml(`<domain type='vman'>${'<a>'.repeat(100)}${'</a>'.repeat(100)}</domain>`);
  xml(`<domain type='vman'><description>${'x'.repeat(256 * 1024)}</description></domain>`);
  assert.match(xml("<vm type='vman'/>"), '<domain>');
  xml("<domain xmlns='urn:x' type='vman'/>");
  xml(domain('  stray text'));
  // Messages quote what they found, cut short.
  assert.ok(xml('<'.repeat(100_000)).length < 400);
  const long = define(domain('', { name: `<name>${'X'.repeat(100_000)}</name>` }));
  assert.ok(!long.ok && long.message.length < 400);
  xml(domain('<on_crash>destroy<x/></on_crash>'));
});

test('manifestToDomain: the XML dumpxml prints, with vman’s fields in its metadata', () => {
  const s = loadSpec(
    [
      'apiVersion: vman.dev/v1alpha1',
      'kind: Partition',
      'metadata:',
      '  name: rtos',
      '  uid: 6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41',
      '  labels: {role: control, note: "a \'quoted\' <b> & \\t tab"}',
      'spec:',
      '  state: stopped',
      '  cpus: [1, 2]',
      '  memory: {size: 16Mi, base: 0x48000000}',
      '  devices: [gpio0, rtc0]',
      '  boot:',
      '    image: /images/rtos.bin',
      '    load: 0x0',
      '    entry: 0x100',
      '    bootargs: "mode=fast\\r\\n"',
      '    overlays: [/o/a.dtbo]',
      `    sha256: {image: ${SHA}}`,
      '  dependsOn: [linux]',
      '  readiness: {console: "ready$", timeout: 10s}',
      '  restartPolicy: OnFailure',
      '',
    ].join('\n'),
  );
  const xml = manifestToDomain(s, { board: AARCH64, id: 4, uuid: nameUuid('ignored') });
  assert.is(
    xml,
    [
      "<domain type='vman' id='4'>",
      '  <name>rtos</name>',
      '  <uuid>6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41</uuid>',
      '  <metadata>',
      "    <vman:partition xmlns:vman='https://vman.dev/xmlns/libvirt/1'>",
      '      <vman:labels>',
      "        <vman:label key='role'>control</vman:label>",
      "        <vman:label key='note'>a 'quoted' &lt;b&gt; &amp; \t tab</vman:label>",
      '      </vman:labels>',
      "      <vman:memory base='0x48000000'/>",
      '      <vman:devices>',
      "        <vman:device name='gpio0'/>",
      "        <vman:device name='rtc0'/>",
      '      </vman:devices>',
      "      <vman:image load='0x0' entry='0x100'/>",
      `      <vman:sha256 image='${SHA}'/>`,
      '      <vman:overlays>',
      '        <vman:overlay>/o/a.dtbo</vman:overlay>',
      '      </vman:overlays>',
      '      <vman:dependsOn>',
      "        <vman:dependency name='linux'/>",
      '      </vman:dependsOn>',
      "      <vman:readiness timeout='10s'>",
      '        <vman:console>ready$</vman:console>',
      '      </vman:readiness>',
      '    </vman:partition>',
      '  </metadata>',
      "  <memory unit='KiB'>16384</memory>",
      "  <currentMemory unit='KiB'>16384</currentMemory>",
      "  <vcpu placement='static'>2</vcpu>",
      '  <cputune>',
      "    <vcpupin vcpu='0' cpuset='1'/>",
      "    <vcpupin vcpu='1' cpuset='2'/>",
      '  </cputune>',
      '  <os>',
      "    <type arch='aarch64' machine='qemu-virt-aarch64'>hvm</type>",
      '    <kernel>/images/rtos.bin</kernel>',
      '    <cmdline>mode=fast&#13;\n</cmdline>',
      '  </os>',
      '  <on_poweroff>destroy</on_poweroff>',
      '  <on_reboot>restart</on_reboot>',
      '  <on_crash>restart</on_crash>',
      '</domain>',
      '',
    ].join('\n'),
  );
  const back = define(xml, { state: 'stopped' });
  assert.equal(comparable(spec(back)), comparable(s));
});

test('manifestToDomain: the UUID is metadata.uid, else the caller’s, else the name-derived one', () => {
  const s = loadSpec(domainlessManifest('web'));
  assert.match(manifestToDomain(s, { board: AARCH64 }), `<uuid>${nameUuid('web')}</uuid>`);
  const given = '0d1e2f30-4152-4637-8899-aabbccddeeff';
  assert.match(manifestToDomain(s, { board: AARCH64, uuid: given }), `<uuid>${given}</uuid>`);
  assert.not.match(manifestToDomain(s, { board: AARCH64 }), ' id=');
  const next = counter();
  assert.is(next(), '00000000-0000-4000-8000-000000000001');
});

test('manifestToDomain refuses, with a RangeError, a string XML 1.0 cannot carry', () => {
  const s = loadSpec(domainlessManifest('web', '    bootargs: "a\\x01b"'));
  assert.throws(
    () => manifestToDomain(s, { board: AARCH64 }),
    (e: unknown) => e instanceof RangeError && /U\+0001/.test(String(e)),
  );
});

function domainlessManifest(name: string, ...bootExtra: string[]): string {
  return [
    'apiVersion: vman.dev/v1alpha1',
    'kind: Partition',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  cpus: 1',
    '  memory: 64Mi',
    '  boot:',
    '    kernel: /images/Image',
    ...bootExtra,
    '',
  ].join('\n');
}

test.run();
