// Stock clients against the server: virsh 9.0 (libvirt-clients) and libvirt-python 9.0 drive the
// fake driver of fake-dispatcher.ts through vman+unix:///system?socket=PATH. The fake proves the
// protocol layer (framing, codecs, keepalive, events, streams) against the real client code; the
// procedure sequences asserted here are the ones docs/libvirt-wire.md lists.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { procedureName } from '../../src/libvirt/procedures.js';
import { KEEPALIVE_PROGRAM, REMOTE_PROGRAM, VIR_NET_STREAM } from '../../src/libvirt/rpc.js';
import { type LibvirtServer, type ServerEvent, startLibvirtServer } from '../../src/libvirt/server.js';
import { skip } from '../helpers/skip.js';
import { FakeDispatcher } from './fake-dispatcher.js';
import { havePythonLibvirt, haveVirsh, python, run, tap, tempDir, uriFor, virsh } from './support.js';

const work = tempDir('vman-libvirt-clients-');
let server: LibvirtServer;
let fake: FakeDispatcher;
const events: ServerEvent[] = [];
const path = join(work.dir, 'vman.sock');
const ALPHA = '11111111-2222-3333-4444-555555555555';
const BETA = '66666666-7777-8888-9999-aaaaaaaaaaaa';

/** What every connection of virsh starts with (the server answers the first two itself). */
const OPEN = [
  'AUTH_LIST',
  'CONNECT_SUPPORTS_FEATURE',
  'CONNECT_OPEN',
  'CONNECT_SUPPORTS_FEATURE',
  'CONNECT_SUPPORTS_FEATURE',
];

/** Runs `f` and returns the procedures called meanwhile, without REMOTE_PROC_. */
async function calls(f: () => Promise<unknown>): Promise<string[]> {
  const from = events.length;
  await f();
  await new Promise((r) => setTimeout(r, 50));
  return events
    .slice(from)
    .flatMap((e) => (e.kind === 'call' ? [procedureName(e.procedure).replace(/^REMOTE_PROC_/, '')] : []));
}

function needVirsh(): boolean {
  if (haveVirsh()) return true;
  skip('virsh tests: /usr/bin/virsh missing; apt-get install libvirt-clients');
  return false;
}

function needPython(): boolean {
  if (havePythonLibvirt()) return true;
  skip('libvirt-python tests: /usr/bin/python3 without libvirt; apt-get install python3-libvirt');
  return false;
}

test.before(async () => {
  fake = new FakeDispatcher([
    { name: 'alpha', uuid: ALPHA, active: true },
    { name: 'beta', uuid: BETA },
  ]);
  server = await startLibvirtServer({ listen: path, dispatcher: fake, onEvent: (e) => events.push(e) });
});

test.after(async () => {
  await server.close();
  work.remove();
});

test('virsh version, uri, hostname, nodeinfo, capabilities', async () => {
  if (!needVirsh()) return;
  let out = '';
  const seq = await calls(async () => {
    const r = await virsh(path, ['version']);
    assert.is(r.code, 0, r.stderr);
    out = r.stdout;
  });
  assert.match(out, /^Using API: vman \d+\.\d+\.\d+$/m);
  assert.match(out, /^Running hypervisor: vman 1\.2\.3$/m);
  assert.equal(seq, [...OPEN, 'CONNECT_GET_TYPE', 'CONNECT_GET_VERSION', 'CONNECT_CLOSE']);

  const uri = await virsh(path, ['uri']);
  assert.is(uri.stdout.trim(), uriFor(path), 'virsh prints the URI it opened; no call asks the server');
  assert.is((await virsh(path, ['hostname'])).stdout.trim(), 'fake-host');
  const node = await virsh(path, ['nodeinfo']);
  assert.match(node.stdout, /^CPU model: +aarch64$/m);
  assert.match(node.stdout, /^Memory size: +2097152 KiB$/m);
  assert.match(node.stdout, /^Core\(s\) per socket: +8$/m);
  assert.is((await virsh(path, ['capabilities'])).stdout, '<capabilities>\n  <host/>\n</capabilities>\n\n\n');
});

