// The monitors' safety checks (pure): what each step kind is refused for, with the exact reason, and
// what passes (a genuine step, a repeat that took effect, a negation of what is absent).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CHECKS,
  enforce,
  inside,
  isolationViolation,
  refusal,
  refusalError,
  sameAllocation,
  type CheckInput,
  type PartitionView,
} from '../../src/backends/safety.js';
import { VmanError } from '../../src/errors.js';
import type { LoadItem, Step } from '../../src/plan/types.js';
import type { BootEntry } from '../../src/backends/types.js';
import { aarch64Board, MiB } from '../alloc/boards.js';

const board = aarch64Board();
const BASE = 0x4800_0000;
const mem = { base: BASE, size: 16 * MiB };
const DTB_ADDR = BASE + 14 * MiB;
const DTB_SHA = 'd'.repeat(64);
const IMAGE_SHA = 'a'.repeat(64);
const items: LoadItem[] = [
  { what: 'image', file: '/img.bin', offset: 0, size: 64 * 1024, addr: BASE, sha256: IMAGE_SHA },
  { what: 'dtb', offset: 0, size: 2000, addr: DTB_ADDR, sha256: DTB_SHA },
];
const loaded = items.map((i) => ({ what: i.what, addr: i.addr, size: i.size, sha256: i.sha256 }));
const boot = { bootDigest: 'b'.repeat(64), entry: BASE, bootCpu: 1, dtbAddr: DTB_ADDR };

const step = { id: 'p/x', partition: 'p', after: [] } as const;
const allocate = { ...step, kind: 'allocate', cpus: [1, 2], memory: mem, devices: ['virtio0'] } as const;
const buildFdt = { ...step, kind: 'build-fdt', dtbSha256: DTB_SHA, size: 2000 } as const;
const load = { ...step, kind: 'load', items } as const;
const release = { ...step, kind: 'release-cores', bootCpu: 1, entry: BASE, dtbAddr: DTB_ADDR } as const;
const waitReady = { ...step, kind: 'wait-ready', timeoutMs: 1000 } as const;
const stop = { ...step, kind: 'stop-cores' } as const;
const scrub = { ...step, kind: 'scrub-memory', memory: mem } as const;
const releaseResources = { ...step, kind: 'release-resources' } as const;

/** Allocated, tree built, nothing loaded. */
const allocated: PartitionView = {
  name: 'p',
  cpus: [1, 2],
  memory: mem,
  devices: ['virtio0'],
  power: 'stopped',
  dtb: { sha256: DTB_SHA, size: 2000 },
  loaded: [],
};
/** Loaded, halted. */
const halted: PartitionView = { ...allocated, loaded, boot };
const running: PartitionView = { ...halted, power: 'running' };

const target: BootEntry = {
  bootCpu: 1,
  entry: BASE,
  dtbAddr: DTB_ADDR,
  bootDigest: boot.bootDigest,
};

const input = (partition: PartitionView | undefined, o: Partial<CheckInput> = {}): CheckInput => ({
  board,
  partition,
  plannedBoot: target,
  ...o,
});

test('allocate: isolation on a fresh name; a repeat passes; other resources under the same name are refused', () => {
  assert.is(refusal(allocate, input(undefined)), undefined);
  assert.is(refusal(allocate, input(allocated)), undefined, 'a repeat of what took effect');
  assert.is(
    refusal({ ...allocate, cpus: [1, 3] }, input(allocated)),
    'a partition of that name already holds other resources',
  );
  const other = { name: 'q', cpus: [2], memory: { base: BASE + 16 * MiB, size: MiB }, devices: [] };
  assert.is(refusal(allocate, input(undefined, { others: [other] })), 'core 2 is held by partition `q`');
  assert.is(refusal({ ...allocate, cpus: [0] }, input(undefined)), 'core 0 is reserved by the management');
  assert.is(refusal({ ...allocate, cpus: [9] }, input(undefined)), 'core 9 does not exist on test-board');
  assert.is(
    refusal({ ...allocate, memory: { base: 0x4000_0000, size: 16 * MiB } }, input(undefined)),
    'memory 0x40000000–0x40ffffff overlaps 0x40000000–0x47ffffff, reserved by the management',
  );
  assert.is(
    refusal(
      { ...allocate, cpus: [1], memory: { base: BASE + 8 * MiB, size: 16 * MiB } },
      input(undefined, { others: [other] }),
    ),
    'memory 0x48800000–0x497fffff overlaps 0x49000000–0x490fffff, held by partition `q`',
  );
  assert.is(
    refusal({ ...allocate, devices: ['uart0'] }, input(undefined)),
    'device `uart0` is reserved by the management',
  );
  assert.is(
    refusal({ ...allocate, devices: ['nope'] }, input(undefined)),
    'device `nope` does not exist on test-board',
  );
});

