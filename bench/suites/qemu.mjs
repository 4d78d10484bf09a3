// qemu.boot_vs_direct: `vman apply --backend qemu` of one Linux partition (Debian's arm64 kernel and
// the busybox initramfs of scripts/fetch-payloads.sh), from spawn to the line where vman reports
// the partition ready (its console showed the readiness line; the apply must then complete),
// against a hand-written qemu-system-aarch64 command that boots the same kernel, initrd and device
// tree at the same addresses on the same machine, timed from spawn to the same console line.
//
// Why the peer loads the files with QEMU's generic loader instead of -kernel/-initrd/-dtb: QEMU's
// own boot loader puts the kernel at the RAM base and boots CPU 0, which the partition's tree (its
// own memory window, its own cores) does not describe, so that boot never reaches the console. The
// peer therefore uses the same ~100-byte release stub vman generates (PSCI CPU_ON of the partition's
// boot core at the kernel entry with x0 = DTB), and nothing else of vman's. (vman itself writes the
// files into the partition's RAM, a shared tmpfs file, while its QEMU starts, which one command line
// cannot do; that is part of what is measured.)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, dist, which } from '../lib/env.mjs';
import { interleave, median, nowMs, runTimed } from '../lib/measure.mjs';
import { result, skipped } from '../lib/report.mjs';

const NAME = 'qemu.boot_vs_direct';
const TARGET = '<= 1.1';
const READY = /^VMAN-READY\r?$/m;
const BOOT_TIMEOUT_MS = 120_000;
const MiB = 2 ** 20;
/** QEMU's virt machine: RAM starts here; vman's release stub sits 1 MiB above (QEMU's own DTB is below it). */
const RAM_BASE = 0x4000_0000;
const STUB_ADDR = RAM_BASE + MiB;

const hex = (n) => `0x${n.toString(16)}`;

function manifest(kernel, initrd, name = 'linux0') {
  return [
    'apiVersion: vman.dev/v1alpha1',
    'kind: Partition',
    `metadata: {name: ${name}}`,
    'spec:',
    '  cpus: 2',
    '  memory: 256Mi',
    '  boot:',
    `    kernel: ${kernel}`,
    `    initrd: ${initrd}`,
    '    bootargs: "console=ttyAMA0 vman.after=idle"',
    '  readiness: {console: "^VMAN-READY", timeout: 120s}',
    '',
  ].join('\n');
}

// Boots the hand-written command until the console prints the readiness line; returns ms since spawn.
// It resolves only once that QEMU has exited: a machine still being torn down (its RAM freed) would
// slow whatever is measured next, as vman's destroy ensures for its own.
function bootDirect(binary, args) {
  return new Promise((resolve, reject) => {
    const start = nowMs();
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let console = '';
    let err = '';
    let outcome;
    const finish = (f) => {
      if (outcome) return;
      outcome = f;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      else f();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new Error(`direct QEMU boot printed no VMAN-READY within ${BOOT_TIMEOUT_MS} ms: ${console.slice(-300)}`),
          ),
        ),
      BOOT_TIMEOUT_MS,
    );
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (d) => {
      console += d;
      if (READY.test(console)) {
        const ms = nowMs() - start;
        finish(() => resolve(ms));
      }
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', (e) => {
      // No process to wait for.
      clearTimeout(timer);
      outcome = () => undefined;
      reject(e);
    });
    child.on('exit', (code) => {
      if (outcome) outcome();
      else finish(() => reject(new Error(`direct QEMU exited ${code} before VMAN-READY: ${err.slice(-300)}`)));
    });
  });
}

