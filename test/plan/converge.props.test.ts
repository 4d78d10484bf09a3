// Property: for random boards and manifests, an applied plan never gives two partitions (or a
// partition and a reservation) the same core, byte or device, and one apply converges: the next
// plan has no changes. Applied for real, in process, on the sim monitor in a temp state dir.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Board } from '../../src/board/model.js';
import type { PartitionSpec } from '../../src/manifest/types.js';
import type { DesiredInputs, BootFacts } from '../../src/desired/load.js';
import { resolveDesired } from '../../src/desired/resolve.js';
import { makePlan } from '../../src/plan/plan.js';
import { executePlan } from '../../src/apply/execute.js';
import { Journal, retireJournal } from '../../src/apply/journal.js';
import { acquireLock } from '../../src/apply/lock.js';
import type { StateRecords } from '../../src/apply/records.js';
import { SimMonitor } from '../../src/backends/sim/monitor.js';
import type { LiveState } from '../../src/backends/types.js';
import { sha256Hex } from '../../src/images/digest.js';
import { makeBoard, MiB } from '../alloc/boards.js';

const tmp = mkdtempSync(join(tmpdir(), 'vman-converge-'));
const imagePath = join(tmp, 'img.bin');
const imageBytes = new Uint8Array(8192).map((_, i) => (i * 13) & 0xff);
writeFileSync(imagePath, imageBytes);
const facts: BootFacts = {
  image: { kind: 'raw', size: imageBytes.length },
  main: {
    path: imagePath,
    size: imageBytes.length,
    sha256: sha256Hex(imageBytes),
    head: imageBytes,
    read: async () => imageBytes,
  },
  overlays: [],
};

interface Shape {
  name: string;
  cpus: { count: number } | { ids: number[] };
  mem: number;
  devices: string[];
  state: 'running' | 'stopped';
  bootargs: string;
  dependsOn: string[];
}

function spec(s: Shape): PartitionSpec {
  return {
    name: s.name,
    labels: {},
    state: s.state,
    cpus: s.cpus,
    memory: { size: s.mem * MiB },
    devices: s.devices,
    boot: { kind: 'image', image: imagePath, bootargs: s.bootargs, overlays: [], sha256: {} },
    dependsOn: s.dependsOn,
    readiness: { timeoutMs: 1000 },
    source: {
      file: `${s.name}.yaml`,
      absFile: `/x/${s.name}.yaml`,
      doc: 0,
      position: { file: `${s.name}.yaml`, line: 1, column: 1 },
      fields: {},
    },
  };
}

const boardArb = fc
  .record({
    cores: fc.integer({ min: 3, max: 12 }),
    banks: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 2 }),
    devices: fc.integer({ min: 0, max: 6 }),
  })
  .map(({ cores, banks, devices }): Board => {
    let base = 0x4000_0000;
    const memory = banks.map((n) => {
      const m = { base, size: n * 64 * MiB };
      base += m.size + 256 * MiB;
      return m;
    });
    return makeBoard({
      cores,
      memory,
      reserved: [{ owner: 'management', cpus: [0], memory: [{ base: 0x4000_0000, size: 32 * MiB }], devices: [] }],
      devices: Array.from({ length: devices }, (_, i) => `virtio${i}`),
    });
  });

function shapesArb(board: Board): fc.Arbitrary<Shape[]> {
  const devs = board.devices.map((d) => d.name);
  return fc
    .array(
      fc.record({
        cpus: fc.oneof(
          fc.integer({ min: 1, max: 2 }).map((count) => ({ count })),
          fc
            .uniqueArray(fc.integer({ min: 1, max: board.cpus.length - 1 }), { minLength: 1, maxLength: 2 })
            .map((ids) => ({ ids: ids.sort((a, b) => a - b) })),
        ),
        mem: fc.integer({ min: 4, max: 48 }).map((n) => n),
        devices: fc.subarray(devs, { maxLength: Math.min(2, devs.length) }),
        state: fc.constantFrom<'running' | 'stopped'>('running', 'running', 'stopped'),
        bootargs: fc.constantFrom('a', 'b'),
        dep: fc.boolean(),
      }),
      { minLength: 1, maxLength: 5 },
    )
    .map((xs) => {
      const used = new Set<string>();
      return xs.map((x, i) => {
        const devices = x.devices.filter((d) => !used.has(d));
        devices.forEach((d) => used.add(d));
        return {
          name: `p${i}`,
          cpus: x.cpus,
          mem: x.mem,
          devices,
          state: x.state,
          bootargs: x.bootargs,
          dependsOn: x.dep && i > 0 ? [`p${i - 1}`] : [],
        };
      });
    });
}

function inputs(board: Board, shapes: Shape[]): DesiredInputs {
  return {
    board,
    specs: shapes.map(spec),
    boot: new Map(shapes.map((s) => [s.name, facts])),
    manifestFiles: [],
    present: true,
    problems: [],
  };
}