test('isolationViolation, inside and sameAllocation are the building blocks', () => {
  assert.is(
    isolationViolation(board, [], { name: 'p', cpus: [1], memory: { base: BASE, size: 0 }, devices: [] }),
    'memory size is zero',
  );
  assert.is(
    isolationViolation(board, [], { name: 'p', cpus: [1], memory: { base: 0x1000, size: MiB }, devices: [] }),
    'memory 0x1000–0x100fff is not inside one RAM bank of test-board',
  );
  assert.ok(inside(mem, BASE + 16 * MiB - 4, 4));
  assert.not.ok(inside(mem, BASE + 16 * MiB - 3, 4));
  assert.not.ok(inside(mem, BASE - 1, 1));
  assert.ok(sameAllocation(allocated, allocate));
  assert.not.ok(sameAllocation(allocated, { ...allocate, devices: [] }));
});

test('build-fdt: the planned bytes must have the digest and size the step names', () => {
  const planned = { sha256: DTB_SHA, size: 2000 };
  assert.is(refusal(buildFdt, input(allocated, { plannedDtb: planned })), undefined);
  assert.is(refusal(buildFdt, input(undefined, { plannedDtb: planned })), 'no such partition');
  assert.is(refusal(buildFdt, input(allocated)), 'no tree was planned');
  assert.is(
    refusal(buildFdt, input(allocated, { plannedDtb: { ...planned, sha256: 'e'.repeat(64) } })),
    'the planned device tree does not match its digest',
  );
  assert.is(
    refusal(buildFdt, input(allocated, { plannedDtb: { ...planned, size: 1999 } })),
    'the planned device tree is 1999 bytes, not the 2000 its step names',
  );
});

test('load: items inside, one DTB (the one built, where the boot looks), boot core and entry in the partition', () => {
  assert.is(refusal(load, input(allocated)), undefined);
  assert.is(refusal(load, input(halted)), undefined, 'loading again over a halted machine');
  assert.is(refusal(load, input(undefined)), 'no such partition');
  assert.is(refusal(load, input(allocated, { plannedBoot: undefined })), 'no boot was planned');
  assert.is(refusal(load, input(running)), 'its cores are running; stop them first');
  assert.is(refusal(load, input({ ...allocated, dtb: undefined })), 'its device tree has not been built');
  const moved = (i: number, o: Partial<LoadItem>) => ({
    ...load,
    items: items.map((x, j) => (j === i ? { ...x, ...o } : x)),
  });
  assert.is(
    refusal(moved(0, { addr: BASE + 16 * MiB }), input(allocated)),
    "image at 0x49000000–0x4900ffff lies outside the partition's memory 0x48000000–0x48ffffff",
  );
  assert.is(
    refusal(moved(0, { zero: 16 * MiB }), input(allocated)),
    "image at 0x48000000–0x4800ffff lies outside the partition's memory 0x48000000–0x48ffffff",
    'the bytes zeroed after an ELF segment count',
  );
  assert.is(refusal(moved(1, { sha256: 'e'.repeat(64) }), input(allocated)), 'the DTB to load is not the one built');
  assert.is(
    refusal(moved(1, { size: 1000 }), input(allocated)),
    'the DTB to load is 1000 bytes, and the one built 2000',
  );
  assert.is(
    refusal(moved(1, { size: 1000 }), input({ ...allocated, dtb: { sha256: DTB_SHA } })),
    undefined,
    'a backend that did not record the size built',
  );
  assert.is(
    refusal(moved(1, { addr: DTB_ADDR + 0x1000 }), input(allocated)),
    'the DTB goes to 0x48e01000, but the boot core is given 0x48e00000',
  );
  assert.is(refusal({ ...load, items: items.slice(0, 1) }, input(allocated)), 'the load names 0 DTBs, not one');
  assert.is(refusal({ ...load, items: [...items, items[1]!] }, input(allocated)), 'the load names 2 DTBs, not one');
  const otherCore = input(allocated, { plannedBoot: { ...target, bootCpu: 3 } });
  assert.is(refusal(load, otherCore), "core 3 is not the partition's");
  assert.is(
    refusal(load, input(allocated, { plannedBoot: { ...target, entry: BASE + 16 * MiB } })),
    'entry 0x49000000 lies outside the partition',
  );
});

