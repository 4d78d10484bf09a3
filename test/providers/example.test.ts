// examples/providers/vman-provider-example, driven over the protocol as vman drives it: a bring-up and a
// teardown on the built-in board, each mutating call repeated, the refusals with their codes, and a
// kill -9 between allocate and load after which a fresh process still reports the half-made claim.
// Every line the provider writes is checked against the protocol's schemas. (The full conformance
// suite is `vman provider test`; this is the quick check of the example itself.)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, type Method, type Params, type Results } from '../../src/backends/provider/protocol.js';
import { LinePeer, RpcError } from '../../src/backends/provider/rpc.js';
import { checkError, checkNotification, checkResult } from '../../src/backends/provider/validate.js';
import { builtinBoard } from '../../src/board/load.js';

const PROVIDER = fileURLToPath(new URL('../../examples/providers/vman-provider-example', import.meta.url));
// Debian's interpreter when there is one (the provider needs any python3 >= 3.9 and its standard library).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const board = builtinBoard('qemu-virt-aarch64').board!;
const MiB = 1024 * 1024;

/** One provider process, its peer, and everything it wrote. */
interface Session {
  readonly child: ChildProcess;
  readonly peer: LinePeer;
  readonly lines: string[];
  readonly notifications: { method: string; params: unknown }[];
  readonly exited: Promise<number | null>;
}

