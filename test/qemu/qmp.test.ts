// The QMP client against a fake QMP server on a unix socket: greeting, negotiation, ids, errors,
// events between answers, split and merged lines, timeouts and a closing peer. (A fake proves the
// client speaks the protocol; the QEMU runs in this folder prove the backend.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient, QmpError } from '../../src/backends/qemu/qmp.js';

const dir = mkdtempSync(join(tmpdir(), 'vman-qmp-'));
let n = 0;

type Handler = (msg: Record<string, unknown>, send: (o: unknown) => void, sock: Socket) => void;

interface Fake {
  readonly path: string;
  readonly received: Record<string, unknown>[];
  readonly server: Server;
  close(): Promise<void>;
}

const GREETING = {
  QMP: {
    version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7+deb12u18' },
    capabilities: ['oob'],
  },
};

/**
 * A QMP server that greets (unless told not to), insists on qmp_capabilities first, and hands other
 * commands to `handle`.
 */
async function fake(handle: Handler, o: { greet?: boolean } = {}): Promise<Fake> {
  const path = join(dir, `qmp-${n++}.sock`);
  const received: Record<string, unknown>[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const send = (obj: unknown) => sock.write(`${JSON.stringify(obj)}\r\n`);
    if (o.greet !== false) send(GREETING);
    let negotiated = false;
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
        received.push(msg);
        if (!negotiated) {
          if (msg.execute === 'qmp_capabilities') {
            negotiated = true;
            send({ return: {}, id: msg.id });
          } else
            send({
              error: { class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" },
              id: msg.id,
            });
          continue;
        }
        handle(msg, send, sock);
      }
    });
  });
  await new Promise<void>((res) => server.listen(path, res));
  return {
    path,
    received,
    server,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((res) => server.close(() => res()));
    },
  };
}

test('connect reads the greeting, negotiates capabilities first, then commands return their values by id', async () => {
  const f = await fake((msg, send) => {
    if (msg.execute === 'query-status')
      send({ return: { status: 'prelaunch', singlestep: false, running: false }, id: msg.id });
  });
  const c = await QmpClient.connect(f.path);
  assert.equal(c.greeting.version?.qemu, { micro: 22, minor: 2, major: 7 });
  const status = await c.execute<{ status: string; running: boolean }>('query-status');
  assert.equal(status, { status: 'prelaunch', singlestep: false, running: false });
  assert.equal(
    f.received.map((m) => m.execute),
    ['qmp_capabilities', 'query-status'],
  );
  assert.ok(
    typeof f.received[1]?.id === 'string' && f.received[1]?.id !== f.received[0]?.id,
    'each command carries its own id',
  );
  assert.is('arguments' in (f.received[1] ?? {}), false, 'no arguments key when there are none');
  c.close();
  await f.close();
});

test('arguments are sent; an error answer rejects with its class and description', async () => {
  const f = await fake((msg, send) => {
    if (msg.execute === 'human-monitor-command')
      send({ return: `0000000040100080: 0x${'0'.repeat(16)}\r\n`, id: msg.id });
    else
      send({
        error: { class: 'CommandNotFound', desc: `The command ${String(msg.execute)} has not been found` },
        id: msg.id,
      });
  });
  const c = await QmpClient.connect(f.path);
  const out = await c.execute<string>('human-monitor-command', { 'command-line': 'xp /1xg 0x40100080' });
  assert.is(out, '0000000040100080: 0x0000000000000000\r\n');
  assert.equal(f.received[1]?.arguments, { 'command-line': 'xp /1xg 0x40100080' });
  try {
    await c.execute('no-such-command');
    assert.unreachable('should reject');
  } catch (err) {
    assert.instance(err, QmpError);
    const e = err as QmpError;
    assert.is(e.errorClass, 'CommandNotFound');
    assert.is(e.timedOut, false);
    assert.is(e.closed, false);
    assert.is(e.message, 'QMP no-such-command failed: The command no-such-command has not been found');
  }
  c.close();
  await f.close();
});

test('answers out of order are matched by id; events between them reach listeners and waitEvent', async () => {
  const held: { id: unknown }[] = [];
  const f = await fake((msg, send) => {
    held.push({ id: msg.id });
    if (held.length === 2) {
      // Answer the second first, with an event in between, all in one write.
      const [a, b] = held;
      const lines = [
        { return: { second: true }, id: b?.id },
        { event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } },
        {
          event: 'SHUTDOWN',
          data: { guest: true, reason: 'guest-shutdown' },
          timestamp: { seconds: 1, microseconds: 3 },
        },
        { return: { first: true }, id: a?.id },
      ];
      send(lines[0]);
      send(lines[1]);
      send(lines[2]);
      send(lines[3]);
    }
  });
  const c = await QmpClient.connect(f.path);
  const events: string[] = [];
  const off = c.onEvent((e) => events.push(e.event));
  const shutdown = c.waitEvent('SHUTDOWN', 2_000, (e) => e.data?.guest === true);
  const [first, second] = await Promise.all([c.execute('one'), c.execute('two')]);
  assert.equal(first, { first: true });
  assert.equal(second, { second: true });
  const e = await shutdown;
  assert.equal(e.data, { guest: true, reason: 'guest-shutdown' });
  assert.equal(e.timestamp, { seconds: 1, microseconds: 3 });
  assert.equal(events, ['STOP', 'SHUTDOWN']);
  off();
  c.close();
  await f.close();
});

