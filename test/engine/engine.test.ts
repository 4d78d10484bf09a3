// The engine on its own, in process, on the sim monitor in temporary config and state dirs: what
// every front end relies on (events, review, the lock, recovery, create/delete, reconcile outcomes).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, applied, reconcileOnce, type EngineEvent } from '../../src/engine/index.js';
import { VmanError } from '../../src/errors.js';
import { acquireLock } from '../../src/apply/lock.js';
import { CODES } from '../../src/rules/codes.js';
import { tempConfig, cleanup, writePartition, partitionYaml } from '../helpers/cli.js';

function open(dir: string, events: EngineEvent[] = [], lockTimeoutMs = 30_000) {
  return Engine.open({ cwd: dir, configDir: dir, lockTimeoutMs, report: (e) => events.push(e) });
}

/** Awaits a promise that must reject; `check` (a RegExp on the message, or a predicate) says with what. */
async function rejects(p: Promise<unknown>, check?: RegExp | ((err: unknown) => boolean)): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (check instanceof RegExp) assert.match(String(err), check);
    else if (check) assert.ok(check(err), String(err));
    return;
  }
  assert.unreachable('expected a rejection');
}

const refuse = async () => {
  throw new VmanError('refused', 'no');
};

test('plan, then apply: events for every step, records written, the next plan is empty', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', { cpus: [1] });
    writePartition(dir, 'b', { cpus: 1, dependsOn: ['a'] });
    const events: EngineEvent[] = [];
    const engine = await open(dir, events);
    const planned = await engine.plan();
    assert.equal(
      planned.plan.changes.map((c) => [c.partition, c.action]),
      [
        ['a', 'create'],
        ['b', 'create'],
      ],
    );
    const out = applied(await engine.apply());
    assert.ok(out.result?.ok);
    assert.is(out.result?.done.length, 10);
    // Every step starts only once the steps it waits for are done (b's release waits for a's wait-ready).
    const finished = new Set<string>();
    for (const e of events) {
      if (e.type === 'step-start')
        assert.ok(
          e.step.after.every((x) => finished.has(x)),
          `${e.step.id} started early`,
        );
      if (e.type === 'step-done') finished.add(e.step.id);
    }
    assert.equal([...finished].sort(), out.plan.steps.map((s) => s.id).sort());
    assert.is(events.filter((e) => e.type === 'step-done').length, 10);
    const again = await (await open(dir)).plan();
    assert.ok(again.plan.changes.every((c) => c.action === 'noop'));
    const status = await engine.status();
    assert.equal(
      status.partitions.map((p) => [p.name, p.state, p.drift]),
      [
        ['a', 'running', []],
        ['b', 'running', []],
      ],
    );
  } finally {
    cleanup(dir);
  }
});

test('a review that refuses changes nothing and releases the lock', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    const engine = await open(dir);
    let seen = 0;
    await rejects(
      engine.apply({
        review: async (r) => {
          seen = r.plan.steps.length;
          await refuse();
        },
      }),
      (err: unknown) => err instanceof VmanError && err.kind === 'refused',
    );
    assert.is(seen, 5);
    assert.is((await engine.status()).partitions.length, 0);
    assert.not.ok(existsSync(join(dir, '.vman', 'lock')));
    assert.not.ok(existsSync(join(dir, '.vman', 'journal.jsonl')));
  } finally {
    cleanup(dir);
  }
});

test('a plan without changes is reviewed (to say so) and runs nothing', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    const engine = await open(dir);
    applied(await engine.apply());
    let reviewed = false;
    const out = await engine.apply({
      review: async () => {
        reviewed = true;
      },
    });
    assert.ok(reviewed);
    assert.is(out.result, undefined);
  } finally {
    cleanup(dir);
  }
});

test('a writer waits for the lock (one lock-wait event), and gives up at its timeout with `locked by`', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    const engine = await open(dir, [], 0);
    mkdirSync(join(dir, '.vman'));
    const held = await acquireLock(join(dir, '.vman'), 'test', 0);
    try {
      const events: EngineEvent[] = [];
      const waiting = await open(dir, events, 300);
      await rejects(waiting.apply(), (err: unknown) => err instanceof VmanError && err.kind === 'locked');
      assert.is(events.filter((e) => e.type === 'lock-wait').length, 1);
      await rejects(engine.apply(), /VmanError: locked by PID/);
    } finally {
      await held.release();
    }
  } finally {
    cleanup(dir);
  }
});

