// The restart policy on the real agent (`vman watch --json` on sim, short testing backoff): a partition
// whose OS ends by itself (the simulated monitor's power set behind vman's back, as a guest's end) is
// restarted under Always after a power-off and under OnFailure after a crash, with a doubling wait
// (CrashLoop meanwhile: status file, `vman status`, events); OnFailure after a power-off and Never leave it
// (Ended) until a hand-run `vman apply`; the count and backoff carry on in a new agent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { tempConfig, cleanup, vman } from '../helpers/cli.js';
import { haveVirsh, virsh } from '../libvirt/support.js';
import { skip } from '../helpers/skip.js';
import { Watch, dropByRename, live, setPower, sleep, status, yaml, type Ev } from './support.js';

/** First wait 1 s, doubling, capped at 4 s; 1 min of running resets it. */
const BACKOFF = { VMAN_RESTART_BACKOFF: '1s,4s,1m' };
const policy = (p: string) => ({ extra: `  restartPolicy: ${p}` });
const ms = (e: Ev) => Date.parse(e.time);

test('Always, OnFailure restart after backoff (CrashLoop meanwhile); Never, OnFailure-after-off leave it', async () => {
  const dir = tempConfig();
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(dir, 'img.bin'), old, old);
  let w = new Watch(dir, ['--settle', '200ms', '--resync', '300ms'], BACKOFF);
  try {
    const from = await w.started();
    dropByRename(dir, 'a.yaml', yaml('a', policy('Always')));
    dropByRename(dir, 'b.yaml', yaml('b', policy('OnFailure')));
    dropByRename(dir, 'c.yaml', yaml('c'));
    await w.waitFor(
      (e) => e.event === 'reconcile-finished' && e.result === 'converged' && Number(e.stepsRun) > 0,
      'a, b and c created',
      10_000,
      from,
    );
    assert.equal(live(dir), { a: 'running', b: 'running', c: 'running' });

    let mark = w.events.length;
    setPower(dir, 'a', 'shutdown');
    setPower(dir, 'b', 'shutdown');
    setPower(dir, 'c', 'crashed');
    const ended = await w.waitFor((e) => e.event === 'partition-ended' && e.partition === 'a', 'a ended', 5000, mark);
    assert.equal(
      [ended.state, ended.restartPolicy, ended.reason, ended.restarts, Number(ended.restartInMs) > 500],
      ['shutdown', 'Always', 'CrashLoop', 0, true],
    );
    assert.match(
      String(ended.message),
      /^`a` powered off; restartPolicy Always restarts it at \S+ \(restart 1, after 1s of backoff\)$/,
    );
    // While it backs off: CrashLoop in the status file, as `vman status` shows it; b and c are left.
    const backingOff = status(dir);
    const ready = backingOff.watch?.conditions.find((c) => c.type === 'Ready');
    assert.equal([ready?.status, ready?.reason], ['False', 'CrashLoop'], JSON.stringify(backingOff.watch));
    assert.equal(
      backingOff.watch?.restarts?.map((r) => [r.partition, r.reason, r.ended, r.restarts]),
      [
        ['a', 'CrashLoop', 'shutdown', 0],
        ['b', 'Ended', 'shutdown', 0],
        ['c', 'Ended', 'crashed', 0],
      ],
    );
    const human = vman(dir, ['status']);
    assert.match(human.stdout, /^NAME +STATE +RESTARTS +CORES/m);
    assert.match(human.stdout, /^ {2}Ready: +no \(CrashLoop\) `a` powered off; restartPolicy Always restarts it at /m);
    assert.match(human.stdout, /^ {2}Ended: `b` powered off; restartPolicy OnFailure restarts it after a crash only/m);
    assert.match(
      human.stdout,
      /^ {2}Ended: `c` crashed; restartPolicy Never leaves it so \(`vman apply` starts it\)$/m,
    );

    const restart = await w.waitFor((e) => e.event === 'partition-restart', 'a restarted', 5000, mark);
    assert.equal(
      [restart.partition, restart.ended, restart.restartPolicy, restart.restarts],
      ['a', 'shutdown', 'Always', 1],
    );
    assert.ok(ms(restart) - ms(ended) >= 900, `restarted ${ms(restart) - ms(ended)} ms after the end was seen`);
    await w.waitFor((e) => e.event === 'step-done' && e.step === 'a/wait-ready', 'a up again', 5000, mark);
    assert.equal(live(dir), { a: 'running', b: 'shutdown', c: 'crashed' });
    assert.equal(
      w.of('partition-ended', mark).map((e) => [e.partition, e.reason]),
      [
        ['a', 'CrashLoop'],
        ['b', 'Ended'],
        ['c', 'Ended'],
      ],
    );
    const afterRestart = status(dir);
    assert.equal(
      afterRestart.partitions.map((p) => [p.name, p.restarts]),
      [
        ['a', 1],
        ['b', 0],
        ['c', 0],
      ],
    );
    // The plan shows b and c as they differ from their manifests; only the agent holds them back.
    const plan = vman(dir, ['plan']).stdout;
    assert.match(
      plan,
      /^ {2}# b will be started \(drift\)\n {2}# {3}the partition is shutdown, but should be running$/m,
      plan,
    );
    assert.match(
      plan,
      /^ {2}# c will be started \(drift\)\n {2}# {3}the partition is crashed, but should be running$/m,
      plan,
    );
    assert.match(plan, /^Power: 2 to start, 0 to stop\.$/m, plan);
    assert.ok(existsSync(join(dir, '.vman', 'restarts.json')));

    // A new agent carries on: a crashes again at once, so the wait doubles and the count goes on.
    assert.equal(await w.stop(), { code: 0, signal: null });
    w = new Watch(dir, ['--settle', '200ms', '--resync', '300ms'], BACKOFF);
    await w.started();
    mark = w.events.length;
    assert.equal(w.of('partition-ended'), [], 'ends already seen are not reported again');
    setPower(dir, 'a', 'crashed');
    const again = await w.waitFor((e) => e.event === 'partition-ended' && e.partition === 'a', 'a ended', 5000, mark);
    assert.match(
      String(again.message),
      /^`a` crashed; restartPolicy Always restarts it at \S+ \(restart 2, after 2s of backoff\)$/,
    );
    const second = await w.waitFor((e) => e.event === 'partition-restart', 'a restarted again', 6000, mark);
    assert.is(second.restarts, 2);
    assert.ok(ms(second) - ms(again) >= 1900, `restarted ${ms(second) - ms(again)} ms after the end was seen`);
    await w.waitFor((e) => e.event === 'step-done' && e.step === 'a/wait-ready', 'a up again', 5000, mark);

    // OnFailure: a crash is restarted. Never: only a hand-run apply brings it back (and that is no restart).
    setPower(dir, 'b', 'crashed');
    const b = await w.waitFor((e) => e.event === 'partition-restart' && e.partition === 'b', 'b restarted', 6000, mark);
    assert.equal([b.ended, b.restarts], ['crashed', 1]);
    await w.waitFor((e) => e.event === 'step-done' && e.step === 'b/wait-ready', 'b up again', 5000, mark);
    const apply = vman(dir, ['apply', '--auto-approve']);
    assert.is(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stdout, /^ {2}# c will be started \(drift\)$/m, apply.stdout);
    assert.match(apply.stdout, /^Power: 1 to start, 0 to stop\.$/m, apply.stdout);
    const readyReason = () => status(dir).watch?.conditions.find((c) => c.type === 'Ready')?.reason;
    for (const deadline = Date.now() + 5000; readyReason() !== 'Converged'; await sleep(200))
      assert.ok(Date.now() < deadline, `Ready is ${readyReason()}, not Converged, once c runs again`);
    assert.equal(
      status(dir).partitions.map((p) => [p.name, p.state, p.restarts]),
      [
        ['a', 'running', 2],
        ['b', 'running', 1],
        ['c', 'running', 0],
      ],
    );
    assert.equal(await w.stop(), { code: 0, signal: null });
  } finally {
    w.kill();
    await w.exited;
    cleanup(dir);
  }
});