async function bootVsDirect({ quick, dir, log }) {
  const payloads = process.env.VMAN_PAYLOAD_DIR ?? join(ROOT, '.cache', 'payloads');
  const kernel = join(payloads, 'arm64', 'Image');
  const initrd = join(payloads, 'arm64', 'initramfs.cpio.gz');
  const qemu = which('qemu-system-aarch64');
  if (!qemu)
    return [skipped(NAME, 'ratio', TARGET, 'qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)')];
  if (!existsSync(kernel) || !existsSync(initrd))
    return [skipped(NAME, 'ratio', TARGET, `no arm64 payloads in ${payloads} (run scripts/fetch-payloads.sh)`)];

  const cfg = join(dir, 'qemu');
  mkdirSync(join(cfg, 'partitions.d'), { recursive: true });
  writeFileSync(join(cfg, 'partitions.d', 'linux0.yaml'), manifest(kernel, initrd));
  const state = join(cfg, 'state');
  const vman = (...args) =>
    runTimed(process.execPath, [CLI, ...args, '-C', cfg, '--state-dir', state], {
      env: { ...process.env, NO_COLOR: '1' },
    });

  // Where vman puts everything, from its own plan; the tree from `vman fdt --planned`.
  const plan = JSON.parse((await vman('plan', '--json', '--backend', 'qemu')).stdout);
  const load = plan.steps.find((s) => s.kind === 'load');
  const release = plan.steps.find((s) => s.kind === 'release-cores');
  const alloc = plan.steps.find((s) => s.kind === 'allocate');
  if (!load || !release || !alloc) throw new Error(`unexpected plan: ${plan.steps.map((s) => s.kind).join(', ')}`);
  const dtb = join(cfg, 'linux0.dtb');
  await vman('fdt', 'linux0', '--planned', '--out', dtb, '--backend', 'qemu');
  const board = JSON.parse((await vman('board', '--json')).stdout);
  const cpuOf = (id) => board.cpus.find((c) => c.id === id);
  const { arm64ReleaseStub } = await dist('boot/stub.js');
  const stub = join(cfg, 'stub.bin');
  writeFileSync(
    stub,
    arm64ReleaseStub({ dtb: release.dtbAddr, entry: release.entry, bootMpidr: cpuOf(release.bootCpu).hwid }),
  );
  const files = { kernel, initrd, dtb };
  const loaders = load.items
    .map((i) => ['-device', `loader,file=${files[i.what]},addr=${hex(i.addr)},force-raw=on`])
    .flat();
  // The same machine as vman's: CPUs up to the highest core used, RAM from its base to the partition's end.
  const smp = Math.max(...alloc.cpus.map((id) => cpuOf(id).hwid)) + 1;
  const ramMiB = Math.ceil((alloc.memory.base + alloc.memory.size - RAM_BASE) / MiB);
  const direct = [
    '-machine',
    'virt-7.2,gic-version=2',
    '-cpu',
    'cortex-a57',
    '-smp',
    String(smp),
    '-m',
    `${ramMiB}M`,
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-device',
    `loader,file=${stub},addr=${hex(STUB_ADDR)},force-raw=on,cpu-num=0`,
    ...loaders,
  ];

  // Peer, vman, peer, vman…: every boot follows a boot of the other side, whose QEMU has just ended.
  // This machine is a VM whose host takes freed memory back (virtio-balloon free page reporting:
  // free 2 MiB blocks, ~2 s after they are freed). A QEMU that gets such blocks builds its machine
  // in ~120 ms instead of ~60 ms, and the guest's boot varies with it. With the order
  // flipped every round, half of vman's boots followed vman's own destroy, and most of those were
  // 100-150 ms slower, while the peer's boots that followed its own never were.
  const s = await interleave(
    {
      peer: async () => bootDirect(qemu, direct),
      vman: async () => {
        // To the readiness line, as the peer: the moment vman reports the partition ready.
        let ready;
        const r = await runTimed(
          process.execPath,
          [CLI, 'apply', '--auto-approve', '--backend', 'qemu', '-C', cfg, '--state-dir', state],
          {
            env: { ...process.env, NO_COLOR: '1' },
            onLine: (line, ms) => {
              if (ready === undefined && /^linux0: ready /.test(line)) ready = ms;
            },
          },
        );
        if (!/Apply complete!/.test(r.stdout) || ready === undefined)
          throw new Error(`vman apply --backend qemu did not complete: ${r.stdout.slice(-400)}`);
        await vman('destroy', '--auto-approve');
        return ready;
      },
    },
    quick ? 7 : 11,
    { warmup: 1, reverse: false },
  );
  const peer = median(s.peer);
  const mine = median(s.vman);
  log(
    `qemu: direct ${s.peer.map((x) => x.toFixed(0)).join(', ')} ms; ` +
      `vman ${s.vman.map((x) => x.toFixed(0)).join(', ')} ms`,
  );
  return [
    result(
      NAME,
      mine / peer,
      'ratio',
      `hand-written qemu-system-aarch64 to VMAN-READY (${(peer / 1000).toFixed(2)} s; ` +
        `vman apply ${(mine / 1000).toFixed(2)} s)`,
      TARGET,
      {
        note: `peer: qemu-system-aarch64 ${direct.map((a) => a.replace(cfg, '…').replace(payloads, '…')).join(' ')}`,
        detail: { vman_ms: mine, direct_ms: peer, rounds: s.peer.length },
      },
    ),
  ];
}

