// The real agent (`vman watch --libvirt`, sim backend) under hostile and heavy clients: random and
// mutated packets over the wire, and 100 concurrent connections. The agent survives, keeps
// answering, and its partitions and manifests are exactly as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { hostname } from 'node:os';
import {
  connectListAllDomains,
  connectOpen,
  REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS,
  REMOTE_PROC_CONNECT_OPEN,
} from '../../src/libvirt/procedures.js';
import { VIR_NET_OK } from '../../src/libvirt/rpc.js';
import { partitionYaml } from '../helpers/cli.js';
import { skip } from '../helpers/skip.js';
import { LibvirtAgent } from './agent.js';
import { packet } from './packets.js';
import { haveVirsh, RawClient, virsh } from './support.js';

const agent = new LibvirtAgent();

test.before(async () => {
  agent.write('partitions.d/keep.yaml', partitionYaml('keep', { image: agent.image(), cpus: [1] }));
  await agent.start();
  await agent.until('keep to run', () => agent.status().partitions.find((p) => p.state === 'running'));
});

test.after(() => agent.stop());

// Opens a connection and lists the domains, as every client starts.
async function listDomains(): Promise<string[]> {
  const c = await RawClient.open(agent.socket);
  try {
    const open = await c.reply(
      c.call(REMOTE_PROC_CONNECT_OPEN, connectOpen.encodeArgs({ name: 'vman:///system', flags: 0 })),
    );
    assert.is(open.header.status, VIR_NET_OK);
    const args = connectListAllDomains.encodeArgs({ need_results: 1, flags: 3 });
    const r = await c.reply(c.call(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, args), 20_000);
    assert.is(r.header.status, VIR_NET_OK);
    return connectListAllDomains.decodeRet(r.body).domains.map((d) => d.name);
  } finally {
    c.close();
  }
}

test('random and mutated packets: the agent survives, answers, and nothing changed', async () => {
  const before = { partitions: agent.status().partitions, manifests: agent.manifests() };
  await fc.assert(
    fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 4 }), async (packets) => {
      const c = await RawClient.open(agent.socket);
      for (const p of packets) c.write(p);
      const deadline = Date.now() + 30;
      while (!c.closed && Date.now() < deadline && c.messages.length === 0) await new Promise((r) => setTimeout(r, 2));
      c.close();
    }),
    { numRuns: 300, seed: 0x18a, endOnFailure: true },
  );
  assert.ok(agent.alive, 'the agent is still running');
  assert.equal(await listDomains(), ['keep']);
  assert.equal(agent.status().partitions, before.partitions);
  assert.equal(agent.manifests(), before.manifests);
});

test('100 concurrent connections each get their answer; the agent carries on', async () => {
  const lists = await Promise.all(Array.from({ length: 100 }, () => listDomains()));
  assert.is(lists.length, 100);
  assert.ok(lists.every((l) => l.length === 1 && l[0] === 'keep'));
  assert.ok(agent.alive);
  if (!haveVirsh()) return skip('virsh: apt-get install libvirt-clients');
  const r = await virsh(agent.socket, ['domstate', 'keep']);
  assert.is(r.stdout.trim(), 'running');
});

test('a read-only connection (virsh -r) may look but not change', async () => {
  if (!haveVirsh()) return skip('virsh: apt-get install libvirt-clients');
  const r = await virsh(agent.socket, ['-r', 'destroy', 'keep']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, 'read only access');
  assert.is((await virsh(agent.socket, ['-r', 'domstate', 'keep'])).stdout.trim(), 'running');
});

test('virsh version, uri, hostname, nodeinfo and capabilities describe vman and the board', async () => {
  if (!haveVirsh()) return skip('virsh: apt-get install libvirt-clients');
  const version = (await virsh(agent.socket, ['version'])).stdout;
  assert.match(version, 'Using API: vman 9.0.0');
  assert.match(version, /Running hypervisor: vman \d+\.\d+\.\d+/);
  assert.match((await virsh(agent.socket, ['uri'])).stdout, 'vman+unix:///system');
  assert.is((await virsh(agent.socket, ['hostname'])).stdout.trim(), hostname());
  const node = (await virsh(agent.socket, ['nodeinfo'])).stdout;
  assert.match(node, /^CPU model:\s+aarch64$/m);
  assert.match(node, /^CPU\(s\):\s+8$/m);
  const caps = (await virsh(agent.socket, ['capabilities'])).stdout;
  assert.match(caps, "<domain type='vman'/>");
  assert.match(caps, '<machine>qemu-virt-aarch64</machine>');
});

test.run();
