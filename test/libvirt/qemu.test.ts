// The libvirt endpoint on the QEMU backend, once, with a real boot: stock virsh creates a domain that
// boots Debian's arm64 kernel and the test initramfs, `virsh event --loop` prints its lifecycle, the
// console streams what the partition printed, `virsh shutdown` presses its power button and its OS
// powers off, then it is undefined.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skip } from '../helpers/skip.js';
import { requireTools } from '../qemu/support.js';
import { LibvirtAgent } from './agent.js';
import { havePythonLibvirt, haveVirsh, python, uriFor, virsh } from './support.js';

const p = requireTools('libvirt/qemu', {
  payloads: ['arm64-kernel', 'arm64-initrd'],
  tools: ['qemu-system-aarch64'],
});

function linuxXml(kernel: string, initrd: string): string {
  return `<domain type='vman'>
  <name>linux0</name>
  <metadata>
    <vman:partition xmlns:vman='https://vman.dev/xmlns/libvirt/1'>
      <vman:devices><vman:device name='gpio0'/></vman:devices>
      <vman:readiness timeout='60s'><vman:console>^VMAN-READY</vman:console></vman:readiness>
    </vman:partition>
  </metadata>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <cputune><vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/></cputune>
  <os>
    <type arch='aarch64' machine='qemu-virt-aarch64'>hvm</type>
    <kernel>${kernel}</kernel>
    <initrd>${initrd}</initrd>
    <cmdline>console=ttyAMA0</cmdline>
  </os>
</domain>
`;
}

if (p) {
  test('virsh on the QEMU backend: create boots Linux, events, console, shutdown powers it off, undefine', async () => {
    if (!haveVirsh() || !havePythonLibvirt())
      return skip('libvirt/qemu: apt-get install libvirt-clients python3-libvirt');
    const agent = new LibvirtAgent(['--backend', 'qemu', '--board', 'qemu-virt-aarch64']);
    try {
      await agent.start();
      const sock = agent.socket;
      const listener = spawn('/usr/bin/virsh', ['-c', uriFor(sock), 'event', '--loop', '--event', 'lifecycle'], {
        env: { ...process.env, LC_ALL: 'C' },
      });
      let events = '';
      listener.stdout.on('data', (d: Buffer) => (events += d.toString()));
      await new Promise((r) => setTimeout(r, 500));

      const xml = join(agent.dir, 'linux0.xml');
      writeFileSync(xml, linuxXml(p.get('arm64-kernel')!, p.get('arm64-initrd')!));
      const created = await virsh(sock, ['create', xml], 120_000);
      assert.is(created.code, 0, created.stderr);
      assert.match((await virsh(sock, ['list'])).stdout, /\d+\s+linux0\s+running/);
      assert.equal(
        agent.status().partitions.map((x) => [x.name, x.state, x.cpus]),
        [['linux0', 'running', [2, 3]]],
      );
      // The console so far, through a libvirt stream (python: virsh console wants a terminal).
      const consoleScript = `
conn = libvirt.open(URI)
dom = conn.lookupByName('linux0')
st = conn.newStream(0)
dom.openConsole(None, st, 0)
seen = b''
while b'VMAN-READY' not in seen:
    chunk = st.recv(65536)
    if not chunk:
        break
    seen += chunk
st.finish()
print('READY' if b'VMAN-READY' in seen else 'MISSING')
`;
      const con = await python(sock, consoleScript, 30_000);
      assert.is(con.stdout.trim(), 'READY', con.stderr);

      // Let /init's power-button watcher start, then press the button.
      await new Promise((r) => setTimeout(r, 500));
      const shut = await virsh(sock, ['shutdown', 'linux0'], 90_000);
      assert.is(shut.code, 0, shut.stderr);
      assert.is((await virsh(sock, ['domstate', 'linux0'])).stdout.trim(), 'shut off');
      assert.equal(
        agent.status().partitions.map((x) => [x.name, x.state]),
        [['linux0', 'shutdown']],
      );
      assert.match(agent.manifests()['linux0.yaml'] ?? '', /^ {2}state: stopped$/m);
      const undef = await virsh(sock, ['undefine', 'linux0'], 60_000);
      assert.is(undef.code, 0, undef.stderr);
      assert.equal(agent.status().partitions, []);
      await agent.until('the events', () => /Undefined Removed/.test(events) && events);
      listener.kill('SIGINT');
      assert.equal(
        events.split('\n').filter((l) => l.startsWith('event ')),
        [
          "event 'lifecycle' for domain 'linux0': Defined Added",
          "event 'lifecycle' for domain 'linux0': Started Booted",
          "event 'lifecycle' for domain 'linux0': Stopped Shutdown",
          "event 'lifecycle' for domain 'linux0': Undefined Removed",
        ],
      );
    } finally {
      await agent.stop();
    }
  });
}

test.run();
