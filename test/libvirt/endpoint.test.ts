// End to end: stock virsh and libvirt-python drive a real `vman watch --libvirt` (the sim backend):
// define, list, start, dominfo, dumpxml, destroy, undefine, lifecycle events for every change
// (libvirt calls, a dropped file), and the errors a client gets for what vman refuses, with nothing
// changed. The protocol layer is tested on its own in clients.test.ts and server.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skip } from '../helpers/skip.js';
import { LibvirtAgent, domainXml } from './agent.js';
import { havePythonLibvirt, haveVirsh, python, uriFor, virsh } from './support.js';

const ready = haveVirsh() && havePythonLibvirt();
const why =
  'libvirt endpoint: needs /usr/bin/virsh and python3-libvirt (apt-get install libvirt-clients python3-libvirt)';

test('virsh: define, shut off, start, running (status agrees), dominfo, dumpxml, destroy, undefine', async () => {
  if (!ready) return skip(why);
  const agent = new LibvirtAgent();
  try {
    await agent.start();
    const sock = agent.socket;
    const xml = join(agent.dir, 'alpha.xml');
    writeFileSync(xml, domainXml('alpha', agent.image(), { pins: [2, 3], memoryMiB: 32 }));
    // Listen for lifecycle events from the start.
    const listener = spawn('/usr/bin/virsh', ['-c', uriFor(sock), 'event', '--loop', '--event', 'lifecycle'], {
      env: { ...process.env, LC_ALL: 'C' },
    });
    let events = '';
    listener.stdout.on('data', (d: Buffer) => (events += d.toString()));
    await new Promise((r) => setTimeout(r, 500));

    const def = await virsh(sock, ['define', xml]);
    assert.is(def.code, 0, def.stderr);
    assert.match(def.stdout, "Domain 'alpha' defined");
    assert.match(agent.manifests()['alpha.yaml'] ?? '', /^ {2}state: stopped$/m);
    assert.match((await virsh(sock, ['list', '--all'])).stdout, /-\s+alpha\s+shut off/);
    assert.is((await virsh(sock, ['list', '--all', '--name'])).stdout.trim(), 'alpha');

    const start = await virsh(sock, ['start', 'alpha']);
    assert.is(start.code, 0, start.stderr);
    assert.match((await virsh(sock, ['list'])).stdout, /1\s+alpha\s+running/);
    assert.equal(
      agent.status().partitions.map((p) => [p.name, p.state, p.cpus, p.memory.size]),
      [['alpha', 'running', [2, 3], 32 * 2 ** 20]],
    );
    assert.is((await virsh(sock, ['domstate', 'alpha'])).stdout.trim(), 'running');
    assert.is((await virsh(sock, ['domid', 'alpha'])).stdout.trim(), '1');
    assert.is((await virsh(sock, ['domname', '1'])).stdout.trim(), 'alpha');
    const uuid = (await virsh(sock, ['domuuid', 'alpha'])).stdout.trim();
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.is((await virsh(sock, ['domname', uuid])).stdout.trim(), 'alpha');

    const info = (await virsh(sock, ['dominfo', 'alpha'])).stdout;
    assert.match(info, /^CPU\(s\):\s+2$/m);
    assert.match(info, /^Max memory:\s+32768 KiB$/m);
    assert.match(info, /^State:\s+running$/m);
    assert.match(info, /^Persistent:\s+yes$/m);

    const dump = await virsh(sock, ['dumpxml', 'alpha']);
    assert.is(dump.code, 0, dump.stderr);
    assert.match(dump.stdout, "<domain type='vman' id='1'>");
    assert.match(dump.stdout, "<vcpupin vcpu='1' cpuset='3'/>");
    // dumpxml fed back to define changes nothing: not the file, not the partition.
    const file = join(agent.dir, 'partitions.d', 'alpha.yaml');
    const before = statSync(file).mtimeMs;
    writeFileSync(join(agent.dir, 'back.xml'), dump.stdout);
    assert.is((await virsh(sock, ['define', join(agent.dir, 'back.xml')])).code, 0);
    assert.is(statSync(file).mtimeMs, before);
    assert.is((await virsh(sock, ['domid', 'alpha'])).stdout.trim(), '1');

    assert.is((await virsh(sock, ['destroy', 'alpha'])).code, 0);
    assert.is((await virsh(sock, ['domstate', 'alpha'])).stdout.trim(), 'shut off');
    assert.match(agent.manifests()['alpha.yaml'] ?? '', /^ {2}state: stopped$/m);
    const undef = await virsh(sock, ['undefine', 'alpha']);
    assert.is(undef.code, 0, undef.stderr);
    assert.equal(agent.manifests(), {});
    assert.equal(agent.status().partitions, []);

    // A file dropped into partitions.d/ is a domain too, and its arrival an event.
    agent.write('partitions.d/.beta.tmp', '');
    agent.write(
      'partitions.d/beta.yaml',
      (await import('../helpers/cli.js')).partitionYaml('beta', { image: agent.image(), cpus: [4] }),
    );
    await agent.until('beta to run', () =>
      agent.status().partitions.find((p) => p.name === 'beta' && p.state === 'running'),
    );
    assert.match((await virsh(sock, ['list'])).stdout, /\d+\s+beta\s+running/);
    await agent.until('the events', () => /domain 'beta': Started Booted/.test(events) && events);
    listener.kill('SIGINT');
    const lines = events.split('\n').filter((l) => l.startsWith('event '));
    assert.equal(lines, [
      "event 'lifecycle' for domain 'alpha': Defined Added",
      "event 'lifecycle' for domain 'alpha': Started Booted",
      "event 'lifecycle' for domain 'alpha': Stopped Destroyed",
      "event 'lifecycle' for domain 'alpha': Undefined Removed",
      "event 'lifecycle' for domain 'beta': Defined Added",
      "event 'lifecycle' for domain 'beta': Started Booted",
    ]);
    assert.ok(agent.alive);
  } finally {
    await agent.stop();
  }
});

