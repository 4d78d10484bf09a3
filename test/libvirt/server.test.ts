// The RPC server against raw clients: what stock clients never send (garbage, oversized and
// partial messages, other versions), keepalive, limits, streams, the socket's mode and life.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  LibvirtError,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_SUPPORT,
  VIR_ERR_OPERATION_INVALID,
  VIR_ERR_RPC,
  VIR_FROM_DOMAIN,
  VIR_FROM_NONE,
  VIR_FROM_RPC,
} from '../../src/libvirt/errors.js';
import {
  connectGetHostname,
  connectSupportsFeature,
  domainLookupByName,
  domainOpenConsole,
  REMOTE_PROC_CONNECT_GET_HOSTNAME,
  REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
  REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME,
  REMOTE_PROC_DOMAIN_OPEN_CONSOLE,
  xdrDomain,
} from '../../src/libvirt/procedures.js';
import { XdrWriter } from '../../src/libvirt/xdr.js';
import {
  decodeRemoteError,
  encodeMessage,
  KEEPALIVE_PROGRAM,
  REMOTE_PROGRAM,
  VIR_NET_ERROR,
  VIR_NET_MESSAGE,
  VIR_NET_OK,
  VIR_NET_REPLY,
  VIR_NET_STREAM,
} from '../../src/libvirt/rpc.js';
import {
  type Call,
  type Client,
  type Dispatcher,
  type LibvirtServer,
  parseListenAddress,
  type ServerEvent,
  type ServerOptions,
  ServerSetupError,
  startLibvirtServer,
  type Stream,
} from '../../src/libvirt/server.js';
import { FakeDispatcher } from './fake-dispatcher.js';
import { fromHex, hex, RawClient, SYSTEM_PYTHON, tempDir } from './support.js';

/** REMOTE_PROC_DOMAIN_SUSPEND: a procedure the fake driver does not implement. */
const DOMAIN_SUSPEND = 34;

const work = tempDir('vman-libvirt-server-');
let n = 0;
const sockPath = (): string => join(work.dir, `s${n++}.sock`);

interface Running {
  server: LibvirtServer;
  path: string;
  events: ServerEvent[];
  fake: FakeDispatcher;
}

