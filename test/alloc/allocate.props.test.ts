// Property tests for allocate(): isolation, determinism, stability, correctness, and that failures are real.
// Boards are small and page-granular so that a brute force over every aligned base can check memory failures.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { allocate } from '../../src/alloc/allocate.js';
import type { AllocOptions, AllocRequest, AllocResult, Allocation } from '../../src/alloc/types.js';
import type { Board, MemRange, Reservation } from '../../src/board/model.js';
import { makeBoard } from './boards.js';

const PAGE = 4096;
const SEED = 20240611;
const RUNS = 400;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
/** Device names requests may ask for; the board has a prefix of them. */
const DEVICE_POOL = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6'];

const endOf = (r: MemRange): number => r.base + r.size;
const overlap = (a: MemRange, b: MemRange): boolean =>
  a.size > 0 && b.size > 0 && a.base < endOf(b) && b.base < endOf(a);
const inside = (outer: MemRange, inner: MemRange): boolean => outer.base <= inner.base && endOf(inner) <= endOf(outer);

// ---- generators ----

const pageRange = (span: MemRange, maxPages: number): fc.Arbitrary<MemRange> =>
  fc
    .record({
      at: fc.integer({ min: 0, max: Math.max(0, span.size / PAGE - 1) }),
      pages: fc.integer({ min: 1, max: maxPages }),
    })
    .map(({ at, pages }) => ({ base: span.base + at * PAGE, size: Math.min(pages, span.size / PAGE - at) * PAGE }));

const boardArb: fc.Arbitrary<Board> = fc
  .record({
    cores: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 64 })),
    start: fc.integer({ min: 0, max: 31 }),
    banks: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 16 }), pages: fc.integer({ min: 1, max: 64 }) }), {
      minLength: 1,
      maxLength: 3,
    }),
    devices: fc.integer({ min: 0, max: 6 }),
  })
  .chain(({ cores, start, banks, devices }) => {
    let cursor = 0x40000000 + start * PAGE;
    const memory: MemRange[] = [];
    for (const b of banks) {
      cursor += b.gap * PAGE;
      memory.push({ base: cursor, size: b.pages * PAGE });
      cursor += b.pages * PAGE;
    }
    const names = DEVICE_POOL.slice(0, devices);
    const reservation = (owner: Reservation['owner']): fc.Arbitrary<Reservation> =>
      fc.record({
        owner: fc.constant(owner),
        cpus: fc.uniqueArray(fc.integer({ min: 0, max: cores - 1 }), { maxLength: Math.min(2, cores - 1) }),
        memory: fc.array(
          fc.constantFrom(...memory).chain((bank) => pageRange(bank, 8)),
          { maxLength: 2 },
        ),
        devices: names.length === 0 ? fc.constant([]) : fc.uniqueArray(fc.constantFrom(...names), { maxLength: 1 }),
      });
    return fc
      .record({ mgmt: fc.option(reservation('management')), mon: fc.option(reservation('monitor')) })
      .map(({ mgmt, mon }) =>
        makeBoard({ cores, memory, devices: names, reserved: [mgmt, mon].filter((r): r is Reservation => r !== null) }),
      );
  });

/** An aligned base inside one of the board's banks (it may still be taken). */
function bankBase(board: Board, alignPages: number): fc.Arbitrary<number> {
  return fc
    .constantFrom(...board.memory)
    .chain((bank) =>
      fc
        .integer({ min: 0, max: bank.size / PAGE - 1 })
        .map((at) => Math.ceil((bank.base + at * PAGE) / (alignPages * PAGE)) * alignPages * PAGE),
    );
}

