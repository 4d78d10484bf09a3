// Crash safety on real QEMU: `vman apply` and `vman destroy` are killed (SIGKILL via VMAN_CRASH_AT,
// right after a journal record is durable) at the crash points of a U-Boot partition's bring-up and
// teardown that leave QEMU in a different state; the next run converges, with exactly one QEMU
// process per live partition and none leaked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vman } from '../helpers/cli.js';
import { manifest, requireTools, QemuConfig, qemuProcessesUnder } from './support.js';

const p = requireTools('qemu/crash', {
  payloads: ['uboot-riscv64-smode', 'opensbi-fw-dynamic'],
  tools: ['qemu-system-riscv64'],
});
const cfg = p ? new QemuConfig('qemu-virt-riscv64') : undefined;
/** The harness reports a process killed by a signal as exit -1. */
const KILLED = -1;

if (p && cfg) {
  cfg.write(
    'uboot',
    manifest(
      'uboot',
      `cpus: [2, 3]\nmemory: 32Mi\nboot:\n  image: ${p.get('uboot-riscv64-smode')}\nreadiness:\n` +
        `  console: "Hit any key to stop autoboot"\n  timeout: 20s\n`,
    ),
  );
  const crashed = (args: string[], at: number) =>
    vman(cfg.dir, [...args, '--board', cfg.board, '--backend', 'qemu'], { VMAN_CRASH_AT: String(at) });

  /** One QEMU per live partition, the one its pid file names, and nothing else running for this state. */
  const converged = (live: string[]) => {
    cfg.converged();
    const st = cfg.status();
    assert.equal(
      st.partitions.map((x) => [x.name, x.state]),
      live.map((n) => [n, 'running']),
    );
    assert.equal(st.orphans, []);
    const pids = [...cfg.qemuPids().entries()]
      .filter(([n]) => live.includes(n))
      .map(([, pid]) => pid)
      .sort();
    assert.equal(qemuProcessesUnder(cfg.state).sort(), pids);
  };

  // Journal records of a create: 1 begin, then intent/done per step: allocate 2/3, build-fdt 4/5, load 6/7,
  // release-cores 8/9, wait-ready 10/11. Killed before QEMU starts, with QEMU halted, and with it running unconfirmed.
  test(
    'apply killed before the load, after it, and after the release: ' + 'the next apply converges to one running QEMU',
    () => {
      for (const at of [6, 7, 9]) {
        const r = crashed(['apply', '--auto-approve'], at);
        assert.is(r.code, KILLED, `VMAN_CRASH_AT=${at}: ${r.stdout}\n${r.stderr}`);
        const again = cfg.run(['apply', '--auto-approve']);
        assert.is(again.code, 0, `after crash point ${at}: ${again.stdout}\n${again.stderr}`);
        assert.match(again.stderr, /Recovering: the previous apply/);
        converged(['uboot']);
        assert.is(cfg.run(['destroy', '--auto-approve']).code, 0);
        assert.equal(qemuProcessesUnder(cfg.state), [], `after crash point ${at}: destroy left QEMU running`);
      }
    },
  );

  // Journal records of a destroy: 1 begin, intent/done of stop-cores 2/3, scrub-memory 4/5, release-resources 6/7.
  // Killed with the QEMU paused, and with it ended but the partition still recorded.
  test(
    'destroy killed with the machine paused, and after the scrub: ' +
      'the next destroy leaves no QEMU and no partition',
    () => {
      for (const at of [3, 5]) {
        cfg.apply();
        const r = crashed(['destroy', '--auto-approve'], at);
        assert.is(r.code, KILLED, `VMAN_CRASH_AT=${at}: ${r.stdout}\n${r.stderr}`);
        const again = cfg.run(['destroy', '--auto-approve']);
        assert.is(again.code, 0, `after crash point ${at}: ${again.stdout}\n${again.stderr}`);
        assert.equal(qemuProcessesUnder(cfg.state), [], `after crash point ${at}`);
        assert.equal(cfg.status().partitions, []);
      }
    },
  );

  test.after(() => cfg.dispose());
}

test.run();
