// Parallel bring-up (SPEC "Bring-up order and parallelism"): steps run as soon as what they wait for
// is done, at most `parallelism` at once; 1 is exactly the plan's order. On sim with a simulated boot
// time (VMAN_SIM_BOOT_MS), and through a provider that refuses one partition's load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Engine, applied, type EngineEvent } from '../../src/engine/index.js';
import type { Step } from '../../src/plan/types.js';
import { ROOT, cleanup, tempConfig, writePartition } from '../helpers/cli.js';

const PROXY = join(ROOT, 'test', 'providers', 'fixtures', 'proxy.mjs');

function open(dir: string, events: EngineEvent[], o: { parallelism?: number; backend?: string } = {}) {
  return Engine.open({ cwd: dir, configDir: dir, report: (e) => events.push(e), ...o });
}

/** The steps as they started and ended, in event order, and the most that ran at once. */
function timeline(events: readonly EngineEvent[]): { starts: string[]; most: number; overlaps: Set<string> } {
  const running = new Set<string>();
  const starts: string[] = [];
  const overlaps = new Set<string>();
  let most = 0;
  for (const e of events) {
    if (e.type === 'step-start') {
      for (const r of running) overlaps.add(`${r} & ${e.step.id}`);
      running.add(e.step.id);
      starts.push(e.step.id);
      most = Math.max(most, running.size);
    }
    if (e.type === 'step-done' || e.type === 'step-failed') running.delete(e.step.id);
  }
  return { starts, most, overlaps };
}

/** Asserts every step started after the steps in its `after` were done. */
function causal(events: readonly EngineEvent[]): void {
  const done = new Set<string>();
  for (const e of events) {
    if (e.type === 'step-start')
      assert.ok(
        e.step.after.every((a: string) => done.has(a)),
        `${e.step.id} started before ${e.step.after.join(', ')}`,
      );
    if (e.type === 'step-done') done.add(e.step.id);
  }
}

async function withBoot<T>(ms: number, f: () => Promise<T>): Promise<T> {
  process.env.VMAN_SIM_BOOT_MS = String(ms);
  try {
    return await f();
  } finally {
    delete process.env.VMAN_SIM_BOOT_MS;
  }
}

test('independent partitions boot at once: their wait-ready steps overlap; each step waits for its `after`', () =>
  withBoot(300, async () => {
    const dir = tempConfig();
    try {
      for (const n of ['a', 'b', 'c', 'd']) writePartition(dir, n, { cpus: 1 });
      const events: EngineEvent[] = [];
      const out = applied(await (await open(dir, events)).apply());
      assert.ok(out.result?.ok, JSON.stringify(out.result?.failures));
      causal(events);
      const t = timeline(events);
      // Whichever of the two started first (steps that queue together may start in either order).
      const overlap = (x: string, y: string) => t.overlaps.has(`${x} & ${y}`) || t.overlaps.has(`${y} & ${x}`);
      assert.ok(overlap('a/wait-ready', 'b/wait-ready'), [...t.overlaps].join('\n'));
      assert.ok(overlap('c/wait-ready', 'd/wait-ready'), [...t.overlaps].join('\n'));
      assert.ok(t.most >= 4, `at most ${t.most} ran at once`);
    } finally {
      cleanup(dir);
    }
  }));

test('a dependsOn chain stays ordered: b is released only after a is ready, c after b', () =>
  withBoot(200, async () => {
    const dir = tempConfig();
    try {
      writePartition(dir, 'a', { cpus: 1 });
      writePartition(dir, 'b', { cpus: 1, dependsOn: ['a'] });
      writePartition(dir, 'c', { cpus: 1, dependsOn: ['b'] });
      writePartition(dir, 'free', { cpus: 1 });
      const events: EngineEvent[] = [];
      const out = applied(await (await open(dir, events)).apply());
      assert.ok(out.result?.ok);
      causal(events);
      const order = events.map((e) => (e.type === 'step-done' ? e.step.id : '')).filter(Boolean);
      const at = (id: string) => order.indexOf(id);
      assert.ok(at('a/wait-ready') < at('b/release-cores') && at('b/wait-ready') < at('c/release-cores'));
      // What needs no dependency does not wait for one: b and c are loaded while a boots; `free` is not held up.
      assert.ok(at('b/load') < at('a/wait-ready') && at('c/load') < at('a/wait-ready'), order.join(', '));
      assert.ok(at('free/wait-ready') < at('b/wait-ready'), order.join(', '));
    } finally {
      cleanup(dir);
    }
  }));