test('a message split across writes, and several in one write, are both parsed', async () => {
  const f = await fake((msg, send, sock) => {
    const text =
      `${JSON.stringify({ event: 'RESUME', timestamp: { seconds: 5, microseconds: 0 } })}\n` +
      `${JSON.stringify({ return: { status: 'running' }, id: msg.id })}\n`;
    const cut = Math.floor(text.length / 3);
    sock.write(text.slice(0, cut));
    setTimeout(() => sock.write(text.slice(cut)), 30);
    void send;
  });
  const c = await QmpClient.connect(f.path);
  const resume = c.waitEvent('RESUME', 1_000);
  assert.equal(await c.execute('query-status'), { status: 'running' });
  assert.is((await resume).event, 'RESUME');
  c.close();
  await f.close();
});

test('a command without an answer times out (timedOut set); the connection stays usable', async () => {
  const f = await fake((msg, send) => {
    if (msg.execute === 'query-status') send({ return: { status: 'running' }, id: msg.id });
  });
  const c = await QmpClient.connect(f.path);
  const t0 = Date.now();
  try {
    await c.execute('cont', undefined, { timeoutMs: 150 });
    assert.unreachable('should time out');
  } catch (err) {
    assert.instance(err, QmpError);
    assert.is((err as QmpError).timedOut, true);
    assert.is((err as QmpError).message, 'QMP command cont got no answer within 150 ms');
  }
  assert.ok(Date.now() - t0 >= 140);
  assert.equal(await c.execute('query-status'), { status: 'running' });
  c.close();
  await f.close();
});

test('a server that never greets fails connect within the timeout', async () => {
  const f = await fake(() => undefined, { greet: false });
  const t0 = Date.now();
  try {
    await QmpClient.connect(f.path, { timeoutMs: 200 });
    assert.unreachable('should fail');
  } catch (err) {
    assert.instance(err, QmpError);
    assert.is((err as QmpError).timedOut, true);
    assert.match((err as QmpError).message, /did not greet within 200 ms/);
  }
  assert.ok(Date.now() - t0 < 2_000);
  await f.close();
});

test('no socket: connect fails with closed set; peer closing fails pending commands and settles `closed`', async () => {
  try {
    await QmpClient.connect(join(dir, 'absent.sock'), { timeoutMs: 500 });
    assert.unreachable('should fail');
  } catch (err) {
    assert.instance(err, QmpError);
    assert.is((err as QmpError).closed, true);
    assert.match((err as QmpError).message, /cannot connect to QMP socket .*absent\.sock: .*ENOENT/);
  }
  // `quit`: QEMU answers, emits SHUTDOWN, then closes the socket as it exits.
  const f = await fake((msg, send, sock) => {
    if (msg.execute === 'quit') {
      send({ return: {}, id: msg.id });
      send({
        event: 'SHUTDOWN',
        data: { guest: false, reason: 'host-qmp-quit' },
        timestamp: { seconds: 9, microseconds: 9 },
      });
      sock.end();
    }
  });
  const c = await QmpClient.connect(f.path);
  const ev = c.waitEvent('SHUTDOWN', 1_000);
  assert.equal(await c.execute('quit'), {});
  assert.equal((await ev).data, { guest: false, reason: 'host-qmp-quit' });
  await c.closed;
  try {
    await c.execute('query-status');
    assert.unreachable('closed');
  } catch (err) {
    assert.is((err as QmpError).closed, true);
  }
  try {
    await c.waitEvent('STOP', 1_000);
    assert.unreachable('closed');
  } catch (err) {
    assert.is((err as QmpError).closed, true);
  }
  await f.close();

  const g = await fake((msg, _send, sock) => {
    if (msg.execute === 'stop') sock.destroy();
  });
  const d = await QmpClient.connect(g.path);
  try {
    await d.execute('stop');
    assert.unreachable('peer closed');
  } catch (err) {
    assert.is((err as QmpError).closed, true);
    assert.match((err as QmpError).message, /^QMP stop got no answer: QMP connection closed/);
  }
  await g.close();
});

test('capabilities are negotiated before anything else, even when the first call comes at once', async () => {
  const f = await fake((msg, send) => send({ return: { ok: msg.execute }, id: msg.id }));
  const clients = await Promise.all([QmpClient.connect(f.path), QmpClient.connect(f.path)]);
  assert.equal(await clients[0]?.execute('a'), { ok: 'a' });
  assert.equal(await clients[1]?.execute('b'), { ok: 'b' });
  const order = f.received.map((m) => m.execute);
  assert.is(order.filter((x) => x === 'qmp_capabilities').length, 2);
  for (const c of clients) c?.close();
  await f.close();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