const BRINGUP = 'qemu.bringup_3_vs_1';

// qemu.bringup_3_vs_1: `vman apply --backend qemu` of three Linux partitions (two cores each) ÷ the
// same apply of one, spawn to exit, destroyed after each. With parallel bring-up the three boot at
// once, so the ratio is near 1 where the host has a core per guest core, higher where it has fewer
// (reported with the host's core count).
async function bringup3({ quick, dir, log }) {
  const payloads = process.env.VMAN_PAYLOAD_DIR ?? join(ROOT, '.cache', 'payloads');
  const kernel = join(payloads, 'arm64', 'Image');
  const initrd = join(payloads, 'arm64', 'initramfs.cpio.gz');
  if (!which('qemu-system-aarch64'))
    return [
      skipped(BRINGUP, 'ratio', 'report', 'qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)'),
    ];
  if (!existsSync(kernel) || !existsSync(initrd))
    return [skipped(BRINGUP, 'ratio', 'report', `no arm64 payloads in ${payloads} (run scripts/fetch-payloads.sh)`)];
  const configs = {};
  for (const n of [1, 3]) {
    const cfg = join(dir, `bringup-${n}`);
    mkdirSync(join(cfg, 'partitions.d'), { recursive: true });
    for (let i = 0; i < n; i++)
      writeFileSync(join(cfg, 'partitions.d', `linux${i}.yaml`), manifest(kernel, initrd, `linux${i}`));
    configs[n] = cfg;
  }
  const apply = async (cfg) => {
    const state = join(cfg, 'state');
    const args = ['--backend', 'qemu', '-C', cfg, '--state-dir', state];
    const r = await runTimed(process.execPath, [CLI, 'apply', '--auto-approve', ...args], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    if (!/Apply complete!/.test(r.stdout)) throw new Error(`apply did not complete: ${r.stdout.slice(-400)}`);
    await runTimed(process.execPath, [CLI, 'destroy', '--auto-approve', ...args]);
    return r.ms;
  };
  const s = await interleave({ one: () => apply(configs[1]), three: () => apply(configs[3]) }, quick ? 3 : 5);
  const one = median(s.one);
  const three = median(s.three);
  const cores = availableParallelism();
  log(
    `qemu bring-up: one ${s.one.map((x) => x.toFixed(0)).join(', ')} ms; ` +
      `three ${s.three.map((x) => x.toFixed(0)).join(', ')} ms`,
  );
  return [
    result(BRINGUP, three / one, 'ratio', `the same apply of one partition (${(one / 1000).toFixed(2)} s)`, 'report', {
      note: `three Linux partitions of 2 cores each on a host with ${cores} cores: ${(three / 1000).toFixed(2)} s`,
      detail: { one_ms: one, three_ms: three, host_cores: cores },
    }),
  ];
}

export const MEASURES = [
  { names: [NAME], unit: 'ratio', target: TARGET, run: bootVsDirect },
  { names: [BRINGUP], unit: 'ratio', target: 'report', run: bringup3 },
];
