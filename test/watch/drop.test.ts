// `vman watch` on real files against the sim monitor: drops by copy and by rename, slow writers,
// invalid files, deletions and bursts. Each test runs the built CLI and reads its JSON events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { tempConfig, cleanup, vman } from '../helpers/cli.js';
import { Watch, bigBoard, dropByRename, live, sleep, status, yaml, type StatusJson } from './support.js';

const FAST = ['--settle', '200ms', '--resync', '30s'];

async function withWatch(
  args: readonly string[],
  body: (w: Watch, dir: string) => Promise<void>,
  prepare?: (dir: string) => void,
): Promise<void> {
  const dir = tempConfig();
  // An image prepared earlier: a first sighting counts once its mtime is the settle time old.
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(dir, 'img.bin'), old, old);
  prepare?.(dir);
  const w = new Watch(dir, args);
  try {
    await body(w, dir);
  } finally {
    w.kill();
    await w.exited;
    cleanup(dir);
  }
}

const changesOf = (w: Watch, file: string, from = 0) =>
  w
    .of('file', from)
    .filter((e) => e.path === file)
    .map((e) => e.change);

test('a drop by copy (written in place) settles, then the partition is live', async () => {
  await withWatch(FAST, async (w, dir) => {
    const from = await w.started();
    mkdirSync(join(dir, 'staging'));
    writeFileSync(join(dir, 'staging', 'a.yaml'), yaml('a'));
    copyFileSync(join(dir, 'staging', 'a.yaml'), join(dir, 'partitions.d', 'a.yaml'));
    const done = await w.finished(from);
    assert.is(done.result, 'converged', w.dump());
    assert.is(done.stepsRun, 5);
    assert.equal(changesOf(w, 'partitions.d/a.yaml'), ['writing', 'settled']);
    const started = w.of('reconcile-started', from);
    assert.equal(
      started.map((e) => e.files),
      [['partitions.d/a.yaml']],
    );
    assert.equal(
      w.of('step-done', from).map((e) => e.step),
      ['a/allocate', 'a/build-fdt', 'a/load', 'a/release-cores', 'a/wait-ready'],
    );
    assert.equal(live(dir), { a: 'running' });
  });
});

test('a drop by atomic rename counts at once, long before the settle time', async () => {
  await withWatch(['--settle', '3s', '--resync', '30s'], async (w, dir) => {
    const from = await w.started();
    const t0 = Date.now();
    dropByRename(dir, 'a.yaml', yaml('a'));
    const begun = await w.waitFor(
      (e) => e.event === 'reconcile-started' && e.trigger === 'files',
      'the reconcile',
      10_000,
      from,
    );
    const reaction = Date.parse(begun.time) - t0;
    assert.ok(reaction < 1000, `reconcile started ${reaction} ms after the rename (settle is 3 s)\n${w.dump()}`);
    const done = await w.finished(from);
    assert.is(done.result, 'converged', w.dump());
    assert.equal(changesOf(w, 'partitions.d/a.yaml'), ['arrived']);
    assert.equal(live(dir), { a: 'running' });
    const s = status(dir);
    assert.is(s.watch?.running, true);
    assert.equal(
      s.watch?.conditions.map((c) => `${c.type}=${c.status}`),
      ['Ready=True', 'Reconciling=False', 'Stalled=False'],
    );
  });
});

test('a file written slowly in chunks is applied only when whole', async () => {
  await withWatch(['--settle', '500ms', '--resync', '30s'], async (w, dir) => {
    const from = await w.started();
    const text = yaml('slow');
    // Chunk 1 ends inside `metadata`, chunk 2 inside `spec`: each a YAML document that would be a problem if applied.
    const cuts = [text.indexOf('metadata:') + 'metadata:'.length, text.indexOf('memory:')];
    const chunks = [text.slice(0, cuts[0]), text.slice(cuts[0], cuts[1]), text.slice(cuts[1])];
    const file = join(dir, 'partitions.d', 'slow.yaml');
    writeFileSync(file, chunks[0] ?? '');
    await sleep(300);
    appendFileSync(file, chunks[1] ?? '');
    await sleep(300);
    appendFileSync(file, chunks[2] ?? '');
    const last = Date.now();
    const done = await w.finished(from);
    assert.is(done.result, 'converged', w.dump());
    assert.equal(w.of('problem', from), [], 'a partial file was applied');
    const started = w.of('reconcile-started', from);
    assert.is(started.length, 1, w.dump());
    const waited = Date.parse(started[0]?.time ?? '') - last;
    assert.ok(waited >= 480, `reconciled ${waited} ms after the last chunk; settle is 500 ms`);
    assert.equal(changesOf(w, 'partitions.d/slow.yaml'), ['writing', 'settled']);
    assert.equal(live(dir), { slow: 'running' });
  });
});

