// The QEMU machine of a partition (pure): -smp, -m, what goes outside the partition, and the exact
// command line per architecture (RAM as a shared file at descriptor 4, CPU0 started at the ARM
// release stub). The QEMU runs in this folder boot them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getBuiltinBoard } from '../../src/board/builtin/index.js';
import type { Board } from '../../src/board/model.js';
import { machineLayout, qemuCommand, qemuCpuIndex, type MachineLayout } from '../../src/backends/qemu/machine.js';
import { arm64ReleaseStub, armv7ReleaseStub, fwDynamicInfo, riscvBootStub } from '../../src/boot/stub.js';
import { powerFromExit, powerFromStatus, psciCode, shutdownRequested } from '../../src/backends/qemu/power.js';

const MiB = 1024 * 1024;
const board = (name: string): Board => {
  const b = getBuiltinBoard(name);
  if (!b) throw new Error(`no board ${name}`);
  return b;
};
const A64 = board('qemu-virt-aarch64');
const A32 = board('qemu-virt-armv7');
const RV = board('qemu-virt-riscv64');

function layout(b: Board, cpus: number[], base: number, size: number, entry: number, dtbAddr: number): MachineLayout {
  const l = machineLayout({ board: b, cpus, memory: { base, size }, bootCpu: cpus[0] ?? 0, entry, dtbAddr });
  if ('problem' in l) throw new Error(l.problem);
  return l;
}

test(
  'aarch64, cores 2,3 at 0x48000000 + 256 MiB: ' + '-smp 4 -m 384M on a shared RAM file, stub at 0x40100000 on CPU0',
  () => {
    const l = layout(A64, [2, 3], 0x48000000, 256 * MiB, 0x48000000, 0x49c00000);
    assert.is(l.smp, 4);
    assert.is(l.ramMiB, 384);
    const stub = arm64ReleaseStub({ dtb: 0x49c00000, entry: 0x48000000, bootMpidr: 2 });
    assert.equal(l.blobs, [{ bytes: stub, addr: 0x40100000 }]);
    assert.is(l.startCpu0At, 0x40100000);
    assert.equal(l.releaseResult, { addr: 0x40100000 + stub.length - 8, bytes: 8 });
    assert.equal(l.outside, [{ base: 0x40000000, size: MiB + stub.length }]);
    const cmd = qemuCommand({
      board: A64,
      name: 'linux0',
      layout: l,
      consoleLog: '/state/qemu/linux0/console.log',
      qmpSocket: 'qmp.sock',
      consoleSocket: 'console.sock',
    });
    assert.is(cmd.binary, 'qemu-system-aarch64');
    assert.is(
      cmd.args.join(' '),
      [
        '-name vman-linux0 -machine virt-7.2,gic-version=2,memory-backend=vman-ram -cpu cortex-a57 -smp 4 -m 384M',
        '-object memory-backend-file,id=vman-ram,mem-path=/proc/self/fd/4,share=on,size=384M',
        '-S -no-shutdown -no-reboot -trace enable=qemu_system_shutdown_request -nodefaults -display none',
        '-chardev socket,id=vman-console,path=console.sock,server=on,wait=off,' +
          'logfile=/state/qemu/linux0/console.log,logappend=on -serial chardev:vman-console',
        '-qmp unix:qmp.sock,server=on,wait=off',
        '-device loader,addr=0x40100000,cpu-num=0',
      ].join(' '),
    );
  },
);

test('armv7: qemu-system-arm, cortex-a15, highmem off; the ARMv7 release stub; -m to the partition end', () => {
  const l = layout(A32, [4, 5], 0x50000000, 256 * MiB, 0x51c00000, 0x52400000);
  assert.is(l.smp, 6);
  assert.is(l.ramMiB, (0x60000000 - 0x40000000) / MiB);
  const stub = armv7ReleaseStub({ dtb: 0x52400000, entry: 0x51c00000, bootMpidr: 4 });
  assert.equal(l.blobs[0]?.bytes, stub);
  assert.equal(l.releaseResult, { addr: 0x40100000 + stub.length - 4, bytes: 4 });
  const cmd = qemuCommand({
    board: A32,
    name: 'a32',
    layout: l,
    consoleLog: '/s/c.log',
    qmpSocket: 'qmp.sock',
    consoleSocket: 'console.sock',
  });
  assert.is(cmd.binary, 'qemu-system-arm');
  assert.equal(cmd.args.slice(0, 12), [
    '-name',
    'vman-a32',
    '-machine',
    'virt-7.2,gic-version=2,highmem=off,memory-backend=vman-ram',
    '-cpu',
    'cortex-a15',
    '-smp',
    '6',
    '-m',
    '512M',
    '-object',
    'memory-backend-file,id=vman-ram,mem-path=/proc/self/fd/4,share=on,size=512M',
  ]);
  assert.is(cmd.args.includes('-bios'), false, 'ARM runs without firmware: QEMU emulates PSCI');
});