test('an aborted signal ends a wait for the lock as `interrupted`; reconcileOnce reports it so', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    mkdirSync(join(dir, '.vman'));
    const held = await acquireLock(join(dir, '.vman'), 'test', 0);
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const outcome = await reconcileOnce({ cwd: dir, configDir: dir }, { signal: controller.signal });
      assert.equal(outcome, { result: 'interrupted' });
    } finally {
      await held.release();
    }
  } finally {
    cleanup(dir);
  }
});

test('reconcileOnce: invalid input is an outcome with its problems; then it converges; then idles', async () => {
  const dir = tempConfig();
  try {
    writeFileSync(join(dir, 'partitions.d', 'a.yaml'), partitionYaml('a', { memory: '16MB' }));
    const signal = new AbortController().signal;
    const bad = await reconcileOnce({ cwd: dir, configDir: dir }, { signal });
    assert.is(bad.result, 'invalid');
    if (bad.result === 'invalid') assert.ok(bad.problems.some((p) => p.position?.line === 7));
    writePartition(dir, 'a');
    const reviewed: string[] = [];
    const good = await reconcileOnce(
      { cwd: dir, configDir: dir },
      { signal, review: async (r) => void reviewed.push(...r.plan.changes.map((c) => c.action)) },
    );
    assert.equal(good, { result: 'converged', summary: summaryOf({ create: 1 }), stepsRun: 5 });
    assert.equal(reviewed, ['create']);
    const idle = await reconcileOnce({ cwd: dir, configDir: dir }, { signal });
    assert.equal(idle, { result: 'converged', summary: summaryOf({ noop: 1 }), stepsRun: 0 });
    const gone = await reconcileOnce({ cwd: dir, configDir: join(dir, 'nope') }, { signal });
    assert.is(gone.result, 'invalid');
    if (gone.result === 'invalid') assert.is(gone.problems[0]?.code, CODES.noConfig);
  } finally {
    cleanup(dir);
  }
});

function summaryOf(n: Partial<Record<string, number>>): Record<string, number> {
  return { create: 0, delete: 0, replace: 0, restart: 0, start: 0, stop: 0, noop: 0, ...n };
}

test('an interrupted run is recovered: a `recovered` event, the journal retired, a plan from live state', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    const state = join(dir, '.vman');
    const engine = await open(dir);
    applied(await engine.apply());
    // What a killed writer leaves: a journal with a step begun and not finished.
    const begin = { t: 'begin', pid: 99999999, operation: 'apply', time: 'then', steps: ['b/allocate'] };
    const intent = { t: 'intent', step: 'b/allocate', time: 'then' };
    writeFileSync(join(state, 'journal.jsonl'), `${JSON.stringify(begin)}\n${JSON.stringify(intent)}\n`);
    const events: EngineEvent[] = [];
    const out = await (await open(dir, events)).apply();
    const rec = events.find((e) => e.type === 'recovered');
    assert.ok(rec && rec.type === 'recovered' && rec.interrupted.inFlight.includes('b/allocate'));
    assert.is(out.recovered?.pid, 99999999);
    assert.not.ok(existsSync(join(state, 'journal.jsonl')));
    assert.is(out.result, undefined);
  } finally {
    cleanup(dir);
  }
});

test('create adds one manifest (paths absolute) and applies it; a refused review takes the file back', async () => {
  const dir = tempConfig();
  try {
    const src = join(dir, 'new.yaml');
    writeFileSync(src, partitionYaml('fresh', { image: 'img.bin' }));
    const engine = await open(dir);
    await rejects(engine.create(src, { review: refuse }));
    assert.equal(readdirSync(join(dir, 'partitions.d')), []);
    const out = applied(await engine.create(src));
    assert.is(out.file, join(dir, 'partitions.d', 'fresh.yaml'));
    assert.match(readFileSync(out.file, 'utf8'), `image: ${join(dir, 'img.bin')}`);
    assert.ok(out.result?.ok);
    await rejects(engine.create(src), /already declared in/);
  } finally {
    cleanup(dir);
  }
});

test('delete removes only its document from a file of several, then destroys the partition', async () => {
  const dir = tempConfig();
  try {
    writeFileSync(join(dir, 'partitions.d', 'two.yaml'), `${partitionYaml('a')}---\n${partitionYaml('b')}`);
    const engine = await open(dir);
    applied(await engine.apply());
    const out = applied(await engine.delete('a'));
    assert.is(out.declaration?.count, 2);
    const left = readFileSync(join(dir, 'partitions.d', 'two.yaml'), 'utf8');
    assert.match(left, 'name: b');
    assert.not.match(left, 'name: a');
    assert.equal(
      (await engine.status()).partitions.map((p) => p.name),
      ['b'],
    );
    await rejects(engine.delete('zz'), /no partition is called `zz`/);
  } finally {
    cleanup(dir);
  }
});