/** Mostly requests that can fit, some that pin or cover, and a share of impossible ones. */
function requestArb(board: Board, name: string): fc.Arbitrary<AllocRequest> {
  const banks = board.memory;
  const first = banks[0] as MemRange;
  const last = banks[banks.length - 1] as MemRange;
  // Addresses from a little below RAM to a little above it, so some are outside.
  const span: MemRange = { base: first.base - 4 * PAGE, size: endOf(last) - first.base + 8 * PAGE };
  const cores = board.cpus.length;
  const boardDevices = board.devices.map((d) => d.name);
  const cpus = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: Math.min(4, cores) }).map((count) => ({ count })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: cores + 2 }).map((count) => ({ count })) },
    {
      weight: 2,
      arbitrary: fc
        .uniqueArray(fc.integer({ min: 0, max: cores - 1 }), { minLength: 1, maxLength: 3 })
        .map((ids) => ({ ids })),
    },
    {
      weight: 1,
      arbitrary: fc
        .uniqueArray(fc.integer({ min: 0, max: cores + 1 }), { minLength: 1, maxLength: 3 })
        .map((ids) => ({ ids })),
    },
  );
  const devices = fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[]>([]) },
    {
      weight: 3,
      arbitrary:
        boardDevices.length === 0
          ? fc.constant<string[]>([])
          : fc.uniqueArray(fc.constantFrom(...boardDevices), { maxLength: 2 }),
    },
    { weight: 1, arbitrary: fc.uniqueArray(fc.constantFrom(...DEVICE_POOL), { maxLength: 2 }) },
  );
  return fc
    .record({
      cpus,
      pages: fc.integer({ min: 1, max: 16 }),
      alignPages: fc.constantFrom(1, 1, 1, 2, 4, 8, 16),
      devices,
    })
    .chain(({ cpus, pages, alignPages, devices }) => {
      const placement = fc.oneof(
        { weight: 6, arbitrary: fc.constant({}) },
        { weight: 2, arbitrary: bankBase(board, alignPages).map((base) => ({ base })) },
        { weight: 1, arbitrary: pageRange(span, 1).map((r) => ({ base: r.base })) },
        {
          weight: 2,
          arbitrary: fc
            .constantFrom(...banks)
            .chain((bank) => pageRange(bank, Math.min(pages, 4)))
            .map((cover) => ({ cover })),
        },
        { weight: 1, arbitrary: pageRange(span, 6).map((cover) => ({ cover })) },
      );
      return placement.map((where) => ({
        name,
        cpus,
        memory: { size: pages * PAGE, align: alignPages * PAGE, ...where },
        devices,
      }));
    });
}

function requestsArb(board: Board, names: readonly string[] = NAMES): fc.Arbitrary<AllocRequest[]> {
  return fc
    .subarray([...names], { minLength: 0, maxLength: Math.min(6, names.length) })
    .chain((picked) => fc.tuple(...picked.map((n) => requestArb(board, n))));
}

interface Scenario {
  readonly board: Board;
  /** What live partitions hold: the result of allocating some earlier requests on an empty board. */
  readonly existing: readonly Allocation[];
  readonly requests: readonly AllocRequest[];
  readonly options: AllocOptions;
}

// The desired requests are the earlier ones, each kept as it was, changed or dropped, plus new ones.
const scenarioArb: fc.Arbitrary<Scenario> = boardArb.chain((board) =>
  requestsArb(board).chain((before) => {
    const fresh = NAMES.filter((n) => !before.some((q) => q.name === n));
    const evolve = before.map((q) =>
      fc.oneof(
        { weight: 4, arbitrary: fc.constant<AllocRequest | null>(q) },
        { weight: 1, arbitrary: requestArb(board, q.name) },
        { weight: 1, arbitrary: fc.constant<AllocRequest | null>(null) },
      ),
    );
    return fc
      .record({
        kept: fc.tuple(...evolve),
        added: requestsArb(board, fresh),
        keep: fc.subarray(NAMES),
        replace: fc.subarray(NAMES, { maxLength: 2 }),
      })
      .map(({ kept, added, keep, replace }) => ({
        board,
        existing: allocate(board, before, []).allocations,
        requests: [...kept.filter((q): q is AllocRequest => q !== null), ...added],
        options: { keep, replace },
      }));
  }),
);

// ---- independent checks ----

/** Everything that is held once the result is applied: reservations, kept unrequested partitions, allocations. */
function holdings(s: Scenario, r: AllocResult): { cores: Set<number>; devices: Set<string>; memory: MemRange[] } {
  const requested = new Set(s.requests.map((q) => q.name));
  const keep = new Set(s.options.keep ?? []);
  const all = [
    ...s.board.reserved,
    ...s.existing.filter((a) => !requested.has(a.name) && keep.has(a.name)).map((a) => ({ ...a, memory: [a.memory] })),
    ...r.allocations.map((a) => ({ ...a, memory: [a.memory] })),
  ];
  return {
    cores: new Set(all.flatMap((h) => h.cpus)),
    devices: new Set(all.flatMap((h) => h.devices)),
    memory: all.flatMap((h) => h.memory),
  };
}