async function serve(options: Partial<ServerOptions> = {}, dispatcher?: Dispatcher): Promise<Running> {
  const path = sockPath();
  const events: ServerEvent[] = [];
  const fake = new FakeDispatcher([{ name: 'alpha', uuid: '11111111-2222-3333-4444-555555555555', active: true }]);
  const server = await startLibvirtServer({
    listen: path,
    dispatcher: dispatcher ?? fake,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { server, path, events, fake };
}

/** The hostname call works on a fresh connection: the server is alive and well. */
async function healthy(path: string): Promise<void> {
  const c = await RawClient.open(path);
  const s = c.call(REMOTE_PROC_CONNECT_GET_HOSTNAME);
  const r = await c.reply(s);
  assert.is(r.header.status, VIR_NET_OK);
  assert.equal(connectGetHostname.decodeRet(r.body), { hostname: 'fake-host' });
  c.close();
}

const disconnects = (events: ServerEvent[]): string[] =>
  events.flatMap((e) => (e.kind === 'disconnected' ? [e.reason] : []));

async function until(f: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test.after(() => work.remove());

test('the unix socket is created 0600, and removed by close()', async () => {
  const { server, path } = await serve();
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.ok(statSync(path).isSocket());
  assert.equal(server.address, { kind: 'unix', path });
  await healthy(path);
  await server.close();
  assert.not.ok(existsSync(path));
});

test('a group makes the socket 0660 and owned by that group (named in the group file, or numeric)', async () => {
  const gid = process.getgid!();
  const groupFile = join(work.dir, 'group');
  writeFileSync(groupFile, `root:x:0:\nvmanusers:x:${gid}:alice,bob\n`);
  const a = await serve({ group: 'vmanusers', groupFile });
  assert.is(statSync(a.path).mode & 0o777, 0o660);
  assert.is(statSync(a.path).gid, gid);
  await a.server.close();
  const b = await serve({ group: String(gid) });
  assert.is(statSync(b.path).mode & 0o777, 0o660);
  await b.server.close();
  try {
    await serve({ group: 'nosuchgroup', groupFile });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ServerSetupError);
    assert.is((e as ServerSetupError).code, 'unknown-group');
    assert.is((e as Error).message, `Cannot make the socket group-accessible: no group "nosuchgroup" in ${groupFile}`);
  }
});

test('a stale socket of a dead server is replaced; a live one is refused; a regular file is left alone', async () => {
  const stale = sockPath();
  // A socket file nobody listens on: bound by a process that exited without removing it.
  execFileSync(SYSTEM_PYTHON, ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
  assert.ok(statSync(stale).isSocket());
  const s = await startLibvirtServer({ listen: stale, dispatcher: new FakeDispatcher() });
  await healthy(stale);
  await s.close();

  const live = sockPath();
  const other = createServer(() => undefined);
  await new Promise<void>((r) => other.listen(live, r));
  try {
    await startLibvirtServer({ listen: live, dispatcher: new FakeDispatcher() });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ServerSetupError).code, 'in-use');
    assert.is((e as Error).message, `Cannot listen on ${live}: another server is listening there`);
  }
  await new Promise<void>((r) => other.close(() => r()));

  const file = sockPath();
  writeFileSync(file, 'not a socket');
  try {
    await startLibvirtServer({ listen: file, dispatcher: new FakeDispatcher() });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ServerSetupError).code, 'not-a-socket');
  }
  assert.ok(statSync(file).isFile());

  const nowhere = join(work.dir, 'no-such-dir', 'x.sock');
  try {
    await startLibvirtServer({ listen: nowhere, dispatcher: new FakeDispatcher() });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ServerSetupError).code, 'listen-failed');
    assert.is((e as Error).message, `Cannot listen on ${nowhere}: no directory ${join(work.dir, 'no-such-dir')}`);
  }
});

