// The fleet agent's list/watch loop against a scripted API (a fake that unit-tests the client side
// only; the agent against a real API server is test/fleet/agent.test.ts): a watch resumes from the
// last resourceVersion it saw, 410 Gone relists, a failed watch backs off and relists, an agent that
// starts offline goes on from its saved desired state, and one that has none does nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFleetAgent, type FleetEvent } from '../../src/fleet/agent.js';
import { FleetApiError, type FleetApi, type RunningWatch, type WatchEvent } from '../../src/fleet/kube.js';
import type { PartitionObject } from '../../src/fleet/resource.js';
import { DEFAULT_RESTART_TIMING } from '../../src/engine/index.js';
import { IMAGE, sleep } from './agent-support.js';

interface OpenWatch {
  readonly rv: string;
  readonly onEvent: (e: WatchEvent) => void;
  readonly end: (e: FleetApiError | undefined) => void;
}

/** An API server as a script: what list returns, the watches opened, the statuses patched. */
class ScriptedApi implements FleetApi {
  readonly server = 'https://scripted';
  readonly namespace = 'vman-dev1';
  lists = 0;
  reachable = true;
  rv = 100;
  readonly watches: OpenWatch[] = [];
  readonly patched: string[] = [];

  constructor(public items: PartitionObject[]) {}

  async list() {
    this.lists++;
    if (!this.reachable) throw new FleetApiError('listing: https://scripted is unreachable', undefined);
    this.rv += 10;
    return { items: this.items, resourceVersion: String(this.rv) };
  }

  async watch(rv: string, onEvent: (e: WatchEvent) => void): Promise<RunningWatch> {
    if (!this.reachable) throw new FleetApiError('watching: https://scripted is unreachable', undefined);
    let end: (e: FleetApiError | undefined) => void = () => undefined;
    const ended = new Promise<FleetApiError | undefined>((r) => {
      end = r;
    });
    this.watches.push({ rv, onEvent, end });
    return { ended, stop: () => end(undefined) };
  }

  async patchStatus(name: string, status: unknown): Promise<PartitionObject> {
    this.patched.push(name);
    return { metadata: { name }, status: status as Record<string, unknown> };
  }

  async heartbeat(): Promise<void> {}

  async event(): Promise<void> {}
}

const p1: PartitionObject = {
  metadata: { name: 'p1', uid: 'u1', generation: 1, resourceVersion: '5', labels: { 'vman.dev/node': 'dev1' } },
  spec: { nodeName: 'dev1', cpus: 1, memory: '16Mi', boot: { image: IMAGE } },
};

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

/** Runs an agent on the sim backend in `state` until `f` returns, then stops it. */
async function withAgent(api: ScriptedApi, state: string, f: (events: FleetEvent[]) => Promise<void>) {
  const events: FleetEvent[] = [];
  const stop = new AbortController();
  const running = runFleetAgent({
    node: 'dev1',
    api,
    stateDir: state,
    engine: { cwd: state },
    pathBase: state,
    resyncMs: 600_000,
    restartTiming: DEFAULT_RESTART_TIMING,
    stop: stop.signal,
    emit: (e) => events.push(e),
  });
  try {
    await f(events);
  } finally {
    stop.abort();
    await running;
  }
}

const converged = (events: FleetEvent[]) =>
  events.some((e) => e.event === 'reconcile-finished' && e.result === 'converged');

test('a watch resumes from the last resourceVersion it saw; 410 Gone relists', async () => {
  const state = mkdtempSync(join(tmpdir(), 'vman-fleet-loop-'));
  const api = new ScriptedApi([p1]);
  try {
    await withAgent(api, state, async (events) => {
      await until('the first watch', () => api.watches.length === 1);
      assert.is(api.watches[0]?.rv, '110', 'from the list');
      await until('p1 reported', () => converged(events) && api.patched.includes('p1'));
      // An event moves the resourceVersion on; the stream then closes as the server's timeout closes it.
      api.watches[0]?.onEvent({
        type: 'MODIFIED',
        object: { ...p1, metadata: { ...p1.metadata, resourceVersion: '117' } },
      });
      api.watches[0]?.end(undefined);
      await until('the second watch', () => api.watches.length === 2);
      assert.equal([api.watches[1]?.rv, api.lists], ['117', 1], 'resumed, not relisted');
      // Too old to resume: the server sends a Status with 410 in the stream.
      api.watches[1]?.onEvent({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
      await until('a relist and a third watch', () => api.watches.length === 3);
      assert.equal([api.lists, api.watches[2]?.rv], [2, '120']);
    });
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('a failed watch: disconnected, a backed-off relist, connected again', async () => {
  const state = mkdtempSync(join(tmpdir(), 'vman-fleet-loop-'));
  const api = new ScriptedApi([p1]);
  try {
    await withAgent(api, state, async (events) => {
      await until('the first watch', () => api.watches.length === 1 && converged(events));
      api.reachable = false;
      const t0 = Date.now();
      api.watches[0]?.end(new FleetApiError('watching: connection reset', undefined));
      await until('disconnected', () => events.some((e) => e.event === 'disconnected'));
      await until('a second failed list', () => api.lists >= 2, 5000);
      assert.ok(Date.now() - t0 >= 400, 'the retry waited (1 s, jittered to at least half)');
      api.reachable = true;
      await until('connected again', () => events.filter((e) => e.event === 'connected').length === 2, 20_000);
      assert.is(api.watches.length, 2);
    });
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('offline from the start: the saved desired state is reconciled; without one, nothing is', async () => {
  const state = mkdtempSync(join(tmpdir(), 'vman-fleet-loop-'));
  try {
    // Online once: p1 is created and its desired state saved.
    await withAgent(new ScriptedApi([p1]), state, async (events) => {
      await until('p1 created', () => converged(events));
    });
    const away = new ScriptedApi([]);
    away.reachable = false;
    await withAgent(away, state, async (events) => {
      await until('offline', () => events.some((e) => e.event === 'offline'));
      await until('a reconcile from the copy', () => converged(events));
      const finished = events.find((e) => e.event === 'reconcile-finished');
      assert.equal(finished && 'stepsRun' in finished ? finished.stepsRun : -1, 0, 'p1 kept as it is');
    });
    const empty = mkdtempSync(join(tmpdir(), 'vman-fleet-loop-'));
    try {
      await withAgent(away, empty, async (events) => {
        await until('disconnected', () => events.some((e) => e.event === 'disconnected'));
        await sleep(300);
        assert.not.ok(events.some((e) => e.event === 'reconcile-started' || e.event === 'offline'));
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test.run();
