// The restart policy on real guests: `vman watch` on the QEMU backend (short testing backoff) with
// Debian's arm64 kernel and the test initramfs. A kernel that panics right after it is ready
// (`vman.after=panic panic=-1`: the kernel resets the machine, which -no-reboot turns into an end that
// vman reports `crashed`) is restarted under OnFailure, again and again with a doubling wait, CrashLoop
// in the status file meanwhile; a guest that powers off is restarted under Always and left `shutdown`
// under OnFailure and Never.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  initrdWithThisInit,
  manifest,
  qemuProcessesUnder,
  requireTools,
  QemuConfig,
  type StatusJson,
} from './support.js';
import { Watch, sleep, type Ev } from '../watch/support.js';

const p = requireTools('qemu/restart', {
  payloads: ['arm64-kernel', 'arm64-initrd'],
  tools: ['qemu-system-aarch64'],
});

/** The first restart after 1 s, then 2 s (the cap); 1 min of running would reset it. */
const BACKOFF = { VMAN_RESTART_BACKOFF: '1s,2s,1m' };

if (p) {
  const cfg = new QemuConfig('qemu-virt-aarch64');
  const initrd = initrdWithThisInit(p.get('arm64-initrd')!, cfg.dir);
  const linux = (after: string, policy: string) =>
    `cpus: 1\nmemory: 128Mi\nboot:\n  kernel: ${p.get('arm64-kernel')}\n  initrd: ${initrd}\n` +
    `  bootargs: "console=ttyAMA0 vman.after=${after}${after === 'panic' ? ' panic=-1' : ''}"\n` +
    `readiness:\n  console: "^VMAN-READY"\n  timeout: 60s\nrestartPolicy: ${policy}\n`;

  test('a panicking kernel is restarted under OnFailure with backoff; a power-off under Always only', async () => {
    cfg.write('panics', manifest('panics', linux('panic', 'OnFailure')));
    cfg.write('always', manifest('always', linux('poweroff', 'Always')));
    cfg.write('onfailure', manifest('onfailure', linux('poweroff', 'OnFailure')));
    cfg.write('never', manifest('never', linux('poweroff', 'Never')));
    const t0 = Date.now();
    const w = new Watch(cfg.dir, ['--board', cfg.board, '--backend', 'qemu', '--resync', '500ms'], BACKOFF);
    const ev = (kind: string, name: string) => (e: Ev) => e.event === kind && e.partition === name;
    try {
      await w.waitFor((e) => e.event === 'reconcile-finished' && Number(e.stepsRun) > 0, 'the first bring-up', 60_000);
      const ended = await w.waitFor(ev('partition-ended', 'panics'), 'the panic seen', 20_000);
      assert.equal(
        [ended.state, ended.restartPolicy, ended.reason, ended.restarts],
        ['crashed', 'OnFailure', 'CrashLoop', 0],
        w.dump(),
      );
      // While it backs off, the agent's status says CrashLoop (watch.json, what `vman status` shows).
      let crashLoop: { ready?: string; message?: string | null } | undefined;
      for (const until = Date.now() + 3000; !crashLoop && Date.now() < until; await sleep(25)) {
        const doc = JSON.parse(readFileSync(join(cfg.state, 'watch.json'), 'utf8')) as {
          conditions: { type: string; reason: string; message: string }[];
          restarts: { partition: string; reason: string | null; message: string | null }[];
        };
        const mine = doc.restarts.find((r) => r.partition === 'panics' && r.reason === 'CrashLoop');
        const ready = doc.conditions.find((c) => c.type === 'Ready')?.reason;
        if (mine) crashLoop = { ready, message: mine.message };
      }
      assert.is(crashLoop?.ready, 'CrashLoop');
      assert.match(
        crashLoop?.message ?? '',
        /^`panics` crashed; restartPolicy OnFailure restarts it at \S+ \(restart 1, after 1s of backoff\)$/,
      );
      const first = await w.waitFor(ev('partition-restart', 'panics'), 'the first restart', 10_000);
      assert.equal([first.ended, first.restarts], ['crashed', 1]);
      assert.ok(Date.parse(first.time) - Date.parse(ended.time) >= 900);
      // It panics again once up: the wait doubles, the count rises.
      const again = await w.waitFor(
        (e) => ev('partition-ended', 'panics')(e) && e.restarts === 1,
        'the second panic',
        20_000,
      );
      assert.match(String(again.message), /\(restart 2, after 2s of backoff\)$/);
      // What the guest printed before it ended (until the restart's load starts a new console).
      const text = cfg.console('panics');
      assert.match(text, /^VMAN-PANIC\r?$/m);
      assert.match(text, /Kernel panic - not syncing: sysrq triggered crash/);
      const second = await w.waitFor(
        (e) => ev('partition-restart', 'panics')(e) && e.restarts === 2,
        'the second restart',
        10_000,
      );
      assert.ok(Date.parse(second.time) - Date.parse(again.time) >= 1900);
      const always = await w.waitFor(ev('partition-restart', 'always'), 'always restarted', 20_000);
      assert.equal([always.ended, always.restartPolicy], ['shutdown', 'Always']);
      for (const name of ['onfailure', 'never']) {
        const left = await w.waitFor(ev('partition-ended', name), `${name} seen`, 10_000);
        assert.equal([left.state, left.reason], ['shutdown', 'Ended']);
      }
      assert.equal(
        w.of('partition-restart').filter((e) => e.partition === 'onfailure' || e.partition === 'never'),
        [],
      );
      const st = cfg.json<StatusJson>(['status']).json;
      const by = Object.fromEntries(st.partitions.map((x) => [x.name, x]));
      assert.ok((by.panics?.restarts ?? 0) >= 2, JSON.stringify(by.panics));
      assert.ok((by.always?.restarts ?? 0) >= 1, JSON.stringify(by.always));
      assert.equal(
        [by.onfailure?.state, by.onfailure?.restarts, by.never?.state, by.never?.restarts],
        ['shutdown', 0, 'shutdown', 0],
      );
      assert.equal(await w.stop(), { code: 0, signal: null });
      console.log(
        `  qemu/restart: ${((Date.now() - t0) / 1000).toFixed(1)}s, panics restarted ${by.panics?.restarts}×`,
      );
    } finally {
      w.kill();
      await w.exited;
    }
  });

  test.after(() => {
    cfg.dispose();
    assert.equal(qemuProcessesUnder(cfg.state), [], 'QEMU processes left behind');
  });
}

test.run();