test('--parallelism 1 runs exactly the plan order; --parallelism 2 never runs more than two steps', () =>
  withBoot(50, async () => {
    const dir = tempConfig();
    try {
      for (const n of ['a', 'b', 'c']) writePartition(dir, n, { cpus: 1 });
      writePartition(dir, 'd', { cpus: 1, dependsOn: ['a'] });
      const events: EngineEvent[] = [];
      const out = applied(await (await open(dir, events, { parallelism: 1 })).apply());
      assert.ok(out.result?.ok);
      assert.equal(
        timeline(events).starts,
        out.plan.steps.map((s: Step) => s.id),
      );
      assert.is(timeline(events).most, 1);

      // Torn down in plan order too; then again from scratch with 2: bounded, and causal.
      const down: EngineEvent[] = [];
      const destroyed = applied(await (await open(dir, down, { parallelism: 1 })).destroy([]));
      assert.equal(
        timeline(down).starts,
        destroyed.plan.steps.map((s: Step) => s.id),
      );
      const two: EngineEvent[] = [];
      assert.ok(applied(await (await open(dir, two, { parallelism: 2 })).apply()).result?.ok);
      causal(two);
      assert.is(timeline(two).most, 2);
    } finally {
      cleanup(dir);
    }
  }));

test('a failing partition is rolled back while the others carry on and finish', () =>
  withBoot(200, async () => {
    const dir = tempConfig();
    process.env.REFUSE = 'load:bad';
    try {
      writePartition(dir, 'ok1', { cpus: 1 });
      writePartition(dir, 'bad', { cpus: 1 });
      writePartition(dir, 'ok2', { cpus: 1 });
      writePartition(dir, 'after-bad', { cpus: 1, dependsOn: ['bad'] });
      const events: EngineEvent[] = [];
      const out = await (await open(dir, events, { backend: PROXY })).apply();
      assert.not.ok(out.result?.ok);
      assert.equal(
        out.result?.failures.map((f) => f.step),
        ['bad/load'],
      );
      assert.ok(events.some((e) => e.type === 'rollback' && e.partition === 'bad' && e.ok));
      const skipped = events
        .filter((e) => e.type === 'step-skipped')
        .map((e) => (e.type === 'step-skipped' ? e.step.id : ''));
      assert.ok(skipped.includes('after-bad/release-cores'), skipped.join(', '));
      const status = await (await open(dir, [], { backend: PROXY })).status();
      assert.equal(
        status.partitions.map((p) => [p.name, p.state]),
        [
          ['after-bad', 'stopped'],
          ['ok1', 'running'],
          ['ok2', 'running'],
        ],
      );
    } finally {
      delete process.env.REFUSE;
      cleanup(dir);
    }
  }));

test('interrupted: the running steps finish (or fail and roll back), nothing else starts', () =>
  withBoot(400, async () => {
    const dir = tempConfig();
    try {
      for (const n of ['a', 'b', 'c']) writePartition(dir, n, { cpus: 1 });
      const events: EngineEvent[] = [];
      const ctl = new AbortController();
      const engine = await open(dir, events, { parallelism: 2 });
      const run = engine.apply({ signal: ctl.signal });
      setTimeout(() => ctl.abort(), 100);
      const out = await run;
      assert.ok(out.result?.interrupted);
      causal(events);
      const started = new Set(timeline(events).starts);
      const ended = new Set(
        events.flatMap((e) => (e.type === 'step-done' || e.type === 'step-failed' ? [e.step.id] : [])),
      );
      assert.equal([...started].sort(), [...ended].sort(), 'every step that started ended');
      assert.ok(events.some((e) => e.type === 'step-skipped' && e.because === 'interrupted'));
      // The next apply converges.
      assert.ok(applied(await (await open(dir, [])).apply()).result?.ok);
      assert.ok((await (await open(dir, [])).plan()).plan.changes.every((c) => c.action === 'noop'));
    } finally {
      cleanup(dir);
    }
  }));

test.run();
