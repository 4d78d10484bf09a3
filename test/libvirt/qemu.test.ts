// The libvirt endpoint on the QEMU backend, once, with a real boot: stock virsh creates a domain that
// boots Debian's arm64 kernel and the test initramfs, `virsh event --loop` prints its lifecycle, the
// console streams what the partition printed, `virsh shutdown` presses its power button and its OS
// powers off, then it is undefined. A second domain whose machine dies is reported crashed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skip } from '../helpers/skip.js';
import { requireTools } from '../qemu/support.js';
import { LibvirtAgent } from './agent.js';
import { havePythonLibvirt, haveVirsh, python, uriFor, virsh } from './support.js';

const p = requireTools('libvirt/qemu', {
  payloads: ['arm64-kernel', 'arm64-initrd'],
  tools: ['qemu-system-aarch64'],
});

function linuxXml(
  kernel: string,
  initrd: string,
  name = 'linux0',
  cores = [2, 3],
  devices = ['gpio0'],
  lifecycle = '',
): string {
  const devs = devices.map((d) => `<vman:device name='${d}'/>`).join('');
  const pins = cores.map((c, i) => `<vcpupin vcpu='${i}' cpuset='${c}'/>`).join('');
  return `<domain type='vman'>
  <name>${name}</name>
  <metadata>
    <vman:partition xmlns:vman='https://vman.dev/xmlns/libvirt/1'>
      <vman:devices>${devs}</vman:devices>
      <vman:readiness timeout='60s'><vman:console>^VMAN-READY</vman:console></vman:readiness>
    </vman:partition>
  </metadata>
  <memory unit='MiB'>256</memory>
  <vcpu>${cores.length}</vcpu>
  <cputune>${pins}</cputune>
  <os>
    <type arch='aarch64' machine='qemu-virt-aarch64'>hvm</type>
    <kernel>${kernel}</kernel>
    <initrd>${initrd}</initrd>
    <cmdline>console=ttyAMA0</cmdline>
  </os>${lifecycle}
</domain>
`;
}

if (p) {
  test('virsh on the QEMU backend: create boots Linux, events, console, shutdown powers it off, undefine', async () => {
    if (!haveVirsh() || !havePythonLibvirt())
      return skip('libvirt/qemu: apt-get install libvirt-clients python3-libvirt');
    // The restart policy's first wait is 1 s here, not 10 s (a testing switch).
    const agent = new LibvirtAgent(['--backend', 'qemu', '--board', 'qemu-virt-aarch64'], {
      VMAN_RESTART_BACKOFF: '1s,1s,1m',
    });
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

      // A partition whose machine dies (its QEMU killed) is a crash, and clients hear of it. Its on_crash
      // (restartPolicy OnFailure) has the agent start it again.
      const other = join(agent.dir, 'linux1.xml');
      const onCrash = '\n  <on_crash>restart</on_crash>';
      writeFileSync(other, linuxXml(p.get('arm64-kernel')!, p.get('arm64-initrd')!, 'linux1', [4], [], onCrash));
      const second = await virsh(sock, ['create', other], 120_000);
      assert.is(second.code, 0, second.stderr);
      const eventsBefore = agent.events.length;
      const pidFile = join(agent.dir, '.vman', 'qemu', 'linux1', 'qemu.pid');
      const qemuPid = Number(readFileSync(pidFile, 'utf8').trim().split(' ')[1]);
      process.kill(qemuPid, 'SIGKILL');
      await agent.until('the crash event', () => /domain 'linux1': Stopped Crashed/.test(events) && events);
      // The agent starts it again (restartPolicy OnFailure, after backoff); clients heard of the crash first.
      const again = () => agent.status().partitions.find((x) => x.name === 'linux1' && x.state === 'running');
      await agent.until('linux1 to run again', again, 60_000);
      assert.ok(
        agent.events.some((e) => e.event === 'partition-restart' && e.partition === 'linux1' && e.restarts === 1),
        'the restart policy restarted it',
      );
      const starts = () => (events.match(/'linux1': Started Booted/g) ?? []).length === 2 && events;
      await agent.until('its second start event', starts);
      // The agent's reconcile that started it again holds the lock until linux1 is ready.
      const restarted = () =>
        agent.events.slice(eventsBefore).some((e) => e.event === 'reconcile-finished' && Number(e.stepsRun) >= 5);
      await agent.until('the restart to finish', restarted, 90_000);
      const destroyed = await virsh(sock, ['destroy', 'linux1'], 60_000);
      assert.is(destroyed.code, 0, destroyed.stderr);
      const gone = await virsh(sock, ['undefine', 'linux1'], 60_000);
      assert.is(gone.code, 0, gone.stderr);

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
      await agent.until('the events', () => /'linux0': Undefined Removed/.test(events) && events);
      listener.kill('SIGINT');
      const lines = events.split('\n').filter((l) => l.startsWith('event '));
      assert.equal(
        lines.filter((l) => l.includes("'linux1'")),
        [
          "event 'lifecycle' for domain 'linux1': Defined Added",
          "event 'lifecycle' for domain 'linux1': Started Booted",
          "event 'lifecycle' for domain 'linux1': Crashed Panicked",
          "event 'lifecycle' for domain 'linux1': Stopped Crashed",
          "event 'lifecycle' for domain 'linux1': Started Booted",
          "event 'lifecycle' for domain 'linux1': Stopped Destroyed",
          "event 'lifecycle' for domain 'linux1': Undefined Removed",
        ],
      );
      assert.equal(
        lines.filter((l) => l.includes("'linux0'")),
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