const overlaps = (a: { base: number; size: number }, b: { base: number; size: number }) =>
  a.base < b.base + b.size && b.base < a.base + a.size;

function assertIsolated(board: Board, live: LiveState): void {
  const ps = live.partitions;
  for (const p of ps) {
    for (const r of board.reserved) {
      assert.not.ok(
        p.cpus.some((c) => r.cpus.includes(c)),
        `${p.name} holds a reserved core`,
      );
      assert.not.ok(
        r.memory.some((m) => overlaps(m, p.memory)),
        `${p.name} overlaps reserved memory`,
      );
    }
    for (const q of ps) {
      if (q === p) continue;
      assert.not.ok(overlaps(p.memory, q.memory), `${p.name} and ${q.name} overlap`);
      assert.not.ok(
        p.cpus.some((c) => q.cpus.includes(c)),
        `${p.name} and ${q.name} share a core`,
      );
      assert.not.ok(
        p.devices.some((d) => q.devices.includes(d)),
        `${p.name} and ${q.name} share a device`,
      );
    }
  }
}

/** Plans and applies, as `vman apply` does; returns false when the desired set does not fit. */
async function applyOnce(stateDir: string, board: Board, shapes: Shape[], records: StateRecords): Promise<boolean> {
  const monitor = new SimMonitor(board, stateDir);
  const raw = await monitor.read();
  const live: LiveState = {
    partitions: raw.partitions.map((p) =>
      records.partitions[p.name] ? { ...p, record: records.partitions[p.name] } : p,
    ),
    orphans: [],
  };
  const set = resolveDesired(inputs(board, shapes), {
    existing: live.partitions.map((p) => ({ name: p.name, cpus: p.cpus, memory: p.memory, devices: p.devices })),
    digest: sha256Hex,
  });
  if (set.problems.length) return false;
  const plan = makePlan(set.resolved, live);
  mkdirSync(stateDir, { recursive: true });
  const lock = await acquireLock(stateDir, 'test', 0);
  const journal = await Journal.begin(
    stateDir,
    'test',
    plan.steps.map((s) => s.id),
  );
  const result = await executePlan(plan, {
    monitor,
    journal,
    lock,
    records,
    saveRecords: async () => undefined,
    onEvent: () => undefined,
    signal: new AbortController().signal,
  });
  await journal.close();
  await retireJournal(stateDir);
  await lock.release();
  assert.ok(result.ok, JSON.stringify(result.failures));
  return true;
}

async function planNow(stateDir: string, board: Board, shapes: Shape[], records: StateRecords) {
  const raw = await new SimMonitor(board, stateDir).read();
  const live: LiveState = {
    partitions: raw.partitions.map((p) =>
      records.partitions[p.name] ? { ...p, record: records.partitions[p.name] } : p,
    ),
    orphans: [],
  };
  const set = resolveDesired(inputs(board, shapes), {
    existing: live.partitions.map((p) => ({ name: p.name, cpus: p.cpus, memory: p.memory, devices: p.devices })),
    digest: sha256Hex,
  });
  return { live, plan: makePlan(set.resolved, live), problems: set.problems };
}

test('random boards and manifests: plans never overlap; one apply converges (also after a changed set)', async () => {
  let run = 0;
  let applied = 0;
  await fc.assert(
    fc.asyncProperty(
      boardArb.chain((b) => fc.tuple(fc.constant(b), shapesArb(b), shapesArb(b))),
      async ([board, v1, v2]) => {
        try {
          await check(board, v1, v2);
        } catch (err) {
          // fast-check keeps only the counterexample; say what failed.
          console.error(String((err as Error).message).slice(0, 2000));
          throw err;
        }
      },
    ),
    { seed: 424242, numRuns: 120 },
  );
  async function check(board: Board, v1: Shape[], v2: Shape[]): Promise<void> {
    const stateDir = join(tmp, `s${run++}`);
    const records: StateRecords = { version: 1, partitions: {} };
    for (const shapes of [v1, v2]) {
      if (!(await applyOnce(stateDir, board, shapes, records))) continue;
      applied++;
      const { live, plan, problems } = await planNow(stateDir, board, shapes, records);
      assert.equal(problems, []);
      assertIsolated(board, live);
      const changed = plan.changes.filter((c) => c.action !== 'noop');
      assert.equal(changed, [], 'a second plan right after apply has changes');
      assert.equal(live.partitions.map((p) => p.name).sort(), shapes.map((s) => s.name).sort());
      for (const p of live.partitions) assert.is(p.state, shapes.find((s) => s.name === p.name)?.state);
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
  console.log(`  ${applied} applies on ${run} random boards`);
  assert.ok(applied > 100, `only ${applied} sets fitted their boards`);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