test('listen addresses: unix paths, tcp on loopback only', async () => {
  assert.equal(parseListenAddress('/run/libvirt/virtvmand-sock'), {
    kind: 'unix',
    path: '/run/libvirt/virtvmand-sock',
  });
  assert.equal(parseListenAddress('unix:///tmp/x.sock'), { kind: 'unix', path: '/tmp/x.sock' });
  assert.equal(parseListenAddress('tcp://127.0.0.1:16509'), { kind: 'tcp', host: '127.0.0.1', port: 16509 });
  assert.equal(parseListenAddress('tcp://[::1]:0'), { kind: 'tcp', host: '::1', port: 0 });
  const refuse = (spec: string, code: string, message?: string): void => {
    try {
      parseListenAddress(spec);
      assert.unreachable(spec);
    } catch (e) {
      assert.instance(e, ServerSetupError);
      assert.is((e as ServerSetupError).code, code, spec);
      if (message !== undefined) assert.is((e as Error).message, message);
    }
  };
  refuse(
    'tcp://0.0.0.0:16509',
    'not-loopback',
    'Cannot listen on "tcp://0.0.0.0:16509": TCP is served on loopback only (127.0.0.1 or [::1]); ' +
      'remote orchestrators connect over SSH (vman+ssh://host/system?socket=PATH)',
  );
  refuse('tcp://10.0.0.1:1', 'not-loopback');
  refuse('tcp://localhost:1', 'not-loopback');
  refuse('tcp://[::]:1', 'not-loopback');
  refuse('tcp://127.0.0.1', 'bad-address', 'Cannot listen on "tcp://127.0.0.1": no port');
  refuse('tcp://127.0.0.1:1/path', 'bad-address');
  refuse('http://127.0.0.1:1', 'bad-address');

  const s = await startLibvirtServer({ listen: 'tcp://127.0.0.1:0', dispatcher: new FakeDispatcher() });
  assert.is(s.address.kind, 'tcp');
  const port = s.address.kind === 'tcp' ? s.address.port : 0;
  assert.ok(port > 0);
  const c = await RawClient.open({ host: '127.0.0.1', port });
  const r = await c.reply(c.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
  assert.equal(connectGetHostname.decodeRet(r.body), { hostname: 'fake-host' });
  c.close();
  await s.close();
});

test('an unknown procedure answers VIR_ERR_NO_SUPPORT, and the next call on the connection works', async () => {
  const { server, path } = await serve();
  const c = await RawClient.open(path);
  const w = new XdrWriter();
  xdrDomain.write(w, { name: 'alpha', uuid: new Uint8Array(16), id: 1 });
  const s1 = c.call(DOMAIN_SUSPEND, w.finish());
  const r1 = await c.reply(s1);
  assert.is(r1.header.status, VIR_NET_ERROR);
  assert.is(r1.header.proc, DOMAIN_SUSPEND);
  const err = decodeRemoteError(r1.body);
  assert.is(err.code, VIR_ERR_NO_SUPPORT);
  assert.is(err.domain, VIR_FROM_NONE);
  assert.is(err.message, 'this function is not supported by the connection driver: virDomainSuspend');
  const s2 = c.call(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, domainLookupByName.encodeArgs({ name: 'alpha' }));
  const r2 = await c.reply(s2);
  assert.is(r2.header.status, VIR_NET_OK);
  assert.is(domainLookupByName.decodeRet(r2.body).dom.id, 1);
  // An unknown program, and a procedure number nobody knows.
  const s3 = c.call(7, new Uint8Array(0), { prog: 0x12345678 });
  const e3 = decodeRemoteError((await c.reply(s3)).body);
  assert.is(e3.code, VIR_ERR_NO_SUPPORT);
  assert.is(e3.domain, VIR_FROM_RPC);
  assert.is(e3.message, 'this function is not supported by the connection driver: program 0x12345678 version 1');
  const e4 = decodeRemoteError((await c.reply(c.call(100000))).body);
  assert.is(e4.message, 'this function is not supported by the connection driver: remote procedure 100000');
  await c.reply(c.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
  c.close();
  await server.close();
});

test('the server answers AUTH_LIST (none) and the keepalive feature; other features go to the dispatcher', async () => {
  const { server, path, fake, events } = await serve();
  const c = await RawClient.open(path);
  const auth = await c.reply(c.call(66));
  assert.is(hex(auth.body), '0000000100000000');
  const ka = await c.reply(
    c.call(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, connectSupportsFeature.encodeArgs({ feature: 10 })),
  );
  assert.equal(connectSupportsFeature.decodeRet(ka.body), { supported: 1 });
  const cb = await c.reply(
    c.call(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, connectSupportsFeature.encodeArgs({ feature: 14 })),
  );
  assert.equal(connectSupportsFeature.decodeRet(cb.body), { supported: 1 });
  assert.equal(fake.procedures(), [REMOTE_PROC_CONNECT_SUPPORTS_FEATURE]);
  assert.ok(events.some((e) => e.kind === 'keepalive-started'));
  assert.equal(
    events.flatMap((e) => (e.kind === 'call' ? [e.procedure] : [])),
    [66, 60, 60],
  );
  c.close();
  await server.close();
});

test('keepalive: a PING gets a PONG at any time', async () => {
  const { server, path } = await serve();
  const c = await RawClient.open(path);
  c.write(encodeMessage({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 1, type: VIR_NET_MESSAGE, serial: 0, status: 0 }));
  const pong = await c.next((m) => m.header.prog === KEEPALIVE_PROGRAM);
  assert.equal(pong.header, { prog: KEEPALIVE_PROGRAM, vers: 1, proc: 2, type: VIR_NET_MESSAGE, serial: 0, status: 0 });
  assert.is(pong.body.length, 0);
  // A PONG, or an unknown keepalive procedure, is not answered.
  c.write(encodeMessage({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 2, type: VIR_NET_MESSAGE, serial: 0, status: 0 }));
  c.write(encodeMessage({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 9, type: VIR_NET_MESSAGE, serial: 0, status: 0 }));
  await c.reply(c.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
  assert.is(c.messages.length, 0);
  c.close();
  await server.close();
});

test('keepalive: once asked for, the server PINGs a silent client, drops it after keepaliveCount PINGs', async () => {
  const { server, path, events } = await serve({ keepaliveIntervalMs: 100, keepaliveCount: 2 });
  const silent = await RawClient.open(path);
  await silent.reply(
    silent.call(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, connectSupportsFeature.encodeArgs({ feature: 10 })),
  );
  const answering = await RawClient.open(path);
  await answering.reply(
    answering.call(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, connectSupportsFeature.encodeArgs({ feature: 10 })),
  );
  const pongs = setInterval(() => {
    for (const m of answering.messages.splice(0)) {
      if (m.header.prog === KEEPALIVE_PROGRAM && m.header.proc === 1) {
        answering.write(encodeMessage({ ...m.header, proc: 2 }));
      }
    }
  }, 20);
  const started = Date.now();
  await silent.waitClosed(3_000);
  const took = Date.now() - started;
  // Two PINGs 100 ms apart after 100 ms of silence, then 100 ms more: about 300 ms.
  assert.ok(took >= 200 && took < 2_000, `dropped after ${took} ms`);
  const pings = silent.messages.filter((m) => m.header.prog === KEEPALIVE_PROGRAM && m.header.proc === 1);
  assert.is(pings.length, 2);
  await until(() => disconnects(events).includes('keepalive-timeout'));
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(pongs);
  assert.not.ok(answering.closed, 'a client answering PINGs stays connected');
  await answering.reply(answering.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
  answering.close();
  await server.close();
});

test('oversized, garbage, malformed and other-version messages close their own connection only', async () => {
  const { server, path, events } = await serve({ maxMessage: 4096 });
  const bystander = await RawClient.open(path);
  const cases: [string, Uint8Array, string][] = [
    ['a length over the limit', fromHex('00001005 20008086'), 'oversized'],
    ['16 MiB + 1', fromHex('01000005'), 'oversized'],
    ['a length below the header', fromHex('00000010 00000000 00000000 00000000'), 'protocol-error'],
    // "GET " read as a length word is 1 195 725 856.
    ['text', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'oversized'],
    [
      'an undeclared message type',
      fromHex('0000001c 20008086 00000001 0000003b 00000009 00000000 00000000'),
      'protocol-error',
    ],
    [
      'a REPLY from a client',
      fromHex('0000001c 20008086 00000001 0000003b 00000001 00000000 00000000'),
      'protocol-error',
    ],
  ];
  for (const [i, [what, bytes, reason]] of cases.entries()) {
    const c = await RawClient.open(path);
    c.write(bytes);
    await c.waitClosed();
    await until(() => disconnects(events).length === i + 1);
    assert.is(disconnects(events).at(-1), reason, what);
    await bystander.reply(bystander.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
  }
  // Another protocol version: an error reply saying so, then the connection closes.
  const v2 = await RawClient.open(path);
  const s = v2.call(REMOTE_PROC_CONNECT_GET_HOSTNAME, new Uint8Array(0), { vers: 2 });
  const r = await v2.reply(s);
  const err = decodeRemoteError(r.body);
  assert.is(err.code, VIR_ERR_RPC);
  assert.is(err.message, 'version mismatch (actual 2, expected 1)');
  await v2.waitClosed();
  await until(() => disconnects(events).length === cases.length + 1);
  assert.is(disconnects(events).at(-1), 'version-mismatch');
  await bystander.reply(bystander.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
  bystander.close();
  await healthy(path);
  await server.close();
});

test('a client sending part of a message then stalling is dropped after messageTimeoutMs', async () => {
  const { server, path, events } = await serve({ messageTimeoutMs: 200 });
  const slow = await RawClient.open(path);
  const frame = encodeMessage(
    { prog: REMOTE_PROGRAM, vers: 1, proc: REMOTE_PROC_CONNECT_GET_HOSTNAME, type: 0, serial: 0, status: 0 },
    new Uint8Array(0),
  );
  await slow.reply(slow.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
  slow.write(frame.subarray(0, 10));
  await healthy(path);
  const started = Date.now();
  await slow.waitClosed();
  assert.ok(Date.now() - started < 1_000);
  await until(() => disconnects(events).includes('stalled'));
  // Byte by byte but in time: fine.
  const trickle = await RawClient.open(path);
  for (const b of frame) {
    trickle.write(new Uint8Array([b]));
    await new Promise((r) => setTimeout(r, 2));
  }
  await trickle.reply(0);
  trickle.close();
  // Connected, and nothing sent at all.
  const mute = await RawClient.open(path);
  await mute.waitClosed();
  await until(() => disconnects(events).filter((r) => r === 'stalled').length === 2);
  // Half a message, then gone.
  const quitter = await RawClient.open(path);
  quitter.write(frame.subarray(0, 20));
  quitter.close();
  await until(() => disconnects(events).length === 5);
  assert.equal(
    events.flatMap((e) => (e.kind === 'disconnected' && e.reason === 'stalled' ? [e.detail] : [])),
    ['incomplete message for 200 ms', 'no message for 200 ms'],
  );
  await healthy(path);
  await server.close();
});

test('a dispatcher throwing a non-LibvirtError answers VIR_ERR_INTERNAL_ERROR and is reported', async () => {
  const boom: Dispatcher = {
    dispatch: (call) => {
      if (call.procedure === 1) throw new TypeError('sync boom');
      if (call.procedure === 2) return Promise.reject(new Error('async boom'));
      if (call.procedure === 3) return Promise.resolve('not bytes' as unknown as Uint8Array);
      if (call.procedure === 4) return Promise.resolve(domainLookupByName.decodeArgs(call.body) as never);
      if (call.procedure === 5) {
        return Promise.reject(new LibvirtError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is not running'));
      }
      return Promise.resolve(connectGetHostname.encodeRet({ hostname: 'ok' }));
    },
  };
  const { server, path, events } = await serve({}, boom);
  const c = await RawClient.open(path);
  const expect = async (
    proc: number,
    body: Uint8Array,
    code: number,
    domain: number,
    message: string,
  ): Promise<void> => {
    const r = await c.reply(c.call(proc, body));
    assert.is(r.header.status, VIR_NET_ERROR);
    const e = decodeRemoteError(r.body);
    assert.equal([e.code, e.domain, e.message], [code, domain, message]);
  };
  await expect(1, new Uint8Array(0), VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'internal error: sync boom');
  await expect(2, new Uint8Array(0), VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, 'internal error: async boom');
  await expect(
    3,
    new Uint8Array(0),
    VIR_ERR_INTERNAL_ERROR,
    VIR_FROM_NONE,
    'internal error: the dispatcher resolved with something other than bytes',
  );
  await expect(
    4,
    fromHex('00000010 6162'),
    VIR_ERR_RPC,
    VIR_FROM_RPC,
    'Unable to decode arguments of virConnectGetVersion: Cannot decode XDR at byte 32: string needs 16 bytes, 2 left',
  );
  await expect(5, new Uint8Array(0), VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'domain is not running');
  const ok = await c.reply(c.call(59));
  assert.equal(connectGetHostname.decodeRet(ok.body), { hostname: 'ok' });
  const failures = events.filter((e) => e.kind === 'dispatch-failed');
  assert.is(failures.length, 3);
  c.close();
  await server.close();
});

test('calls of one client are answered in order, whatever order the dispatcher finishes in', async () => {
  const order: number[] = [];
  const slowFirst: Dispatcher = {
    dispatch: async (call) => {
      if (call.serial === 0) await new Promise((r) => setTimeout(r, 100));
      order.push(call.serial);
      return connectGetHostname.encodeRet({ hostname: `h${call.serial}` });
    },
  };
  const { server, path } = await serve({ maxClientRequests: 2 }, slowFirst);
  const c = await RawClient.open(path);
  for (let i = 0; i < 8; i++) c.call(59);
  await c.reply(7);
  const replies = c.messages.filter((m) => m.header.type === VIR_NET_REPLY);
  assert.equal(order, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.is(replies.length, 7, 'the other seven, all answered');
  c.close();
  await server.close();
});

test('while the server is not reading a client (queue full), stall and keepalive timers stop', async () => {
  const slow: Dispatcher = {
    dispatch: async () => {
      await new Promise((r) => setTimeout(r, 300));
      return connectGetHostname.encodeRet({ hostname: 'slow' });
    },
  };
  const { server, path, events } = await serve(
    { maxClientRequests: 1, messageTimeoutMs: 200, keepaliveIntervalMs: 100, keepaliveCount: 1 },
    slow,
  );
  const c = await RawClient.open(path);
  await c.reply(c.call(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, connectSupportsFeature.encodeArgs({ feature: 10 })));
  const frame = (serial: number): Uint8Array =>
    encodeMessage({ prog: REMOTE_PROGRAM, vers: 1, proc: 59, type: 0, serial, status: 0 }, new Uint8Array(0));
  // Three calls and the start of a fourth in one write: the server reads them all, then pauses.
  c.write(new Uint8Array([...frame(11), ...frame(12), ...frame(13), ...frame(14).subarray(0, 9)]));
  // Each answer takes 300 ms, longer than the stall timeout (200 ms) and the keepalive window (200 ms).
  await c.reply(11, 2_000);
  await c.reply(12, 2_000);
  assert.is(c.all.filter((m) => m.header.prog === KEEPALIVE_PROGRAM).length, 0, 'no PING while paused');
  // Reading again, the partial fourth call does count, and ends the connection.
  await c.waitClosed(3_000);
  await until(() => disconnects(events).length === 1);
  assert.ok(['stalled', 'keepalive-timeout'].includes(disconnects(events)[0]!));
  await server.close();
});

test('at most maxClients connections; the next one is closed at once and reported', async () => {
  const { server, path, events } = await serve({ maxClients: 2 });
  const a = await RawClient.open(path);
  const b = await RawClient.open(path);
  await until(() => server.connections === 2);
  const c = await RawClient.open(path);
  await c.waitClosed();
  assert.ok(events.some((e) => e.kind === 'refused' && e.reason === 'too-many-connections'));
  await a.reply(a.call(59));
  a.close();
  await until(() => server.connections === 1);
  await healthy(path);
  b.close();
  await server.close();
});

test('100 concurrent connections, each doing calls', async () => {
  const { server, path, events } = await serve();
  const clients = await Promise.all(Array.from({ length: 100 }, () => RawClient.open(path)));
  await until(() => server.connections === 100);
  const names = await Promise.all(
    clients.map(async (c) => {
      const look = await c.reply(
        c.call(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, domainLookupByName.encodeArgs({ name: 'alpha' })),
      );
      const host = await c.reply(c.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
      return `${domainLookupByName.decodeRet(look.body).dom.name}@${connectGetHostname.decodeRet(host.body).hostname}`;
    }),
  );
  assert.equal(names, Array(100).fill('alpha@fake-host'));
  for (const c of clients) c.close();
  await until(() => server.connections === 0);
  assert.is(disconnects(events).length, 100);
  assert.ok(disconnects(events).every((r) => r === 'client-closed'));
  await server.close();
});

test('events reach the client as MESSAGEs of the remote program; a client that never reads is dropped', async () => {
  let client: Client | undefined;
  const d: Dispatcher = {
    dispatch: async (_call, c) => {
      client = c;
      return new Uint8Array(0);
    },
  };
  const { server, path, events } = await serve({ maxOutputBytes: 1 << 20 }, d);
  const c = await RawClient.open(path);
  await c.reply(c.call(59));
  client!.event(318, fromHex('00000001'));
  const m = await c.next((x) => x.header.type === VIR_NET_MESSAGE);
  assert.equal(m.header, {
    prog: REMOTE_PROGRAM,
    vers: 1,
    proc: 318,
    type: VIR_NET_MESSAGE,
    serial: 0,
    status: VIR_NET_OK,
  });
  assert.is(hex(m.body), '00000001');
  c.socket.pause();
  const big = new Uint8Array(64 * 1024);
  for (let i = 0; i < 256 && !c.closed; i++) client!.event(318, big);
  await until(() => disconnects(events).includes('output-overflow'));
  const other = await RawClient.open(path);
  assert.is((await other.reply(other.call(59))).header.status, VIR_NET_OK);
  other.close();
  await server.close();
});

test('close() ends every connection and the dispatcher hears of each', async () => {
  const closed: number[] = [];
  const fake = new FakeDispatcher();
  const d: Dispatcher = {
    dispatch: (call: Call, client: Client) => fake.dispatch(call, client),
    closed: (c) => closed.push(c.id),
  };
  const { server, path, events } = await serve({}, d);
  const a = await RawClient.open(path);
  const b = await RawClient.open(path);
  await until(() => server.connections === 2);
  await server.close();
  await a.waitClosed();
  await b.waitClosed();
  assert.equal(closed.sort(), [1, 2]);
  assert.equal(disconnects(events), ['server-closed', 'server-closed']);
  assert.not.ok(existsSync(path));
});

test('streams: data sent before the reply waits for it; client data, finish and abort reach the sink', async () => {
  const seen: string[] = [];
  let stream: Stream | undefined;
  const d: Dispatcher = {
    dispatch: async (call, client) => {
      if (call.procedure !== REMOTE_PROC_DOMAIN_OPEN_CONSOLE) return new Uint8Array(0);
      domainOpenConsole.decodeArgs(call.body);
      stream = client.openStream(call, {
        data: (b) => seen.push(`data ${new TextDecoder().decode(b)}`),
        finish: () => seen.push('finish'),
        abort: () => seen.push('abort'),
      });
      stream.send(new TextEncoder().encode('boot log\n'));
      return new Uint8Array(0);
    },
  };
  const { server, path } = await serve({}, d);
  const c = await RawClient.open(path);
  const args = domainOpenConsole.encodeArgs({
    dom: { name: 'a', uuid: new Uint8Array(16), id: 1 },
    dev_name: null,
    flags: 0,
  });
  const serial = c.call(REMOTE_PROC_DOMAIN_OPEN_CONSOLE, args);
  const data = await c.next((m) => m.header.type === VIR_NET_STREAM);
  assert.is(new TextDecoder().decode(data.body), 'boot log\n');
  // The reply went out first, then the data held for it.
  assert.equal(
    c.all.map((m) => `${m.header.type}/${m.header.status}`),
    [`${VIR_NET_REPLY}/${VIR_NET_OK}`, `${VIR_NET_STREAM}/2`],
  );
  c.write(
    encodeMessage(
      { prog: REMOTE_PROGRAM, vers: 1, proc: REMOTE_PROC_DOMAIN_OPEN_CONSOLE, type: VIR_NET_STREAM, serial, status: 2 },
      fromHex('6869'),
    ),
  );
  await until(() => seen.length === 1);
  assert.equal(seen, ['data hi']);
  stream!.send(new Uint8Array(300_000));
  const chunks = await Promise.all([
    c.next((m) => m.header.type === VIR_NET_STREAM && m.body.length === 262144),
    c.next((m) => m.header.type === VIR_NET_STREAM && m.body.length === 300_000 - 262144),
  ]);
  assert.is(chunks.length, 2);
  stream!.end();
  const eof = await c.next((m) => m.header.type === VIR_NET_STREAM && m.body.length === 0);
  assert.is(`${eof.header.type}/${eof.header.status}`, `${VIR_NET_STREAM}/2`);
  // The client finishes: the server confirms with an empty OK.
  c.write(
    encodeMessage({
      prog: REMOTE_PROGRAM,
      vers: 1,
      proc: REMOTE_PROC_DOMAIN_OPEN_CONSOLE,
      type: VIR_NET_STREAM,
      serial,
      status: 0,
    }),
  );
  const confirm = await c.next((m) => m.header.type === VIR_NET_STREAM && m.header.status === VIR_NET_OK);
  assert.is(confirm.header.serial, serial);
  assert.equal(seen, ['data hi', 'finish']);
  assert.ok(stream!.closed);
  stream!.send(new Uint8Array(4));
  // Stream data for an unknown stream is ignored; the connection goes on.
  c.write(
    encodeMessage(
      { prog: REMOTE_PROGRAM, vers: 1, proc: REMOTE_PROC_DOMAIN_OPEN_CONSOLE, type: VIR_NET_STREAM, serial, status: 2 },
      fromHex('00'),
    ),
  );
  await c.reply(c.call(59));

  // A second stream: the server fails it; a third: the client aborts it.
  const s2 = c.call(REMOTE_PROC_DOMAIN_OPEN_CONSOLE, args);
  await c.next((m) => m.header.serial === s2 && m.header.type === VIR_NET_STREAM);
  stream!.fail(new LibvirtError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'partition stopped'));
  const failed = await c.next((m) => m.header.serial === s2 && m.header.status === VIR_NET_ERROR);
  assert.is(decodeRemoteError(failed.body).message, 'partition stopped');
  const s3 = c.call(REMOTE_PROC_DOMAIN_OPEN_CONSOLE, args);
  await c.next((m) => m.header.serial === s3 && m.header.type === VIR_NET_STREAM);
  c.write(
    encodeMessage({
      prog: REMOTE_PROGRAM,
      vers: 1,
      proc: REMOTE_PROC_DOMAIN_OPEN_CONSOLE,
      type: VIR_NET_STREAM,
      serial: s3,
      status: VIR_NET_ERROR,
    }),
  );
  await c.next((m) => m.header.serial === s3 && m.header.type === VIR_NET_STREAM && m.header.status === VIR_NET_OK);
  assert.equal(seen.slice(2), ['abort']);
  // A connection closing aborts its open streams.
  const s4 = c.call(REMOTE_PROC_DOMAIN_OPEN_CONSOLE, args);
  await c.next((m) => m.header.serial === s4 && m.header.type === VIR_NET_STREAM);
  c.close();
  await until(() => seen.length === 4);
  assert.equal(seen.slice(3), ['abort']);
  await server.close();
});

test('a stream opened by a call that then fails is discarded: nothing is sent for it', async () => {
  const d: Dispatcher = {
    dispatch: async (call, client) => {
      const s = client.openStream(call, { data: () => undefined, finish: () => undefined, abort: () => undefined });
      s.send(fromHex('01020304'));
      throw new LibvirtError(VIR_ERR_OPERATION_INVALID, VIR_FROM_DOMAIN, 'The domain is not running');
    },
  };
  const { server, path } = await serve({}, d);
  const c = await RawClient.open(path);
  const r = await c.reply(c.call(REMOTE_PROC_DOMAIN_OPEN_CONSOLE));
  assert.is(r.header.status, VIR_NET_ERROR);
  await new Promise((x) => setTimeout(x, 50));
  assert.is(c.messages.length, 0);
  c.close();
  await server.close();
});

test.run();