function satisfies(board: Board, q: AllocRequest, a: Allocation): boolean {
  const m = q.memory;
  const cpusOk =
    'count' in q.cpus
      ? a.cpus.length === q.cpus.count && new Set(a.cpus).size === a.cpus.length
      : [...a.cpus].sort().join() === [...q.cpus.ids].sort().join();
  return (
    cpusOk &&
    a.cpus.every((id, i) => i === 0 || (a.cpus[i - 1] as number) < id) &&
    a.memory.size === m.size &&
    (m.base === undefined || a.memory.base === m.base) &&
    a.memory.base % m.align === 0 &&
    (m.cover === undefined || inside(a.memory, m.cover)) &&
    board.memory.some((bank) => inside(bank, a.memory)) &&
    a.devices.join() === q.devices.join()
  );
}

/** Whether some aligned window of the request's size is free (and at its base, and covering its image). */
function memoryFits(board: Board, q: AllocRequest, taken: readonly MemRange[]): boolean {
  const m = q.memory;
  for (const bank of board.memory) {
    for (let base = Math.ceil(bank.base / m.align) * m.align; base + m.size <= endOf(bank); base += m.align) {
      const w = { base, size: m.size };
      if (m.base !== undefined && base !== m.base) continue;
      if (m.cover && !inside(w, m.cover)) continue;
      if (!taken.some((t) => overlap(t, w))) return true;
    }
  }
  return false;
}

function assertIsolated(s: Scenario, r: AllocResult): void {
  const reserved = s.board.reserved;
  const requested = new Set(s.requests.map((q) => q.name));
  const keep = new Set(s.options.keep ?? []);
  const others: { name: string; cpus: readonly number[]; memory: readonly MemRange[]; devices: readonly string[] }[] = [
    ...reserved.map((x) => ({ ...x, name: `<${x.owner}>` })),
    ...s.existing.filter((a) => !requested.has(a.name) && keep.has(a.name)).map((a) => ({ ...a, memory: [a.memory] })),
  ];
  const boardIds = new Set(s.board.cpus.map((c) => c.id));
  const boardDevices = new Set(s.board.devices.map((d) => d.name));
  for (const [i, a] of r.allocations.entries()) {
    assert.ok(
      a.cpus.every((id) => boardIds.has(id)),
      `${a.name}: core not on board`,
    );
    assert.ok(
      a.devices.every((d) => boardDevices.has(d)),
      `${a.name}: device not on board`,
    );
    const rivals = [...others, ...r.allocations.slice(0, i).map((b) => ({ ...b, memory: [b.memory] }))];
    for (const o of rivals) {
      assert.not.ok(
        a.cpus.some((id) => o.cpus.includes(id)),
        `${a.name} shares a core with ${o.name}`,
      );
      assert.not.ok(
        a.devices.some((d) => o.devices.includes(d)),
        `${a.name} shares a device with ${o.name}`,
      );
      assert.not.ok(
        o.memory.some((m) => overlap(m, a.memory)),
        `${a.name} shares memory with ${o.name}`,
      );
    }
  }
}

function shuffle<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let x = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const params = { seed: SEED, numRuns: RUNS };

// ---- properties ----

test('(a) allocations never share a core, a byte or a device with each other, reservations or held partitions', () => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      assertIsolated(s, allocate(s.board, s.requests, s.existing, s.options));
    }),
    params,
  );
});

test('(b) the same inputs in any order give the same result', () => {
  fc.assert(
    fc.property(scenarioArb, fc.integer(), (s, seed) => {
      const r = allocate(s.board, s.requests, s.existing, s.options);
      assert.equal(allocate(s.board, s.requests, s.existing, s.options), r);
      const shuffled = allocate(s.board, shuffle(s.requests, seed), shuffle(s.existing, seed + 1), {
        keep: shuffle(s.options.keep ?? [], seed + 2),
        replace: shuffle(s.options.replace ?? [], seed + 3),
      });
      assert.equal(shuffled, r);
    }),
    params,
  );
});