test('ARM: boot core 0 needs no CPU_ON, so there is no result word to check', () => {
  const custom: Board = { ...A64, reserved: [] };
  const l = layout(custom, [0, 1], 0x48000000, 64 * MiB, 0x48000000, 0x4bc00000);
  assert.is(l.releaseResult, undefined);
  assert.is(l.smp, 2);
});

test(
  'riscv64, harts 2,3 at 0x80200000 + 256 MiB: -bios none, -m 260M; ' +
    'stub at the RAM base, fw_dynamic_info a page above, OpenSBI at +1 MiB',
  () => {
    const l = layout(RV, [2, 3], 0x80200000, 256 * MiB, 0x80200000, 0x90000000);
    assert.is(l.smp, 4);
    assert.is(l.ramMiB, 260);
    const stub = riscvBootStub({
      harts: [2, 3],
      bootHart: 2,
      dtb: 0x90000000,
      fwDynamicInfo: 0x80001000,
      firmware: 0x80100000,
    });
    assert.equal(l.blobs, [
      { bytes: stub, addr: 0x80000000 },
      { bytes: fwDynamicInfo({ nextAddr: 0x80200000, nextMode: 'S', bootHart: 2 }), addr: 0x80001000 },
    ]);
    assert.equal(l.firmware, { addr: 0x80100000 });
    const info = new DataView(l.blobs[1]!.bytes.buffer);
    assert.equal(
      [0, 1, 2, 3, 4, 5].map((i) => info.getBigUint64(i * 8, true)),
      [0x4942534fn, 2n, 0x80200000n, 1n, 0n, 2n],
    );
    assert.is(l.startCpu0At, undefined, "every hart starts from QEMU's reset ROM");
    const cmd = qemuCommand({
      board: RV,
      name: 'rv0',
      layout: l,
      consoleLog: '/s/console,log',
      qmpSocket: 'qmp.sock',
      consoleSocket: 'console.sock',
    });
    assert.is(cmd.binary, 'qemu-system-riscv64');
    assert.is(
      cmd.args.join(' '),
      '-name vman-rv0 -machine virt,memory-backend=vman-ram -cpu rv64 -bios none -smp 4 -m 260M ' +
        '-object memory-backend-file,id=vman-ram,mem-path=/proc/self/fd/4,share=on,size=260M ' +
        '-S -no-shutdown -no-reboot -trace enable=qemu_system_shutdown_request -nodefaults -display none ' +
        // A comma in a path is written twice in QEMU's option syntax.
        '-chardev socket,id=vman-console,path=console.sock,server=on,wait=off,logfile=/s/console,,log,logappend=on ' +
        '-serial chardev:vman-console -qmp unix:qmp.sock,server=on,wait=off',
    );
  },
);

test(
  "riscv64: QEMU's own fdt (last 2 MiB-aligned MiB of RAM) always lands above a " +
    'partition that ends off a 2 MiB boundary',
  () => {
    for (const size of [4 * MiB + 4096, 8 * MiB - 4096, 6 * MiB]) {
      const l = layout(RV, [1], 0x80200000, size, 0x80200000, 0x80200000 + size - 2 * MiB);
      const ramEnd = 0x80000000 + l.ramMiB * MiB;
      const qemuFdt = Math.floor((ramEnd - MiB) / (2 * MiB)) * 2 * MiB;
      assert.ok(qemuFdt >= 0x80200000 + size, `size ${size}: QEMU's fdt at 0x${qemuFdt.toString(16)}`);
    }
  },
);