function start(stateDir: string): Session {
  const child = spawn(PYTHON, [PROVIDER], {
    env: { ...process.env, VMAN_STATE_DIR: stateDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr!.resume();
  const notifications: { method: string; params: unknown }[] = [];
  const peer = new LinePeer(
    child.stdout!,
    child.stdin!,
    { notification: (method, params) => notifications.push({ method, params }) },
    'the provider',
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, peer, lines, notifications, exited };
}

/** Checks every error and notification the provider wrote against the schemas (results: in call()). */
function checkLines(s: Session): void {
  for (const line of s.lines) {
    const msg = JSON.parse(line) as Record<string, unknown>;
    assert.is(msg['jsonrpc'], '2.0', line);
    if ('error' in msg) assert.is(checkError(msg['error']), undefined, line);
    else if (typeof msg['method'] === 'string')
      assert.is(checkNotification(msg['method'], msg['params']), undefined, line);
    else assert.ok('result' in msg, line);
  }
}

async function call<M extends Method>(s: Session, method: M, params: Params[M]): Promise<Results[M]> {
  const result = await s.peer.request(method, params, { timeoutMs: 10_000 });
  assert.is(checkResult(method, result), undefined, `${method}: ${JSON.stringify(result)}`);
  return result as Results[M];
}

/** The error `method` is answered with, which must have `code`. */
async function refused(s: Session, method: string, params: unknown, code: number): Promise<RpcError> {
  const err = await s.peer.request(method, params, { timeoutMs: 10_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, RpcError, `${method} succeeded`);
  const e = err as RpcError;
  assert.is(e.code, code, `${method}: ${e.code} ${e.message}`);
  assert.is(e.data.retryable, false);
  return e;
}

async function initialize(s: Session): Promise<void> {
  const r = await call(s, 'initialize', {
    protocolVersions: ['1'],
    client: { name: 'vman', version: 'test' },
    board: JSON.parse(JSON.stringify(board)) as typeof board,
  });
  assert.is(r.protocolVersion, '1');
  assert.is(r.capabilities.steps.length, 8);
}

async function shutdown(s: Session): Promise<void> {
  await call(s, 'shutdown', {});
  assert.is(await s.exited, 0);
  checkLines(s);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// The partition: core 2, 16 MiB at 0x48000000 (clear of the management partition's core 0 and first
// 128 MiB, see board.reserved), gpio0; a 64 KiB "kernel" at its base and the DTB near its end.
const dir = mkdtempSync(join(tmpdir(), 'vman-example-provider-'));
const stateDir = join(dir, 'state');
const BASE = 0x4800_0000;
const memory = { base: BASE, size: 16 * MiB };
const claim = { partition: 'rtos0', cpus: [2], memory, devices: ['gpio0'] };
const kernelFile = join(dir, 'kernel.bin');
const kernel = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
const dtb = Buffer.concat([Buffer.from([0xd0, 0x0d, 0xfe, 0xed]), Buffer.alloc(2044, 0x5a)]);
const DTB_ADDR = BASE + 15 * MiB;
const boot = { bootDigest: sha256(Buffer.from('rtos0 boot')), entry: BASE, bootCpu: 2, dtbAddr: DTB_ADDR };
const items = [
  { what: 'kernel' as const, file: kernelFile, offset: 0, size: kernel.length, addr: BASE, sha256: sha256(kernel) },
  { what: 'dtb' as const, offset: 0, size: dtb.length, addr: DTB_ADDR, sha256: sha256(dtb) },
];
const load = { partition: 'rtos0', items, ...boot };
const release = { partition: 'rtos0', bootCpu: 2, entry: BASE, dtbAddr: DTB_ADDR };
let s: Session;

test('the example is an executable Python 3 script', () => {
  assert.is(readFileSync(PROVIDER, 'utf8').split('\n')[0], '#!/usr/bin/env python3');
  assert.ok(statSync(PROVIDER).mode & 0o111);
});

test('before initialize: -32002; a version it does not speak: -32001, and it exits', async () => {
  const early = start(stateDir);
  await refused(early, 'inspect', {}, ErrorCode.notInitialized);
  await refused(early, 'initialize', { protocolVersions: ['2'], client: {}, board: {} }, ErrorCode.version);
  assert.is.not(await early.exited, 0);
  checkLines(early);
});

test('initialize, then allocate claims the resources; a repeat changes nothing', async () => {
  writeFileSync(kernelFile, kernel);
  s = start(stateDir);
  await initialize(s);
  assert.equal(await call(s, 'inspect', {}), { partitions: [], orphans: [] });
  assert.is((statSync(join(stateDir, 'example-provider')).mode & 0o777).toString(8), '700');
  await call(s, 'allocate', claim);
  const before = readFileSync(join(stateDir, 'example-provider', 'rtos0.json'), 'utf8');
  await call(s, 'allocate', claim);
  assert.is(readFileSync(join(stateDir, 'example-provider', 'rtos0.json'), 'utf8'), before);
  const { partitions } = await call(s, 'inspect', {});
  assert.equal(partitions, [{ name: 'rtos0', state: 'stopped', cpus: [2], memory, devices: ['gpio0'], loaded: [] }]);
});

test('allocate refuses what is held, reserved, absent or unconfined, and a name holding other resources', async () => {
  const other = { partition: 'linux1', cpus: [3], memory: { base: 0x5000_0000, size: 64 * MiB }, devices: [] };
  const e = await refused(s, 'allocate', { ...other, cpus: [2, 3] }, ErrorCode.refused);
  assert.match(e.message, /core 2 .*`rtos0`/);
  await refused(s, 'allocate', { ...other, cpus: [0] }, ErrorCode.refused);
  await refused(s, 'allocate', { ...other, cpus: [8] }, ErrorCode.refused);
  await refused(s, 'allocate', { ...other, memory: { base: BASE + MiB, size: MiB } }, ErrorCode.refused);
  await refused(s, 'allocate', { ...other, memory: { base: 0x4000_0000, size: MiB } }, ErrorCode.refused);
  await refused(s, 'allocate', { ...other, memory: { base: 0x1_3ff0_0000, size: 2 * MiB } }, ErrorCode.refused);
  await refused(s, 'allocate', { ...other, devices: ['fw-cfg0'] }, ErrorCode.refused);
  await refused(s, 'allocate', { ...other, devices: ['uart0'] }, ErrorCode.refused);
  await refused(s, 'allocate', { ...other, devices: ['gpio0'] }, ErrorCode.refused);
  await refused(s, 'allocate', { ...other, devices: ['nosuch0'] }, ErrorCode.refused);
  await refused(s, 'allocate', { ...claim, memory: { base: BASE, size: 32 * MiB } }, ErrorCode.refused);
  assert.is((await call(s, 'inspect', {})).partitions.length, 1);
});

test('kill -9 between allocate and load: a fresh process reports the half-made claim', async () => {
  s.child.kill('SIGKILL');
  await s.exited;
  // What a process killed mid-write leaves: a temporary file (its pid is dead), and a DTB of no partition.
  const dead = spawnSync(PYTHON, ['-c', '']).pid;
  writeFileSync(join(stateDir, 'example-provider', `.rtos0.json.${dead}.tmp`), '{"half": ');
  writeFileSync(join(stateDir, 'example-provider', 'dtbs', 'ghost.dtb'), dtb);
  s = start(stateDir);
  await initialize(s);
  const { partitions } = await call(s, 'inspect', {});
  assert.equal(partitions, [{ name: 'rtos0', state: 'stopped', cpus: [2], memory, devices: ['gpio0'], loaded: [] }]);
  assert.equal(readdirSync(join(stateDir, 'example-provider')).sort(), ['dtbs', 'rtos0.json']);
  assert.equal(readdirSync(join(stateDir, 'example-provider', 'dtbs')), []);
});

test('buildFdt keeps the DTB; refuses a wrong digest or size, and an absent partition', async () => {
  const fdt = { partition: 'rtos0', dtb: dtb.toString('base64'), sha256: sha256(dtb), size: dtb.length };
  await refused(s, 'load', load, ErrorCode.refused); // no DTB built yet
  await refused(s, 'buildFdt', { ...fdt, sha256: sha256(kernel) }, ErrorCode.refused);
  await refused(s, 'buildFdt', { ...fdt, size: dtb.length + 1 }, ErrorCode.refused);
  await refused(s, 'buildFdt', { ...fdt, partition: 'ghost' }, ErrorCode.noSuchPartition);
  await refused(s, 'buildFdt', { ...fdt, dtb: 'not base64!' }, ErrorCode.invalidParams);
  await call(s, 'buildFdt', fdt);
  await call(s, 'buildFdt', fdt);
  assert.is((await call(s, 'liveDtb', { partition: 'rtos0' })).dtb, dtb.toString('base64'));
});

test('load checks every item and the boot, re-hashes each file, and records what it loaded', async () => {
  const outside = [{ ...items[0]!, addr: BASE + 16 * MiB - 4096 }, items[1]!];
  await refused(s, 'load', { ...load, items: outside }, ErrorCode.refused);
  await refused(s, 'load', { ...load, items: [items[0]!] }, ErrorCode.refused);
  await refused(
    s,
    'load',
    { ...load, items: [items[0]!, { ...items[1]!, sha256: sha256(kernel) }] },
    ErrorCode.refused,
  );
  await refused(s, 'load', { ...load, bootCpu: 3 }, ErrorCode.refused);
  await refused(s, 'load', { ...load, dtbAddr: DTB_ADDR + 4096 }, ErrorCode.refused);
  await refused(s, 'load', { ...load, entry: BASE + 16 * MiB }, ErrorCode.refused);
  await refused(s, 'load', { ...load, partition: 'ghost' }, ErrorCode.noSuchPartition);
  await refused(
    s,
    'load',
    { ...load, items: [{ ...items[0]!, file: join(dir, 'gone.bin') }, items[1]!] },
    ErrorCode.inputChanged,
  );
  await call(s, 'load', load);
  await call(s, 'load', load);
  const [p] = (await call(s, 'inspect', {})).partitions;
  assert.equal(
    p!.loaded,
    items.map(({ what, addr, size, sha256 }) => ({ what, addr, size, sha256 })),
  );
  assert.is(p!.bootDigest, boot.bootDigest);
  assert.is(p!.entry, BASE);
});

test('a file that changed since the plan: -32011, and nothing changes', async () => {
  const changed = Buffer.from(kernel);
  changed[100] = 0xff - kernel[100]!;
  writeFileSync(kernelFile, changed);
  const before = await call(s, 'inspect', {});
  const e = await refused(s, 'load', load, ErrorCode.inputChanged);
  assert.ok(e.message.includes(kernelFile), e.message);
  assert.equal(await call(s, 'inspect', {}), before);
  writeFileSync(kernelFile, kernel);
});

test('releaseCores starts what was loaded, as it was loaded; waitReady reports an unread console', async () => {
  await refused(s, 'waitReady', { partition: 'rtos0', timeoutMs: 1000 }, ErrorCode.notReady);
  await refused(s, 'releaseCores', { ...release, entry: BASE + 0x1000 }, ErrorCode.refused);
  await refused(s, 'releaseCores', { ...release, bootCpu: 3 }, ErrorCode.refused);
  await refused(s, 'releaseCores', { ...release, dtbAddr: BASE }, ErrorCode.refused);
  await call(s, 'releaseCores', release);
  await call(s, 'releaseCores', release);
  assert.is((await call(s, 'inspect', {})).partitions[0]!.state, 'running');
  await refused(s, 'load', load, ErrorCode.refused);
  await refused(s, 'scrubMemory', { partition: 'rtos0', memory }, ErrorCode.refused);
  await refused(s, 'releaseResources', { partition: 'rtos0' }, ErrorCode.refused);
  await call(s, 'waitReady', { partition: 'rtos0', console: 'ready', timeoutMs: 1000 });
  assert.equal(
    s.notifications.map((n) => n.method),
    ['progress'],
  );
  await call(s, 'waitReady', { partition: 'rtos0', timeoutMs: 1000 });
});

test('teardown: stop, scrub, release, each repeated; release before the scrub is refused', async () => {
  await call(s, 'stopCores', { partition: 'rtos0' });
  await call(s, 'stopCores', { partition: 'rtos0' });
  await refused(s, 'waitReady', { partition: 'rtos0', timeoutMs: 1000 }, ErrorCode.notReady);
  await refused(s, 'releaseResources', { partition: 'rtos0' }, ErrorCode.refused);
  await call(s, 'scrubMemory', { partition: 'rtos0', memory });
  await call(s, 'scrubMemory', { partition: 'rtos0', memory });
  const [p] = (await call(s, 'inspect', {})).partitions;
  assert.equal(p, { name: 'rtos0', state: 'stopped', cpus: [2], memory, devices: ['gpio0'], loaded: [] });
  assert.is((await call(s, 'liveDtb', { partition: 'rtos0' })).dtb, null);
  await refused(s, 'releaseCores', release, ErrorCode.refused);
  await call(s, 'releaseResources', { partition: 'rtos0' });
  await call(s, 'releaseResources', { partition: 'rtos0' });
  assert.equal(await call(s, 'inspect', {}), { partitions: [], orphans: [] });
  assert.equal(readdirSync(join(stateDir, 'example-provider')), ['dtbs']);
});

test('the negations succeed on what is absent; the rest name what is wrong', async () => {
  await call(s, 'stopCores', { partition: 'ghost' });
  await call(s, 'scrubMemory', { partition: 'ghost', memory: { base: 0, size: 0 } });
  await call(s, 'releaseResources', { partition: 'ghost' });
  await refused(s, 'releaseCores', { ...release, partition: 'ghost' }, ErrorCode.noSuchPartition);
  await refused(s, 'waitReady', { partition: 'ghost', timeoutMs: 1 }, ErrorCode.noSuchPartition);
  const missing = await refused(s, 'allocate', { cpus: [2], memory, devices: [] }, ErrorCode.invalidParams);
  assert.match(missing.message, /partition/);
  const wrong = await refused(s, 'allocate', { ...claim, memory: { base: -1, size: 1 } }, ErrorCode.invalidParams);
  assert.match(wrong.message, /memory/);
  await refused(s, 'stopCores', { partition: '../etc' }, ErrorCode.invalidParams);
  await refused(s, 'reboot', { partition: 'rtos0' }, ErrorCode.methodNotFound);
  await refused(s, 'powerOff', { partition: 'rtos0' }, ErrorCode.unsupported);
  await refused(s, 'initialize', { protocolVersions: ['1'], client: {}, board: {} }, ErrorCode.invalidRequest);
  await shutdown(s);
});

test('stdin at its end: the provider exits 0', async () => {
  const t = start(stateDir);
  t.child.stdin!.end();
  assert.is(await t.exited, 0);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
