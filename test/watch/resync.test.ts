// Level-triggered: the periodic resync reads the live monitor and corrects drift made behind
// vman's back; between reconciles the agent holds no lock, so `vman apply` runs at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { tempConfig, cleanup, vman } from '../helpers/cli.js';
import { Watch, dropByRename, live, setPower, yaml } from './support.js';

// A partition whose OS ended by itself (shutdown, crashed) is the restart policy's (restart.test.ts).
test('drift is corrected by the next resync: a partition paused behind our back is started again', async () => {
  const dir = tempConfig();
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(dir, 'img.bin'), old, old);
  const w = new Watch(dir, ['--settle', '200ms', '--resync', '1s']);
  try {
    const from = await w.started();
    dropByRename(dir, 'a.yaml', yaml('a'));
    dropByRename(dir, 'b.yaml', yaml('b'));
    await w.waitFor(
      (e) =>
        e.event === 'reconcile-finished' && e.trigger === 'files' && e.result === 'converged' && Number(e.stepsRun) > 0,
      'a and b created',
      10_000,
      from,
    );
    assert.equal(live(dir), { a: 'running', b: 'running' });
    const mark = w.events.length;
    setPower(dir, 'a', 'paused');
    assert.equal(live(dir), { a: 'paused', b: 'running' });
    const fixed = await w.waitFor(
      (e) => e.event === 'reconcile-finished' && e.trigger === 'resync' && Number(e.stepsRun) > 0,
      'a resync that corrects the drift',
      5000,
      mark,
    );
    assert.is(fixed.result, 'converged', w.dump());
    assert.equal((fixed.summary as Record<string, number>).start, 1);
    assert.ok(w.of('resync', mark).length >= 1);
    assert.equal(
      w.of('plan', mark).map((e) => e.changes),
      [[{ partition: 'a', action: 'start', reasons: ['the partition is paused, but should be running'] }]],
    );
    assert.equal(
      w.of('step-done', mark).map((e) => e.step),
      ['a/scrub-memory', 'a/build-fdt', 'a/load', 'a/release-cores', 'a/wait-ready'],
    );
    assert.equal(live(dir), { a: 'running', b: 'running' });
    // Idle between reconciles: the agent holds no lock, so a writer gets it at once.
    const apply = vman(dir, ['apply', '--auto-approve', '--lock-timeout', '0s']);
    assert.is(apply.code, 0, apply.stdout + apply.stderr);
    assert.equal(await w.stop(), { code: 0, signal: null });
  } finally {
    w.kill();
    await w.exited;
    cleanup(dir);
  }
});

test.run();