test('tree: the planned tree before apply, the live one after; an unknown name suggests one', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'alpha', { bootargs: 'console=ttyAMA0' });
    const engine = await open(dir);
    const planned = await engine.tree('alpha');
    assert.is(planned.origin, 'planned');
    applied(await engine.apply());
    const live = await engine.tree('alpha');
    assert.is(live.origin, 'live');
    assert.equal([...live.bytes], [...planned.bytes]);
    await rejects(engine.tree('alpah'), /did you mean `alpha`/);
  } finally {
    cleanup(dir);
  }
});

test('a restart shows the device trees it changes (live before, planned after)', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', { bootargs: 'one' });
    const engine = await open(dir);
    applied(await engine.apply());
    writePartition(dir, 'a', { bootargs: 'two' });
    const p = await engine.plan({}, { trees: true });
    assert.equal(
      p.plan.changes.map((c) => c.action),
      ['restart'],
    );
    assert.is(p.trees?.length, 1);
    const t = p.trees?.[0];
    assert.ok(t?.before && Buffer.from(t.before).includes('one'));
    assert.ok(t && Buffer.from(t.after).includes('two'));
  } finally {
    cleanup(dir);
  }
});

test('define adds a manifest and reconciles it; a redefinition replaces it in place; failures undo it', async () => {
  const dir = tempConfig();
  try {
    const engine = await open(dir);
    const img = join(dir, 'img.bin');
    const out = applied(await engine.define(partitionYaml('d', { image: img, state: 'stopped' })));
    assert.is(out.spec.name, 'd');
    assert.ok(existsSync(join(dir, 'partitions.d', 'd.yaml')));
    assert.equal(
      (await engine.status()).partitions.map((p) => [p.name, p.state]),
      [['d', 'stopped']],
    );
    // Redefined in a file of several: only its document changes.
    writeFileSync(
      join(dir, 'partitions.d', 'd.yaml'),
      `${partitionYaml('d', { image: img, state: 'stopped' })}---\n` +
        partitionYaml('e', { image: img, state: 'stopped' }),
    );
    applied(await engine.define(partitionYaml('d', { image: img, state: 'stopped', bootargs: 'x' })));
    const text = readFileSync(join(dir, 'partitions.d', 'd.yaml'), 'utf8');
    assert.match(text, 'bootargs: "x"');
    assert.match(text, 'name: e');
    // An unplaceable definition changes nothing.
    const before = readFileSync(join(dir, 'partitions.d', 'd.yaml'), 'utf8');
    await rejects(engine.define(partitionYaml('d', { image: img, cpus: [0] })), /reserved/);
    assert.is(readFileSync(join(dir, 'partitions.d', 'd.yaml'), 'utf8'), before);
    await rejects(engine.define(partitionYaml('big', { image: img, memory: '64Gi' })));
    assert.not.ok(existsSync(join(dir, 'partitions.d', 'big.yaml')));
  } finally {
    cleanup(dir);
  }
});

test('setState starts and stops a declared partition through its manifest; an unknown name has a reason', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', { state: 'stopped' });
    const engine = await open(dir);
    applied(await engine.apply());
    applied(await engine.setState('a', 'running'));
    assert.match(readFileSync(join(dir, 'partitions.d', 'a.yaml'), 'utf8'), 'state: running');
    assert.equal(
      (await engine.status()).partitions.map((p) => p.state),
      ['running'],
    );
    const again = await engine.setState('a', 'running');
    assert.is(again.result, undefined);
    applied(await engine.setState('a', 'stopped'));
    assert.equal(
      (await engine.status()).partitions.map((p) => p.state),
      ['stopped'],
    );
    await rejects(engine.setState('zz', 'running'), (e) => e instanceof VmanError && e.reason === 'no-such-partition');
  } finally {
    cleanup(dir);
  }
});

test('delete with refuseRunning refuses a running partition (reason wrong-state) and changes nothing', async () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a');
    const engine = await open(dir);
    applied(await engine.apply());
    await rejects(
      engine.delete('a', { refuseRunning: true }),
      (e) => e instanceof VmanError && e.reason === 'wrong-state',
    );
    assert.ok(existsSync(join(dir, 'partitions.d', 'a.yaml')));
    applied(await engine.setState('a', 'stopped'));
    applied(await engine.delete('a', { refuseRunning: true }));
    assert.not.ok(existsSync(join(dir, 'partitions.d', 'a.yaml')));
    const inv = await engine.inventory();
    assert.equal(inv.specs, []);
    assert.equal(inv.live.partitions, []);
  } finally {
    cleanup(dir);
  }
});

test.run();