test('virsh list, list --all, list --all --name', async () => {
  if (!needVirsh()) return;
  let all = '';
  const seq = await calls(async () => (all = (await virsh(path, ['list', '--all'])).stdout));
  assert.is(all, ' Id   Name    State\n------------------------\n 1    alpha   running\n -    beta    shut off\n\n');
  assert.equal(seq, [...OPEN, 'CONNECT_LIST_ALL_DOMAINS', 'DOMAIN_GET_STATE', 'DOMAIN_GET_STATE', 'CONNECT_CLOSE']);
  const running = await virsh(path, ['list']);
  assert.match(running.stdout, /alpha/);
  assert.not.match(running.stdout, /beta/);
  const names = await calls(async () =>
    assert.is((await virsh(path, ['list', '--all', '--name'])).stdout, 'alpha\nbeta\n\n'),
  );
  assert.equal(names, [...OPEN, 'CONNECT_LIST_ALL_DOMAINS', 'CONNECT_CLOSE']);
});

test('virsh dominfo, domstate, domid, domuuid, domname, dumpxml', async () => {
  if (!needVirsh()) return;
  let info = '';
  const seq = await calls(async () => (info = (await virsh(path, ['dominfo', 'alpha'])).stdout));
  assert.match(info, /^Id: +1$/m);
  assert.match(info, new RegExp(`^UUID: +${ALPHA}$`, 'm'));
  assert.match(info, /^State: +running$/m);
  assert.match(info, /^Max memory: +262144 KiB$/m);
  assert.match(info, /^CPU\(s\): +2$/m);
  assert.equal(seq, [
    ...OPEN,
    'DOMAIN_LOOKUP_BY_NAME',
    'DOMAIN_GET_OS_TYPE',
    'DOMAIN_GET_INFO',
    'DOMAIN_IS_PERSISTENT',
    'DOMAIN_GET_AUTOSTART',
    'DOMAIN_HAS_MANAGED_SAVE_IMAGE',
    'NODE_GET_SECURITY_MODEL',
    'DOMAIN_GET_MESSAGES',
    'CONNECT_CLOSE',
  ]);
  assert.is((await virsh(path, ['domstate', '--reason', 'beta'])).stdout, 'shut off (unknown)\n\n');
  assert.is((await virsh(path, ['domid', 'alpha'])).stdout.trim(), '1');
  assert.is((await virsh(path, ['domid', 'beta'])).stdout.trim(), '-');
  assert.is((await virsh(path, ['domuuid', 'beta'])).stdout.trim(), BETA);
  assert.equal(await calls(async () => assert.is((await virsh(path, ['domname', '1'])).stdout.trim(), 'alpha')), [
    ...OPEN,
    'DOMAIN_LOOKUP_BY_ID',
    'CONNECT_CLOSE',
  ]);
  assert.equal(await calls(async () => assert.is((await virsh(path, ['domname', BETA])).stdout.trim(), 'beta')), [
    ...OPEN,
    'DOMAIN_LOOKUP_BY_UUID',
    'CONNECT_CLOSE',
  ]);
  const xml = await virsh(path, ['dumpxml', 'beta']);
  assert.is(xml.stdout, `<domain type='vman'>\n  <name>beta</name>\n  <uuid>${BETA}</uuid>\n</domain>\n\n`);
  const missing = await virsh(path, ['dominfo', 'nosuch']);
  assert.is(missing.code, 1);
  assert.is(missing.stderr, "error: failed to get domain 'nosuch'\n");
});