test('libvirt clients see a restart as Crashed, Stopped Crashed, then Started (virsh event --loop)', async () => {
  if (!haveVirsh()) return skip('virsh event test: /usr/bin/virsh missing; apt-get install libvirt-clients');
  const dir = tempConfig();
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(dir, 'img.bin'), old, old);
  const sock = join(dir, 'vman.sock');
  const w = new Watch(dir, ['--settle', '200ms', '--resync', '300ms', '--libvirt', sock], BACKOFF);
  try {
    const from = await w.started();
    dropByRename(dir, 'a.yaml', yaml('a', policy('OnFailure')));
    await w.waitFor((e) => e.event === 'step-done' && e.step === 'a/wait-ready', 'a created', 10_000, from);
    // virsh listens for 8 s: long enough on a loaded machine for the crash, the backoff and the restart.
    const events = virsh(sock, ['event', '--loop', '--event', 'lifecycle', '--timeout', '8'], 20_000);
    await w.waitFor((e) => e.event === 'libvirt' && e.what === 'connected', 'virsh connected', 5000, from);
    // Connected is not yet registered for events: give virsh time to ask for them.
    await sleep(1000);
    const mark = w.events.length;
    setPower(dir, 'a', 'crashed');
    await w.waitFor((e) => e.event === 'step-done' && e.step === 'a/wait-ready', 'a restarted', 8000, mark);
    const r = await events;
    assert.is(
      r.stdout,
      "event 'lifecycle' for domain 'a': Crashed Panicked\n" +
        "event 'lifecycle' for domain 'a': Stopped Crashed\n" +
        "event 'lifecycle' for domain 'a': Started Booted\n" +
        'event loop timed out\nevents received: 3\n\n',
      r.stdout + r.stderr,
    );
    assert.equal(await w.stop(), { code: 0, signal: null });
  } finally {
    w.kill();
    await w.exited;
    cleanup(dir);
  }
});

test('VMAN_RESTART_BACKOFF that is not FIRST,CAP,HEALTHY is refused before the agent starts', () => {
  const dir = tempConfig();
  try {
    const r = vman(dir, ['watch'], { VMAN_RESTART_BACKOFF: '5s,1s,1m' });
    assert.is(r.code, 1);
    assert.match(r.stderr, /VMAN_RESTART_BACKOFF=5s,1s,1m: give FIRST,CAP,HEALTHY durations, FIRST ≤ CAP/);
  } finally {
    cleanup(dir);
  }
});

test.run();