test(
  "refusals: memory in the firmware window or on QEMU's DTB, " + 'a core QEMU has no CPU for, a board without qemu',
  () => {
    const rv = machineLayout({
      board: RV,
      cpus: [1],
      memory: { base: 0x80100000, size: 16 * MiB },
      bootCpu: 1,
      entry: 0x80100000,
      dtbAddr: 0x80f00000,
    });
    assert.ok(
      'problem' in rv &&
        /overlaps 0x80000000–0x801fffff, where the QEMU backend runs the boot stub and OpenSBI/.test(rv.problem),
      JSON.stringify(rv),
    );
    const arm = machineLayout({
      board: { ...A64, reserved: [] },
      cpus: [1],
      memory: { base: 0x40000000, size: 64 * MiB },
      bootCpu: 1,
      entry: 0x40000000,
      dtbAddr: 0x43c00000,
    });
    assert.ok('problem' in arm && /QEMU keeps its own device tree/.test(arm.problem), JSON.stringify(arm));
    const far: Board = { ...A64, cpus: [...A64.cpus, { id: 8, hwid: 0x108, compatible: 'arm,cortex-a57' }] };
    const noCpu = machineLayout({
      board: far,
      cpus: [8],
      memory: { base: 0x48000000, size: 64 * MiB },
      bootCpu: 8,
      entry: 0x48000000,
      dtbAddr: 0x4bc00000,
    });
    assert.ok(
      'problem' in noCpu && /hwid 0x108\) has no CPU in QEMU's aarch64 virt machine/.test(noCpu.problem),
      JSON.stringify(noCpu),
    );
    const { qemu: _q, ...bare } = A64;
    const none = machineLayout({
      board: bare,
      cpus: [1],
      memory: { base: 0x48000000, size: 64 * MiB },
      bootCpu: 1,
      entry: 0x48000000,
      dtbAddr: 0x4bc00000,
    });
    assert.ok('problem' in none && /no `qemu` section/.test(none.problem));
  },
);

test('CPU index: hart id on RISC-V; Aff1 * 8 + Aff0 under GICv2 (QEMU virt clusters of 8)', () => {
  assert.is(qemuCpuIndex(RV, 5), 5);
  assert.is(qemuCpuIndex(A64, 3), 3);
  assert.is(qemuCpuIndex(A64, 0x101), 9);
  assert.is(qemuCpuIndex(A64, 0x8), undefined);
});

test('power states: QMP status and process exit', () => {
  assert.is(powerFromStatus('running', false), 'running');
  assert.is(powerFromStatus('prelaunch', false), 'stopped');
  assert.is(powerFromStatus('paused', true), 'stopped');
  assert.is(powerFromStatus('paused', false), 'paused');
  assert.is(powerFromStatus('shutdown', false), 'shutdown');
  // -no-reboot: a guest's reset (a panic with panic=N, a reboot) also ends in `shutdown`, with no power-off asked.
  assert.is(powerFromStatus('shutdown', false, true), 'shutdown');
  assert.is(powerFromStatus('shutdown', false, false), 'crashed');
  assert.is(powerFromStatus('running', false, false), 'running');
  assert.is(powerFromStatus('guest-panicked', false), 'crashed');
  assert.is(powerFromStatus('internal-error', true), 'crashed');
  assert.is(powerFromExit('riscv64', 0), 'shutdown');
  assert.is(powerFromExit('riscv64', 137), 'crashed');
  assert.is(powerFromExit('riscv64', undefined), 'crashed');
  assert.is(powerFromExit('aarch64', 0), 'crashed');
  // QEMU's log backend: the trace line alone, or after `PID@SECONDS:` (-msg timestamp=on).
  assert.ok(shutdownRequested('qemu_system_shutdown_request reason=6\n'));
  assert.ok(
    shutdownRequested('qemu-system-aarch64: warning: x\n1234@1700000000.000001:qemu_system_shutdown_request reason=6'),
  );
  assert.not.ok(shutdownRequested(''));
  assert.not.ok(shutdownRequested('qemu-system-aarch64: terminating on signal 15 from pid 1 (timeout)\n'));
  assert.not.ok(shutdownRequested('xqemu_system_shutdown_request reason=6'));
  assert.is(psciCode(-4), '-4 (ALREADY_ON)');
  assert.is(psciCode(-42), '-42');
});

test.run();