test('virsh define, start, destroy, shutdown, undefine, create: the calls and their errors', async () => {
  if (!needVirsh()) return;
  const file = join(work.dir, 'gamma.xml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    file,
    "<domain type='vman'>\n  <name>gamma</name>\n  <uuid>abcdefab-cdef-abcd-efab-cdefabcdefab</uuid>\n</domain>\n",
  );
  const step = async (args: string[], out: RegExp, code = 0): Promise<string[]> =>
    calls(async () => {
      const r = await virsh(path, args);
      assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout + r.stderr, out);
    });
  const tail = (seq: string[]): string[] => seq.slice(OPEN.length, -1);
  assert.equal(tail(await step(['define', file], /Domain 'gamma' defined/)), ['DOMAIN_DEFINE_XML']);
  assert.equal(tail(await step(['start', 'gamma'], /Domain 'gamma' started/)), [
    'DOMAIN_LOOKUP_BY_NAME',
    'DOMAIN_CREATE',
    'DOMAIN_LOOKUP_BY_UUID',
  ]);
  // virsh decides "already active" from the id the lookup returned: no call.
  assert.equal(tail(await step(['start', 'gamma'], /Domain is already active/, 1)), ['DOMAIN_LOOKUP_BY_NAME']);
  assert.equal(tail(await step(['undefine', 'gamma'], /error: domain is running/, 1)), [
    'DOMAIN_LOOKUP_BY_NAME',
    'DOMAIN_IS_ACTIVE',
    'DOMAIN_UNDEFINE_FLAGS',
  ]);
  assert.equal(tail(await step(['destroy', 'gamma'], /Domain 'gamma' destroyed/)), [
    'DOMAIN_LOOKUP_BY_NAME',
    'DOMAIN_DESTROY',
  ]);
  assert.equal(tail(await step(['shutdown', 'gamma'], /error: domain is not running/, 1)), [
    'DOMAIN_LOOKUP_BY_NAME',
    'DOMAIN_SHUTDOWN',
  ]);
  assert.equal(tail(await step(['undefine', 'gamma'], /Domain 'gamma' has been undefined/)), [
    'DOMAIN_LOOKUP_BY_NAME',
    'DOMAIN_IS_ACTIVE',
    'DOMAIN_HAS_MANAGED_SAVE_IMAGE',
    'DOMAIN_SNAPSHOT_NUM',
    'DOMAIN_UNDEFINE_FLAGS',
  ]);
  assert.equal(tail(await step(['create', file], /Domain 'gamma' created/)), ['DOMAIN_CREATE_XML']);
  assert.equal(tail(await step(['shutdown', 'gamma'], /is being shutdown/)), [
    'DOMAIN_LOOKUP_BY_NAME',
    'DOMAIN_SHUTDOWN',
  ]);
  assert.equal(tail(await step(['undefine', 'gamma'], /undefined/)), [
    'DOMAIN_LOOKUP_BY_NAME',
    'DOMAIN_IS_ACTIVE',
    'DOMAIN_HAS_MANAGED_SAVE_IMAGE',
    'DOMAIN_SNAPSHOT_NUM',
    'DOMAIN_UNDEFINE_FLAGS',
  ]);
});

test('libvirt-python: the connection and domain calls; an unsupported call, then the connection goes on', async () => {
  if (!needPython()) return;
  const script = `
conn = libvirt.open(URI)
print(sorted(d.name() for d in conn.listAllDomains(0)))
d = conn.lookupByName('alpha')
print(d.ID(), d.UUIDString(), d.info(), d.state(), d.isActive())
print(conn.lookupByUUIDString(${JSON.stringify(BETA)}).name(), conn.lookupByID(1).name())
print(conn.getInfo(), conn.getVersion(), conn.getLibVersion(), conn.getHostname(), conn.getURI())
try:
    d.suspend()
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), e.get_error_message())
print(conn.getHostname())
conn.close()
`;
  const r = await python(path, script);
  assert.is(r.code, 0, r.stderr);
  assert.is(
    r.stdout,
    [
      "['alpha', 'beta']",
      `1 ${ALPHA} [1, 262144, 262144, 2, 0] [1, 1] 1`,
      'beta alpha',
      `['aarch64', 2048, 8, 1000, 1, 1, 8, 1] 1002003 9000000 fake-host ${uriFor(path)}`,
      '3 0 this function is not supported by the connection driver: virDomainSuspend',
      'fake-host',
      '',
    ].join('\n'),
  );
});