test('an invalid file: reported once, nothing changed, agent alive; fixed, it is applied', async () => {
  await withWatch(['--settle', '200ms', '--resync', '1s'], async (w, dir) => {
    const from = await w.started();
    dropByRename(dir, 'a.yaml', yaml('a'));
    await w.finished(from);
    const shape = (ps: StatusJson['partitions']) => ps.map((p) => [p.name, p.state, p.cpus, p.memory]);
    const before = shape(status(dir).partitions);
    const mark = w.events.length;
    dropByRename(dir, 'bad.yaml', yaml('bad', { cpus: 1 }).replace('memory: 16Mi', 'memory: 16MB'));
    const first = await w.finished(mark);
    assert.is(first.result, 'invalid', w.dump());
    const problems = w.of('problem', mark);
    assert.is(problems.length, 1, w.dump());
    assert.is(problems[0]?.file, 'partitions.d/bad.yaml');
    assert.is(problems[0]?.line, 7);
    assert.is(problems[0]?.code, 'VMAN-E208');
    // Two resyncs later: still reported once, nothing changed, still running.
    const afterFirst = w.events.length;
    await w.finished(afterFirst, 'resync', 5000);
    await w.finished(w.events.length, 'resync', 5000);
    assert.is(w.of('problem', mark).length, 1, 'the problem was reported again');
    assert.is((w.stderr.match(/VMAN-E208/g) ?? []).length, 1, w.stderr);
    assert.ok(w.alive);
    const s = status(dir);
    assert.equal(shape(s.partitions), before);
    assert.equal(
      s.partitions.map((p) => p.drift),
      [null],
    );
    assert.equal(
      s.watch?.problems.map((p) => [p.code, p.file, p.line]),
      [['VMAN-E208', 'partitions.d/bad.yaml', 7]],
    );
    assert.equal(s.watch?.conditions.find((c) => c.type === 'Stalled')?.reason, 'InvalidManifests');
    // Fixed: applied, and the problems are cleared.
    const fix = w.events.length;
    dropByRename(dir, 'bad.yaml', yaml('bad', { cpus: 1 }));
    const fixed = await w.waitFor(
      (e) => e.event === 'reconcile-finished' && e.result === 'converged' && e.trigger === 'files',
      'the fixed reconcile',
      10_000,
      fix,
    );
    assert.is(fixed.stepsRun, 5);
    assert.equal(
      w.of('problems-cleared', fix).map((e) => e.count),
      [1],
    );
    assert.equal(live(dir), { a: 'running', bad: 'running' });
  });
});

test('deleting a manifest destroys that partition only', async () => {
  await withWatch(FAST, async (w, dir) => {
    const from = await w.started();
    dropByRename(dir, 'a.yaml', yaml('a'));
    dropByRename(dir, 'b.yaml', yaml('b'));
    await w.waitFor(
      (e) => e.event === 'reconcile-finished' && e.trigger === 'files' && e.result === 'converged',
      'both created',
      10_000,
      from,
    );
    await sleep(300);
    assert.equal(live(dir), { a: 'running', b: 'running' });
    const monitor = () =>
      JSON.parse(readFileSync(join(dir, '.vman', 'sim', 'monitor.json'), 'utf8')) as {
        partitions: Record<string, unknown>;
      };
    const aBefore = monitor().partitions.a;
    const mark = w.events.length;
    rmSync(join(dir, 'partitions.d', 'b.yaml'));
    const done = await w.finished(mark);
    assert.is(done.result, 'converged', w.dump());
    assert.equal(changesOf(w, 'partitions.d/b.yaml', mark), ['removed']);
    assert.equal(
      w.of('plan', mark).map((e) => e.changes),
      [[{ partition: 'b', action: 'delete', reasons: ['no manifest declares it'] }]],
    );
    assert.equal(
      w.of('step-done', mark).map((e) => e.step),
      ['b/stop-cores', 'b/scrub-memory', 'b/release-resources'],
    );
    assert.equal(live(dir), { a: 'running' });
    assert.equal(monitor().partitions.a, aBefore);
  });
});

test('a burst of 20 files dropped at once gives one or two reconciles, not 20', async () => {
  await withWatch(
    FAST,
    async (w, dir) => {
      const from = await w.started();
      for (let i = 0; i < 20; i++)
        writeFileSync(
          join(dir, 'partitions.d', `p${String(i).padStart(2, '0')}.yaml`),
          yaml(`p${String(i).padStart(2, '0')}`),
        );
      const stepsRun = () => w.of('reconcile-finished', from).reduce((n, e) => n + Number(e.stepsRun), 0);
      await w.waitFor(() => stepsRun() >= 100, 'all 20 created', 20_000, from);
      await sleep(500);
      const reconciles = w.of('reconcile-started', from);
      assert.ok(reconciles.length >= 1 && reconciles.length <= 2, `${reconciles.length} reconciles:\n${w.dump()}`);
      assert.is(Object.keys(live(dir)).length, 20);
    },
    (dir) => writeFileSync(join(dir, 'board.yaml'), bigBoard(24)),
  );
});

test('vman status shows the agent: running while it runs, stopped after SIGTERM', async () => {
  await withWatch(FAST, async (w, dir) => {
    await w.started();
    const running = vman(dir, ['status']);
    assert.match(running.stdout, new RegExp(`Watch agent: running \\(PID ${w.pid}, `));
    assert.match(running.stdout, 'Ready:       yes (Converged)');
    const end = await w.stop();
    assert.equal(end, { code: 0, signal: null });
    const s = status(dir);
    assert.is(s.watch?.running, false);
    assert.is(s.watch?.state, 'stopped');
    assert.equal(s.watch?.conditions.find((c) => c.type === 'Ready')?.reason, 'Stopped');
    assert.match(vman(dir, ['status']).stdout, 'Watch agent: not running (stopped at ');
    assert.not.ok(existsSync(join(dir, '.vman', 'lock')));
  });
});

test.run();
