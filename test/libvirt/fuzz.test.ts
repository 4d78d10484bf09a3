// A wire fuzzer: random and mutated packets over real sockets. Afterwards the server still answers
// a well-formed call, never crashed, never reported a dispatcher failure or a server error, and
// every connection it accepted was closed (by the client, or by the server for a bad message).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { join } from 'node:path';
import { connectGetHostname, REMOTE_PROC_CONNECT_GET_HOSTNAME } from '../../src/libvirt/procedures.js';
import { VIR_NET_OK } from '../../src/libvirt/rpc.js';
import { type ServerEvent, startLibvirtServer } from '../../src/libvirt/server.js';
import { FakeDispatcher } from './fake-dispatcher.js';
import { packet } from './packets.js';
import { RawClient, tempDir } from './support.js';

test('random and mutated packets over real sockets: the server survives and still answers', async () => {
  const work = tempDir('vman-libvirt-fuzz-');
  const path = join(work.dir, 'fuzz.sock');
  const events: ServerEvent[] = [];
  const fake = new FakeDispatcher([{ name: 'alpha', uuid: '11111111-2222-3333-4444-555555555555', active: true }]);
  const server = await startLibvirtServer({
    listen: path,
    dispatcher: fake,
    messageTimeoutMs: 100,
    onEvent: (e) => events.push(e),
  });
  const started = Date.now();
  let answered = 0;
  let closedByServer = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 4 }), async (packets) => {
      const c = await RawClient.open(path);
      for (const p of packets) c.write(p);
      // Give the server a moment to answer or to close; then leave.
      const deadline = Date.now() + 30;
      while (!c.closed && Date.now() < deadline && c.messages.length === 0) await new Promise((r) => setTimeout(r, 2));
      if (c.messages.length > 0) answered++;
      if (c.closed) closedByServer++;
      c.close();
    }),
    { numRuns: 400, seed: 0x18, endOnFailure: true },
  );
  // Every connection ends (stalled ones within messageTimeoutMs).
  const deadline = Date.now() + 5_000;
  while (server.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(server.connections, 0);
  const c = await RawClient.open(path);
  const r = await c.reply(c.call(REMOTE_PROC_CONNECT_GET_HOSTNAME));
  assert.is(r.header.status, VIR_NET_OK);
  assert.equal(connectGetHostname.decodeRet(r.body), { hostname: 'fake-host' });
  c.close();
  await server.close();
  work.remove();
  const bad = events.filter((e) => e.kind === 'dispatch-failed' || e.kind === 'server-error');
  assert.equal(bad, [], 'no dispatcher failure, no server error');
  const reasons = new Set(events.flatMap((e) => (e.kind === 'disconnected' ? [e.reason] : [])));
  assert.ok(
    reasons.has('protocol-error') && reasons.has('oversized') && reasons.has('client-closed'),
    [...reasons].join(),
  );
  assert.ok(answered > 50 && closedByServer > 20, `${answered} answered, ${closedByServer} closed by the server`);
  assert.ok(Date.now() - started < 60_000, 'bounded time');
});

test.run();