test('virsh -k 1: the client PINGs on its keepalive program and the server PONGs', async () => {
  if (!needVirsh()) return;
  const t = await tap(join(work.dir, 'tap.sock'), path);
  const r = await run('/usr/bin/virsh', [
    '-k',
    '1',
    '-K',
    '3',
    '-c',
    uriFor(t.path),
    'event',
    '--loop',
    '--event',
    'lifecycle',
    '--timeout',
    '3',
  ]);
  await t.close();
  assert.match(r.stdout, /events received: 0/);
  const ka = t.frames.filter((f) => f.header.prog === KEEPALIVE_PROGRAM);
  const pings = ka.filter((f) => f.from === 'client' && f.header.proc === 1);
  const pongs = ka.filter((f) => f.from === 'server' && f.header.proc === 2);
  assert.ok(pings.length >= 2, `${pings.length} PINGs in 3 s`);
  assert.is(pongs.length, pings.length);
  assert.ok(ka.every((f) => f.header.type === 2 && f.header.serial === 0 && f.body.length === 0));
});

test('virsh event --loop --all: registrations for every event ID, lifecycle events as they happen', async () => {
  if (!needVirsh()) return;
  const from = events.length;
  const loop = run('/usr/bin/virsh', ['-c', uriFor(path), 'event', '--loop', '--all', '--timeout', '3']);
  await new Promise((r) => setTimeout(r, 1_000));
  await virsh(path, ['start', 'beta']);
  await virsh(path, ['destroy', 'beta']);
  const r = await loop;
  assert.is(
    r.stdout,
    "event 'lifecycle' for domain 'beta': Started Booted\n" +
      "event 'lifecycle' for domain 'beta': Stopped Destroyed\n" +
      'event loop timed out\nevents received: 2\n\n',
  );
  const registered = events
    .slice(from)
    .filter((e) => e.kind === 'call' && e.procedure === 316)
    .map((e) => (e.kind === 'call' ? new DataView(e.body.buffer, e.body.byteOffset).getInt32(0) : -1));
  assert.equal(
    registered,
    Array.from({ length: 27 }, (_, i) => i),
    'virsh 9.0 registers event IDs 0..26',
  );
});

test('libvirt-python: domainEventRegisterAny with the default event loop', async () => {
  if (!needPython()) return;
  const script = `
import threading, time
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(URI)
got = []
cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                  lambda c, d, e, x, o: got.append((d.name(), e, x)), None)
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
print('ready', flush=True)
time.sleep(2)
conn.domainEventDeregisterAny(cid)
conn.close()
print(got)
`;
  const p = python(path, script, 20_000);
  await new Promise((r) => setTimeout(r, 1_000));
  await virsh(path, ['start', 'beta']);
  await virsh(path, ['destroy', 'beta']);
  const r = await p;
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "ready\n[('beta', 2, 0), ('beta', 5, 1)]\n");
});

test('console: libvirt-python over a stream, and virsh console on a pty', async () => {
  if (!needPython()) return;
  await virsh(path, ['start', 'beta']);
  const script = `
conn = libvirt.open(URI)
st = conn.newStream(0)
conn.lookupByName('beta').openConsole(None, st, 0)
print(st.recv(1024))
st.send(b'ping')
print(st.recv(1024))
st.finish()
conn.close()
`;
  const r = await python(path, script);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "b'console of beta\\r\\n'\nb'ping'\n");

  if (!existsSync('/usr/bin/script')) {
    await virsh(path, ['destroy', 'beta']);
    return skip('virsh console: /usr/bin/script (util-linux) missing to give virsh a pty');
  }
  const t = await tap(join(work.dir, 'console.sock'), path);
  // Type "hello", then Ctrl+] to leave.
  const command = `virsh -c '${uriFor(t.path)}' console beta`;
  const shell = `(sleep 1; printf hello; sleep 1; printf '\\035'; sleep 1) | script -qc "${command}" /dev/null`;
  const v = await run('/bin/sh', ['-c', shell], { timeoutMs: 20_000 });
  await t.close();
  await virsh(path, ['destroy', 'beta']);
  assert.match(v.stdout, /Connected to domain 'beta'/);
  assert.match(v.stdout, /console of beta/);
  assert.match(v.stdout, /hello/);
  const stream = t.frames.filter((f) => f.header.prog === REMOTE_PROGRAM && f.header.type === VIR_NET_STREAM);
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  assert.equal(
    stream.map((f) => `${f.from} ${f.header.status} ${text(f.body)}`),
    ['server 2 console of beta\r\n', 'client 2 hello', 'server 2 hello', 'client 0 ', 'server 0 '],
  );
});

test.run();