test('release-cores: exactly as loaded (entry, boot core, DTB address), inside, not powered off or crashed', () => {
  assert.is(refusal(release, input(halted)), undefined);
  assert.is(refusal(release, input(running)), undefined, 'a repeat of what took effect');
  assert.is(refusal(release, input(undefined)), 'no such partition');
  assert.is(refusal(release, input(allocated)), 'nothing is loaded');
  assert.is(
    refusal({ ...release, entry: BASE + 0x1000 }, input(halted)),
    'what was loaded enters core 1 at 0x48000000 with the DTB at 0x48e00000, not core 1 at 0x48001000 with 0x48e00000',
  );
  assert.is(
    refusal({ ...release, bootCpu: 2 }, input(halted)),
    'what was loaded enters core 1 at 0x48000000 with the DTB at 0x48e00000, not core 2 at 0x48000000 with 0x48e00000',
  );
  assert.is(
    refusal({ ...release, dtbAddr: DTB_ADDR + 0x1000 }, input(halted)),
    'what was loaded enters core 1 at 0x48000000 with the DTB at 0x48e00000, not core 1 at 0x48000000 with 0x48e01000',
  );
  assert.is(refusal({ ...release, bootCpu: 3 }, input(halted)), "core 3 is not the partition's");
  const outside = { ...halted, boot: { ...boot, entry: BASE + 16 * MiB } };
  assert.is(
    refusal({ ...release, entry: BASE + 16 * MiB }, input(outside)),
    'entry 0x49000000 lies outside the partition',
  );
  assert.is(
    refusal(release, input({ ...halted, power: 'crashed' })),
    'the partition is crashed; it must be loaded again',
  );
  assert.is(
    refusal(release, input({ ...halted, power: 'shutdown' })),
    'the partition is shutdown; it must be loaded again',
  );
});

test('wait-ready: something loaded and released; a guest that already powered off is left to the wait', () => {
  assert.is(refusal(waitReady, input(running)), undefined);
  assert.is(refusal(waitReady, input({ ...halted, power: 'shutdown' })), undefined);
  assert.is(refusal(waitReady, input(undefined)), 'no such partition');
  assert.is(refusal(waitReady, input({ ...allocated, power: 'running' })), 'nothing is loaded');
  assert.is(refusal(waitReady, input(halted)), 'the partition is stopped');
  assert.is(refusal(waitReady, input({ ...halted, power: 'paused' })), 'the partition is paused');
});

test('stop-cores is never refused; scrub and release-resources pass on what is absent', () => {
  for (const p of [undefined, allocated, halted, running]) assert.is(refusal(stop, input(p)), undefined);
  assert.is(refusal(scrub, input(undefined)), undefined);
  assert.is(refusal(scrub, input(halted)), undefined);
  assert.is(refusal(scrub, input(running)), 'its cores are running');
  assert.is(refusal(releaseResources, input(undefined)), undefined);
  assert.is(refusal(releaseResources, input(allocated)), undefined);
  assert.is(refusal(releaseResources, input(running)), 'its cores are running');
  assert.is(refusal(releaseResources, input(halted)), 'its memory has not been scrubbed');
  assert.is(
    refusal(releaseResources, input({ ...allocated, loaded })),
    'its memory has not been scrubbed',
    'bytes in memory without a recorded boot',
  );
});

test('every step kind has a check; a refusal is a backend VmanError naming step and partition', () => {
  assert.equal(Object.keys(CHECKS).sort(), [
    'allocate',
    'build-fdt',
    'load',
    'release-cores',
    'release-resources',
    'scrub-memory',
    'stop-cores',
    'wait-ready',
  ]);
  const e = refusalError(release as Step, 'nothing is loaded');
  assert.instance(e, VmanError);
  assert.is(e.kind, 'backend');
  assert.is(e.message, 'the monitor refused release-cores for `p`: nothing is loaded');
  try {
    enforce({ ...release, entry: BASE + 0x1000 }, input(halted));
    assert.unreachable('enforce must throw');
  } catch (err) {
    assert.instance(err, VmanError);
    assert.match((err as Error).message, /^the monitor refused release-cores for `p`: what was loaded enters core 1/);
  }
  enforce(release, input(halted));
});

test.run();