test('(c) adding, removing or changing one request never moves a kept allocation', () => {
  const arb = boardArb.chain((board) =>
    fc.record({
      board: fc.constant(board),
      requests: requestsArb(board),
      extra: requestArb(board, 'z'),
      change: fc.constantFrom<'add' | 'remove' | 'change'>('add', 'remove', 'change'),
      keepRemoved: fc.boolean(),
    }),
  );
  fc.assert(
    fc.property(arb, ({ board, requests, extra, change, keepRemoved }) => {
      const first = allocate(board, [...requests, ...(change === 'add' ? [] : [{ ...extra, name: 'z' }])], []);
      let next: AllocRequest[];
      if (change === 'add') next = [...requests, extra];
      else if (change === 'remove') next = [...requests];
      else next = [...requests, { ...extra, memory: { ...extra.memory, size: extra.memory.size + PAGE } }];
      const second = allocate(board, next, first.allocations, keepRemoved ? { keep: ['z'] } : {});
      for (const a of first.allocations) {
        if (a.name === 'z') continue;
        const b = second.allocations.find((x) => x.name === a.name);
        assert.equal(b, a, `${a.name} moved after ${change} z`);
        assert.equal(
          second.placements.find((p) => p.name === a.name),
          { name: a.name, kind: 'kept', handover: [] },
        );
      }
      assert.ok(second.failures.every((f) => f.name === 'z' || !first.allocations.some((a) => a.name === f.name)));
    }),
    params,
  );
});

test('(d) every allocation satisfies its request; placements, releases and handovers add up', () => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const r = allocate(s.board, s.requests, s.existing, s.options);
      const failed = new Set(r.failures.map((f) => f.name));
      assert.equal(
        r.placements.map((p) => p.name),
        r.allocations.map((a) => a.name),
      );
      for (const q of s.requests) {
        const a = r.allocations.find((x) => x.name === q.name);
        assert.ok(
          a !== undefined ? !failed.has(q.name) : failed.has(q.name),
          `${q.name}: exactly one of allocation and failure`,
        );
        if (a)
          assert.ok(satisfies(s.board, q, a), `${q.name}: ${JSON.stringify(a)} does not satisfy ${JSON.stringify(q)}`);
      }
      const requested = new Set(s.requests.map((q) => q.name));
      const keep = new Set(s.options.keep ?? []);
      const kept = new Set(r.placements.filter((p) => p.kind === 'kept').map((p) => p.name));
      const released = s.existing.filter((e) => (requested.has(e.name) ? !kept.has(e.name) : !keep.has(e.name)));
      assert.equal(r.released, released.map((e) => e.name).sort());
      for (const [i, p] of r.placements.entries()) {
        const a = r.allocations[i] as Allocation;
        const old = s.existing.find((e) => e.name === p.name);
        if (p.kind === 'kept') assert.equal(a.memory, old?.memory);
        assert.is(p.kind === 'new', old === undefined);
        const shares = (b: Allocation): boolean =>
          a.cpus.some((c) => b.cpus.includes(c)) ||
          overlap(a.memory, b.memory) ||
          a.devices.some((d) => b.devices.includes(d));
        assert.equal(
          p.handover,
          p.kind === 'kept'
            ? []
            : released
                .filter(shares)
                .map((e) => e.name)
                .sort(),
        );
      }
    }),
    params,
  );
});

test('(e) a failure only when the resource truly cannot be had in what is left', () => {
  let memoryFailures = 0;
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const r = allocate(s.board, s.requests, s.existing, s.options);
      const held = holdings(s, r);
      const boardIds = new Set(s.board.cpus.map((c) => c.id));
      const boardDevices = new Set(s.board.devices.map((d) => d.name));
      for (const f of r.failures) {
        const q = s.requests.find((x) => x.name === f.name) as AllocRequest;
        if (f.resource === 'memory') {
          memoryFailures++;
          assert.not.ok(memoryFits(s.board, q, held.memory), `${f.message}, yet a window is free`);
        } else if (f.resource === 'devices') {
          const d = /^cannot give `([^`]+)` to/.exec(f.message)?.[1] ?? '';
          assert.ok(q.devices.includes(d) && (!boardDevices.has(d) || held.devices.has(d)), f.message);
        } else if ('count' in q.cpus) {
          const free = [...boardIds].filter((id) => !held.cores.has(id));
          assert.ok(free.length < q.cpus.count, f.message);
        } else {
          const id = Number(/^cannot give core (\d+) to/.exec(f.message)?.[1]);
          assert.ok(q.cpus.ids.includes(id) && (!boardIds.has(id) || held.cores.has(id)), f.message);
        }
      }
    }),
    params,
  );
  assert.ok(memoryFailures > 50, `the generators produce memory failures (${memoryFailures})`);
});

test.run();