test('libvirt-python: the same life cycle, and the codes of what vman refuses, nothing changed', async () => {
  if (!ready) return skip(why);
  const agent = new LibvirtAgent();
  try {
    await agent.start();
    const good = domainXml('gamma', agent.image(), { pins: [1] });
    const other = domainXml('delta', agent.image(), { pins: [1] });
    const big = domainXml('huge', agent.image(), { memoryMiB: 64 * 1024 });
    const script = `
import json
conn = libvirt.open(URI)
out = {}
def code(f):
    try:
        f()
        return 0
    except libvirt.libvirtError as e:
        return [e.get_error_code(), e.get_error_message()]
d = conn.defineXML(${JSON.stringify(good)})
out['defined'] = [d.name(), d.isActive(), d.isPersistent(), d.state()[0]]
d.create()
out['started'] = [d.isActive(), d.state()[0], d.ID() > 0, conn.lookupByID(d.ID()).name()]
out['info'] = d.info()[1:4]
out['xml_has_pin'] = "cpuset='1'" in d.XMLDesc()
out['listed'] = sorted(x.name() for x in conn.listAllDomains(0))
out['bad_xml'] = code(lambda: conn.defineXML('<domain type="vman"><name>x</name>'))
out['wrong_type'] = code(lambda: conn.defineXML(${JSON.stringify(good)}.replace("type='vman'", "type='kvm'")))
disk = '</os><devices><disk type="file" device="disk"/></devices>'
out['disk'] = code(lambda: conn.defineXML(${JSON.stringify(good)}.replace('</os>', disk)))
out['unplaceable'] = code(lambda: conn.defineXML(${JSON.stringify(big)}))
out['core_held'] = code(lambda: conn.defineXML(${JSON.stringify(other)}))
out['undefine_running'] = code(lambda: d.undefine())
out['shutdown_sim'] = code(lambda: d.shutdown())
out['no_domain'] = code(lambda: conn.lookupByName('nope'))
out['unknown_proc'] = code(lambda: d.suspend())
out['still'] = [d.isActive(), sorted(x.name() for x in conn.listAllDomains(0))]
d.destroy()
d.undefine()
out['after'] = [x.name() for x in conn.listAllDomains(0)]
conn.close()
print(json.dumps(out))
`;
    const r = await python(agent.socket, script, 60_000);
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    const VIR_DOMAIN_SHUTOFF = 5;
    const VIR_DOMAIN_RUNNING = 1;
    assert.equal(out.defined, ['gamma', 0, 1, VIR_DOMAIN_SHUTOFF]);
    assert.equal(out.started, [1, VIR_DOMAIN_RUNNING, true, 'gamma']);
    assert.equal(out.info, [16384, 16384, 1]);
    assert.is(out.xml_has_pin, true);
    assert.equal(out.listed, ['gamma']);
    const err = (k: string) => out[k] as [number, string];
    const VIR_ERR_XML_ERROR = 27;
    const VIR_ERR_CONFIG_UNSUPPORTED = 67;
    const VIR_ERR_OPERATION_INVALID = 55;
    const VIR_ERR_NO_SUPPORT = 3;
    const VIR_ERR_NO_DOMAIN = 42;
    assert.is(err('bad_xml')[0], VIR_ERR_XML_ERROR);
    assert.is(err('wrong_type')[0], VIR_ERR_CONFIG_UNSUPPORTED);
    assert.is(err('disk')[0], VIR_ERR_CONFIG_UNSUPPORTED);
    assert.match(err('disk')[1], 'disk');
    assert.is(err('unplaceable')[0], VIR_ERR_CONFIG_UNSUPPORTED);
    assert.match(err('unplaceable')[1], /VMAN-E\d+/);
    assert.is(err('core_held')[0], VIR_ERR_CONFIG_UNSUPPORTED);
    assert.match(err('core_held')[1], /core 1/);
    assert.is(err('undefine_running')[0], VIR_ERR_OPERATION_INVALID);
    assert.is(err('shutdown_sim')[0], VIR_ERR_NO_SUPPORT);
    assert.match(err('shutdown_sim')[1], 'sim backend');
    assert.is(err('no_domain')[0], VIR_ERR_NO_DOMAIN);
    assert.is(err('unknown_proc')[0], VIR_ERR_NO_SUPPORT);
    // Every refusal changed nothing: gamma still runs, no other manifest appeared.
    assert.equal(out.still, [1, ['gamma']]);
    assert.equal(out.after, []);
    assert.equal(agent.manifests(), {});
    assert.ok(agent.alive);
  } finally {
    await agent.stop();
  }
});

test('the socket is 0600; with --libvirt-group it is 0660 for that group', async () => {
  if (!ready) return skip(why);
  const agent = new LibvirtAgent();
  try {
    await agent.start();
    assert.is(statSync(agent.socket).mode & 0o777, 0o600);
  } finally {
    await agent.stop();
  }
  const grouped = new LibvirtAgent(['--libvirt-group', 'root']);
  try {
    await grouped.start();
    const st = statSync(grouped.socket);
    assert.is(st.mode & 0o777, 0o660);
    assert.is(st.gid, 0);
  } finally {
    await grouped.stop();
  }
});

test.run();
