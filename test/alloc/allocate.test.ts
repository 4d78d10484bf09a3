import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allocate } from '../../src/alloc/allocate.js';
import type { AllocRequest, AllocResult, Allocation } from '../../src/alloc/types.js';
import type { MemRange } from '../../src/board/model.js';
import { GiB, KiB, MiB, aarch64Board, makeBoard, riscvBoard } from './boards.js';

interface ReqShape {
  readonly cpus?: number | readonly number[];
  readonly size?: number;
  readonly base?: number;
  readonly align?: number;
  readonly cover?: MemRange;
  readonly devices?: readonly string[];
}

function req(name: string, s: ReqShape = {}): AllocRequest {
  const cpus = s.cpus ?? 1;
  return {
    name,
    cpus: typeof cpus === 'number' ? { count: cpus } : { ids: cpus },
    memory: {
      size: s.size ?? 256 * MiB,
      align: s.align ?? 2 * MiB,
      ...(s.base === undefined ? {} : { base: s.base }),
      ...(s.cover === undefined ? {} : { cover: s.cover }),
    },
    devices: s.devices ?? [],
  };
}

function held(
  name: string,
  cpus: readonly number[],
  base: number,
  size: number,
  devices: readonly string[] = [],
): Allocation {
  return { name, cpus, memory: { base, size }, devices };
}

function only(result: AllocResult, name: string): Allocation {
  const a = result.allocations.find((x) => x.name === name);
  if (!a) throw new Error(`no allocation for ${name}: ${JSON.stringify(result.failures)}`);
  return a;
}

function messages(result: AllocResult): string[] {
  return result.failures.map((f) => `${f.name}/${f.resource}: ${f.message}`);
}

// ---- placement ----

test('count: the lowest free logical ids, skipping reserved core 0', () => {
  const r = allocate(aarch64Board(), [req('a', { cpus: 2 }), req('b', { cpus: 3 })], []);
  assert.equal(only(r, 'a').cpus, [1, 2]);
  assert.equal(only(r, 'b').cpus, [3, 4, 5]);
  assert.equal(r.failures, []);
});

test('memory: the first partition on the aarch64 board starts right after the management partition', () => {
  const r = allocate(aarch64Board(), [req('linux0', { size: 512 * MiB })], []);
  assert.equal(only(r, 'linux0').memory, { base: 0x48000000, size: 512 * MiB });
  assert.equal(r.placements, [{ name: 'linux0', kind: 'new', handover: [] }]);
  assert.equal(r.released, []);
});

test('memory: best fit takes the smallest free block that fits, not the lowest one', () => {
  // Free: 0x48000000 (256 MiB), 0x68000000 (64 MiB); everything else held.
  const keep = [held('x', [1], 0x58000000, 256 * MiB), held('y', [2], 0x6c000000, 0x140000000 - 0x6c000000)];
  const r = allocate(aarch64Board(), [req('small', { size: 32 * MiB })], keep, { keep: ['x', 'y'] });
  assert.equal(only(r, 'small').memory, { base: 0x68000000, size: 32 * MiB });
  const big = allocate(aarch64Board(), [req('big', { size: 128 * MiB })], keep, { keep: ['x', 'y'] });
  assert.equal(only(big, 'big').memory, { base: 0x48000000, size: 128 * MiB });
});

test('memory: among equal free blocks the lowest address wins', () => {
  // Free: 0x48000000 and 0x60000000, 128 MiB each.
  const keep = [held('x', [1], 0x50000000, 256 * MiB), held('y', [2], 0x68000000, 0x140000000 - 0x68000000)];
  const r = allocate(aarch64Board(), [req('a', { size: 64 * MiB })], keep, { keep: ['x', 'y'] });
  assert.equal(only(r, 'a').memory.base, 0x48000000);
});

test('memory: the base is rounded up to the requested alignment', () => {
  const board = makeBoard({
    cores: 2,
    memory: [{ base: 0x40000000, size: 1 * GiB }],
    reserved: [{ owner: 'monitor', cpus: [], memory: [{ base: 0x40000000, size: 4 * KiB }], devices: [] }],
  });
  const r = allocate(
    board,
    [req('a', { size: 4 * MiB, align: 2 * MiB }), req('b', { size: 8 * KiB, align: 4 * KiB })],
    [],
  );
  // b is the smaller request but both go by best fit in the one block, by name: a first.
  assert.equal(only(r, 'a').memory, { base: 0x40200000, size: 4 * MiB });
  assert.equal(only(r, 'b').memory, { base: 0x40001000, size: 8 * KiB });
});

test('memory: a window never spans two banks, even when they touch', () => {
  const board = makeBoard({
    cores: 2,
    memory: [
      { base: 0x40000000, size: 64 * MiB },
      { base: 0x44000000, size: 64 * MiB },
    ],
  });
  const r = allocate(board, [req('a', { size: 96 * MiB })], []);
  assert.equal(r.allocations, []);
  assert.equal(messages(r), [
    'a/memory: cannot place `a`: needs 96 MiB contiguous; largest free block is 64 MiB at 0x40000000',
  ]);
});

test('cover: the lowest aligned base whose window contains the image', () => {
  const board = riscvBoard();
  const image = { base: 0x90000000, size: 1 * MiB };
  const r = allocate(board, [req('rtos', { size: 16 * MiB, align: 2 * MiB, cover: image })], []);
  // 0x90100000 - 16 MiB = 0x8f100000, rounded up to 2 MiB.
  assert.equal(only(r, 'rtos').memory, { base: 0x8f200000, size: 16 * MiB });
});

test('cover: the window starts no lower than the free block around the image', () => {
  const r = allocate(riscvBoard(), [req('rtos', { size: 16 * MiB, cover: { base: 0x80200000, size: 0x20000 } })], []);
  assert.equal(only(r, 'rtos').memory, { base: 0x80200000, size: 16 * MiB });
});

test('explicit core ids and memory base are honoured', () => {
  const r = allocate(aarch64Board(), [req('a', { cpus: [6, 3], base: 0x80000000, size: 64 * MiB })], []);
  assert.equal(only(r, 'a'), { name: 'a', cpus: [3, 6], memory: { base: 0x80000000, size: 64 * MiB }, devices: [] });
});

test('explicit placements go before flexible ones whatever the names', () => {
  const r = allocate(aarch64Board(), [req('a', { cpus: 1 }), req('z', { cpus: [1], base: 0x48000000 })], []);
  assert.equal(only(r, 'z').cpus, [1]);
  assert.equal(only(r, 'z').memory.base, 0x48000000);
  assert.equal(only(r, 'a').cpus, [2]);
  assert.equal(only(r, 'a').memory.base, 0x58000000);
});

test('an image-covering request goes before flexible ones', () => {
  const board = riscvBoard();
  const r = allocate(
    board,
    [req('a', { size: 64 * MiB }), req('b', { size: 16 * MiB, cover: { base: 0x80200000, size: 4 * KiB } })],
    [],
  );
  assert.equal(only(r, 'b').memory.base, 0x80200000);
  assert.equal(only(r, 'a').memory.base, 0x81200000);
});

test('a placement steps around what a waiting request pins, when it can', () => {
  // a (pins core 5, flexible memory) comes before b by name; b pins 0x48000000.
  const r = allocate(
    aarch64Board(),
    [req('a', { cpus: [5], size: 256 * MiB }), req('b', { cpus: 2, base: 0x48000000 })],
    [],
  );
  assert.equal(r.failures, []);
  assert.equal(only(r, 'b').memory.base, 0x48000000);
  assert.equal(only(r, 'a').memory.base, 0x58000000);
  // c comes first and needs cores; it avoids the ids d pins.
  const s = allocate(aarch64Board(), [req('c', { cpus: 2, base: 0x48000000 }), req('d', { cpus: [1, 2] })], []);
  assert.equal(s.failures, []);
  assert.equal(only(s, 'c').cpus, [3, 4]);
  assert.equal(only(s, 'd').cpus, [1, 2]);
});

test('a placement takes pinned resources rather than fail, and the pinning request then fails', () => {
  // Only cores 1 and 2 are free; a needs both, b pins core 2.
  const board = makeBoard({
    cores: 3,
    memory: [{ base: 0x40000000, size: 1 * GiB }],
    reserved: [{ owner: 'management', cpus: [0], memory: [], devices: [] }],
  });
  const r = allocate(board, [req('a', { cpus: 2, base: 0x40000000 }), req('b', { cpus: [2] })], []);
  assert.equal(only(r, 'a').cpus, [1, 2]);
  assert.equal(messages(r), ['b/cpus: cannot give core 2 to `b`: it is already given to `a`']);
});

test('devices are given in the manifest order, each to one partition', () => {
  const r = allocate(
    aarch64Board(),
    [req('a', { devices: ['virtio1', 'uart1'] }), req('b', { devices: ['virtio0'] })],
    [],
  );
  assert.equal(only(r, 'a').devices, ['virtio1', 'uart1']);
  assert.equal(only(r, 'b').devices, ['virtio0']);
});

// ---- failures ----

test('failure: a core reserved by the management partition', () => {
  const r = allocate(aarch64Board(), [req('rtos1', { cpus: [0] })], []);
  assert.equal(r.failures, [
    {
      name: 'rtos1',
      resource: 'cpus',
      message: 'cannot give core 0 to `rtos1`: it is reserved by the management partition',
    },
  ]);
  assert.equal(r.allocations, []);
});

test('failure: a core already given to another partition', () => {
  const r = allocate(aarch64Board(), [req('a', { cpus: [3] }), req('b', { cpus: [3] })], []);
  assert.equal(only(r, 'a').cpus, [3]);
  assert.equal(r.failures, [
    { name: 'b', resource: 'cpus', message: 'cannot give core 3 to `b`: it is already given to `a`' },
  ]);
});

test('failure: a core the board does not have', () => {
  const r = allocate(aarch64Board(), [req('b', { cpus: [2, 9] })], []);
  assert.equal(r.failures, [
    { name: 'b', resource: 'cpus', message: 'cannot give core 9 to `b`: the board has no core 9 (its cores are 0–7)' },
  ]);
});

test('failure: not enough free cores lists the free ones', () => {
  const existing = [held('a', [1, 2, 3, 4], 0x48000000, 256 * MiB)];
  const r = allocate(aarch64Board(), [req('a', { cpus: 4 }), req('big', { cpus: 6 })], existing);
  assert.equal(r.failures, [
    { name: 'big', resource: 'cpus', message: 'cannot place `big`: needs 6 cores; 3 are free (5, 6, 7)' },
  ]);
  const one = allocate(aarch64Board(), [req('a', { cpus: 6 }), req('b', { cpus: 2 })], []);
  assert.equal(messages(one), ['b/cpus: cannot place `b`: needs 2 cores; 1 is free (7)']);
  const none = allocate(aarch64Board(), [req('a', { cpus: 7 }), req('b', { cpus: 1 })], []);
  assert.equal(messages(none), ['b/cpus: cannot place `b`: needs 1 core; none are free']);
});

test('failure: memory larger than the largest free block', () => {
  // RAM 0x40000000 + 768 MiB; management holds 128 MiB, `a` 256 MiB: 384 MiB free at 0x58000000.
  const board = makeBoard({
    cores: 4,
    memory: [{ base: 0x40000000, size: 768 * MiB }],
    reserved: [{ owner: 'management', cpus: [0], memory: [{ base: 0x40000000, size: 128 * MiB }], devices: [] }],
  });
  const r = allocate(board, [req('a'), req('linux0', { size: 512 * MiB })], [held('a', [1], 0x48000000, 256 * MiB)]);
  assert.equal(r.failures, [
    {
      name: 'linux0',
      resource: 'memory',
      message: 'cannot place `linux0`: needs 512 MiB contiguous; largest free block is 384 MiB at 0x58000000',
    },
  ]);
  assert.equal(only(r, 'a').memory, { base: 0x48000000, size: 256 * MiB });
});

test('failure: memory that fits only at a misaligned base', () => {
  // 0x48000000 + 768 MiB is free, but no 1 GiB-aligned base leaves 512 MiB inside it.
  const board = makeBoard({
    cores: 2,
    memory: [{ base: 0x40000000, size: 896 * MiB }],
    reserved: [{ owner: 'management', cpus: [0], memory: [{ base: 0x40000000, size: 128 * MiB }], devices: [] }],
  });
  const r = allocate(board, [req('a', { size: 512 * MiB, align: 1 * GiB })], []);
  assert.equal(messages(r), [
    'a/memory: cannot place `a`: needs 512 MiB contiguous at a 1 GiB-aligned base; no free block has room for one ' +
      '(largest free block is 768 MiB at 0x48000000)',
  ]);
});

test('failure: no memory free at all', () => {
  const board = makeBoard({ cores: 2, memory: [{ base: 0x40000000, size: 64 * MiB }] });
  const r = allocate(board, [req('a', { size: 64 * MiB }), req('b', { size: 4 * KiB })], []);
  assert.equal(messages(r), ['b/memory: cannot place `b`: needs 4 KiB contiguous; no memory is free']);
});

test('failure: explicit base misaligned, outside RAM, across banks', () => {
  const r = allocate(
    aarch64Board(),
    [
      req('a', { base: 0x48001000 }),
      req('b', { base: 0x20000000, size: 64 * MiB }),
      req('c', { base: 0x13f000000, size: 64 * MiB }),
    ],
    [],
  );
  assert.equal(messages(r), [
    'a/memory: cannot place `a` at 0x48001000: the base is not aligned to 2 MiB',
    'b/memory: cannot place `b` at 0x20000000: 0x20000000–0x23ffffff is outside RAM (RAM is 0x40000000–0x13fffffff)',
    'c/memory: cannot place `c` at 0x13f000000: 0x13f000000–0x142ffffff is outside RAM (RAM is 0x40000000–0x13fffffff)',
  ]);
  const twoBanks = makeBoard({
    cores: 2,
    memory: [
      { base: 0x40000000, size: 64 * MiB },
      { base: 0x44000000, size: 64 * MiB },
    ],
  });
  const s = allocate(twoBanks, [req('d', { base: 0x42000000, size: 64 * MiB })], []);
  assert.equal(messages(s), [
    'd/memory: cannot place `d` at 0x42000000: 0x42000000–0x45ffffff spans more than one RAM bank (RAM is ' +
      '0x40000000–0x43ffffff, 0x44000000–0x47ffffff)',
  ]);
});

test('failure: explicit base overlapping the management partition, the monitor, or a partition', () => {
  const r = allocate(aarch64Board(), [req('x', { base: 0x46000000, size: 64 * MiB })], []);
  assert.equal(r.failures, [
    {
      name: 'x',
      resource: 'memory',
      message:
        'cannot place `x` at 0x46000000: 0x46000000–0x49ffffff overlaps memory reserved by the management partition ' +
        '(0x40000000–0x47ffffff)',
    },
  ]);
  const s = allocate(riscvBoard(), [req('y', { base: 0x80000000, size: 4 * MiB })], []);
  assert.equal(messages(s), [
    'y/memory: cannot place `y` at 0x80000000: 0x80000000–0x803fffff overlaps memory reserved by the monitor ' +
      '(0x80000000–0x801fffff)',
  ]);
  const t = allocate(
    aarch64Board(),
    [req('a', { base: 0x48000000, size: 64 * MiB }), req('b', { base: 0x4a000000, size: 64 * MiB })],
    [],
  );
  assert.equal(messages(t), [
    "b/memory: cannot place `b` at 0x4a000000: 0x4a000000–0x4dffffff overlaps `a`'s memory (0x48000000–0x4bffffff)",
  ]);
});

test('failure: explicit base whose window misses the image', () => {
  const r = allocate(
    aarch64Board(),
    [req('a', { base: 0x48000000, size: 16 * MiB, cover: { base: 0x50000000, size: 4 * KiB } })],
    [],
  );
  assert.equal(messages(r), [
    'a/memory: cannot place `a` at 0x48000000: 0x48000000–0x48ffffff does not cover its image at 0x50000000–0x50000fff',
  ]);
});

test('failure: image larger than the memory, outside RAM, on reserved memory, or without room around it', () => {
  const board = riscvBoard();
  const tooBig = allocate(board, [req('a', { size: 1 * MiB, cover: { base: 0x90000000, size: 2 * MiB } })], []);
  assert.equal(messages(tooBig), [
    'a/memory: cannot place `a`: its image at 0x90000000–0x901fffff spans 2 MiB, more than its 1 MiB of memory',
  ]);
  const outside = allocate(board, [req('b', { size: 16 * MiB, cover: { base: 0x10000000, size: 4 * KiB } })], []);
  assert.equal(messages(outside), [
    'b/memory: cannot place `b`: its image at 0x10000000–0x10000fff is outside RAM (RAM is 0x80000000–0xffffffff)',
  ]);
  const onMonitor = allocate(board, [req('c', { size: 16 * MiB, cover: { base: 0x80100000, size: 4 * KiB } })], []);
  assert.equal(messages(onMonitor), [
    'c/memory: cannot place `c`: its image at 0x80100000–0x80100fff overlaps memory reserved by the monitor ' +
      '(0x80000000–0x801fffff)',
  ]);
  // Between the monitor and `d` only 0x80200000–0x80ffffff (14 MiB) is free.
  const noRoom = allocate(
    board,
    [
      req('d', { base: 0x81000000, size: 16 * MiB }),
      req('e', { size: 16 * MiB, cover: { base: 0x80400000, size: 4 * KiB } }),
    ],
    [],
  );
  assert.equal(messages(noRoom), [
    'e/memory: cannot place `e`: its image at 0x80400000–0x80400fff needs a 16 MiB window at a 2 MiB-aligned base ' +
      'that covers it; none fits in the free block around it (0x80200000–0x80ffffff, 14 MiB)',
  ]);
});

test('failure: devices unknown, reserved, or already given', () => {
  const r = allocate(
    aarch64Board(),
    [req('a', { devices: ['virtio0'] }), req('b', { devices: ['virtio0', 'uart0', 'gpu7'] })],
    [],
  );
  assert.equal(only(r, 'a').devices, ['virtio0']);
  assert.equal(r.failures, [
    { name: 'b', resource: 'devices', message: 'cannot give `virtio0` to `b`: it is already given to `a`' },
    {
      name: 'b',
      resource: 'devices',
      message: 'cannot give `uart0` to `b`: it is reserved by the management partition',
    },
    { name: 'b', resource: 'devices', message: 'cannot give `gpu7` to `b`: the board has no such device' },
  ]);
});

test('a failed request reports every problem and takes nothing, so later requests get its share', () => {
  const r = allocate(
    aarch64Board(),
    [req('a', { cpus: 2, size: 8 * GiB, devices: ['virtio0', 'nope'] }), req('b', { cpus: 2, devices: ['virtio0'] })],
    [],
  );
  assert.equal(messages(r), [
    'a/devices: cannot give `nope` to `a`: the board has no such device',
    'a/memory: cannot place `a`: needs 8 GiB contiguous; largest free block is 3968 MiB at 0x48000000',
  ]);
  assert.equal(only(r, 'b'), {
    name: 'b',
    cpus: [1, 2],
    memory: { base: 0x48000000, size: 256 * MiB },
    devices: ['virtio0'],
  });
});

// ---- existing allocations ----

test('an existing allocation that still fits its request is kept exactly, even where a better spot is free', () => {
  const existing = [held('a', [7, 5], 0xf0000000, 256 * MiB, ['virtio1', 'virtio0'])];
  const r = allocate(aarch64Board(), [req('a', { cpus: 2, devices: ['virtio0', 'virtio1'] }), req('b')], existing);
  assert.equal(only(r, 'a'), {
    name: 'a',
    cpus: [5, 7],
    memory: { base: 0xf0000000, size: 256 * MiB },
    devices: ['virtio0', 'virtio1'],
  });
  assert.equal(r.placements[0], { name: 'a', kind: 'kept', handover: [] });
  assert.equal(r.released, []);
});

test('explicit ids and base are satisfied only by exactly those', () => {
  const existing = [held('a', [2, 3], 0x48000000, 256 * MiB)];
  const same = allocate(aarch64Board(), [req('a', { cpus: [3, 2], base: 0x48000000 })], existing);
  assert.equal(same.placements[0]?.kind, 'kept');
  const otherIds = allocate(aarch64Board(), [req('a', { cpus: [2, 4] })], existing);
  assert.equal(otherIds.placements[0], {
    name: 'a',
    kind: 'moved',
    reason: 'cpus changed from cores 2, 3 to cores 2, 4',
    handover: ['a'],
  });
  assert.equal(only(otherIds, 'a').cpus, [2, 4]);
  const otherBase = allocate(aarch64Board(), [req('a', { cpus: 2, base: 0x50000000 })], existing);
  assert.equal(otherBase.placements[0]?.reason, 'memory base changed from 0x48000000 to 0x50000000');
  assert.equal(otherBase.released, ['a']);
});

test('a changed request is released and placed anew; the reason says what changed', () => {
  const existing = [held('a', [1], 0x48000000, 256 * MiB, ['virtio0'])];
  const board = aarch64Board();
  const cases: [AllocRequest, string][] = [
    [req('a', { cpus: 2, devices: ['virtio0'] }), 'cpus changed from 1 core to 2 cores'],
    [req('a', { size: 512 * MiB, devices: ['virtio0'] }), 'memory size changed from 256 MiB to 512 MiB'],
    [req('a', { align: 256 * MiB, devices: ['virtio0'] }), 'memory base 0x48000000 is not aligned to 256 MiB'],
    [
      req('a', { cover: { base: 0x60000000, size: 4 * KiB }, devices: ['virtio0'] }),
      'memory 0x48000000–0x57ffffff does not cover the image at 0x60000000–0x60000fff',
    ],
    [req('a', { devices: ['virtio1'] }), 'devices changed from virtio0 to virtio1'],
    [req('a'), 'devices changed from virtio0 to none'],
  ];
  for (const [request, reason] of cases) {
    const r = allocate(board, [request], existing);
    assert.equal(r.placements[0]?.kind, 'moved', reason);
    assert.equal(r.placements[0]?.reason, reason);
    assert.equal(r.released, ['a']);
  }
  const grown = allocate(board, [cases[1]?.[0] ?? req('a')], existing);
  // The old window is free again, so best fit reuses it: teardown must come first.
  assert.equal(only(grown, 'a').memory, { base: 0x48000000, size: 512 * MiB });
  assert.equal(grown.placements[0]?.handover, ['a']);
});

test('existing allocations with no request are released, and new placements name them as handed over', () => {
  const existing = [held('old', [1, 2], 0x48000000, 256 * MiB, ['virtio0']), held('other', [3], 0x60000000, 64 * MiB)];
  const r = allocate(
    aarch64Board(),
    [req('new', { cpus: 1, size: 128 * MiB, devices: ['virtio0'] }), req('other', { size: 64 * MiB })],
    existing,
  );
  assert.equal(r.released, ['old']);
  assert.equal(only(r, 'new'), {
    name: 'new',
    cpus: [1],
    memory: { base: 0x48000000, size: 128 * MiB },
    devices: ['virtio0'],
  });
  assert.equal(r.placements, [
    { name: 'new', kind: 'new', handover: ['old'] },
    { name: 'other', kind: 'kept', handover: [] },
  ]);
});

test('options.keep holds unrequested allocations: nothing lands on them', () => {
  const existing = [held('old', [1, 2], 0x48000000, 256 * MiB, ['virtio0'])];
  const r = allocate(
    aarch64Board(),
    [req('new', { cpus: 1, size: 128 * MiB }), req('dev', { devices: ['virtio0'] })],
    existing,
    { keep: ['old'] },
  );
  assert.equal(r.released, []);
  assert.equal(only(r, 'new').cpus, [3]);
  assert.equal(only(r, 'new').memory.base, 0x58000000);
  assert.equal(r.placements.find((p) => p.name === 'new')?.handover, []);
  assert.equal(messages(r), ['dev/devices: cannot give `virtio0` to `dev`: it is already given to `old`']);
});

test('options.replace moves a partition even when unchanged', () => {
  const existing = [held('a', [1], 0x48000000, 256 * MiB)];
  const r = allocate(aarch64Board(), [req('a')], existing, { replace: ['a'] });
  assert.equal(r.placements, [{ name: 'a', kind: 'moved', reason: 'replacement was requested', handover: ['a'] }]);
  assert.equal(r.released, ['a']);
  assert.equal(only(r, 'a'), existing[0]);
});

test('an existing allocation the board no longer allows is moved, with the reason', () => {
  const existing = [held('a', [0, 1], 0x48000000, 256 * MiB)];
  const r = allocate(aarch64Board(), [req('a', { cpus: 2 })], existing);
  assert.equal(r.placements[0], {
    name: 'a',
    kind: 'moved',
    reason: 'core 0 is reserved by the management partition',
    handover: ['a'],
  });
  assert.equal(only(r, 'a').cpus, [1, 2]);
  const low = allocate(aarch64Board(), [req('b', { size: 64 * MiB })], [held('b', [1], 0x44000000, 64 * MiB)]);
  assert.equal(
    low.placements[0]?.reason,
    'memory 0x44000000–0x47ffffff overlaps memory reserved by the management partition (0x40000000–0x47ffffff)',
  );
  const gone = allocate(
    aarch64Board(),
    [req('c', { devices: ['gpu'] })],
    [held('c', [1], 0x48000000, 256 * MiB, ['gpu'])],
  );
  assert.equal(gone.placements, []);
  assert.equal(gone.released, ['c']);
  assert.equal(messages(gone), ['c/devices: cannot give `gpu` to `c`: the board has no such device']);
});

test('a kept allocation is settled before anything is placed, so a pinned newcomer cannot take it', () => {
  const existing = [held('z', [1], 0x48000000, 256 * MiB)];
  const r = allocate(aarch64Board(), [req('a', { cpus: [1], base: 0x48000000 }), req('z')], existing);
  assert.equal(only(r, 'z'), existing[0]);
  assert.equal(messages(r), [
    'a/cpus: cannot give core 1 to `a`: it is already given to `z`',
    "a/memory: cannot place `a` at 0x48000000: 0x48000000–0x57ffffff overlaps `z`'s memory (0x48000000–0x57ffffff)",
  ]);
});

test('a request that changed and no longer fits fails; its old resources are released to others', () => {
  const existing = [held('a', [1, 2, 3, 4, 5, 6], 0x48000000, 256 * MiB)];
  const r = allocate(aarch64Board(), [req('a', { cpus: 8 }), req('b', { cpus: 3 })], existing);
  // a sorts first and sees its own old cores free: still not 8.
  assert.equal(messages(r), ['a/cpus: cannot place `a`: needs 8 cores; 7 are free (1, 2, 3, 4, 5, 6, 7)']);
  assert.equal(only(r, 'b').cpus, [1, 2, 3]);
  assert.equal(r.placements, [{ name: 'b', kind: 'new', handover: ['a'] }]);
  assert.equal(r.released, ['a']);
});

// ---- determinism and contract ----

test('the result does not depend on the order of requests or existing allocations', () => {
  const board = aarch64Board();
  const requests = [
    req('c', { cpus: 2, size: 64 * MiB }),
    req('a', { cpus: [4] }),
    req('b', { size: 1 * GiB, devices: ['virtio2'] }),
    req('d', { cpus: 9 }),
  ];
  const existing = [held('b', [1], 0x80000000, 1 * GiB, ['virtio2']), held('gone', [2], 0x48000000, 64 * MiB)];
  const first = allocate(board, requests, existing);
  assert.equal(allocate(board, [...requests].reverse(), [...existing].reverse()), first);
  assert.equal(
    first.allocations.map((a) => a.name),
    ['a', 'b', 'c'],
  );
  assert.equal(only(first, 'c').cpus, [2, 3]);
  // `gone` is released: a's memory (best fit in the 896 MiB block from 0x48000000) and c's core 2 were its.
  assert.equal(only(first, 'a').memory.base, 0x48000000);
  assert.equal(
    first.placements.map((p) => p.handover),
    [['gone'], [], ['gone']],
  );
  assert.equal(messages(first), ['d/cpus: cannot place `d`: needs 9 cores; 3 are free (5, 6, 7)']);
});

test('failures are listed by name, not in the order requests were placed', () => {
  // z pins a core so it is placed first; a is flexible and placed last.
  const r = allocate(aarch64Board(), [req('z', { cpus: [0] }), req('a', { cpus: 9 })], []);
  assert.equal(
    r.failures.map((f) => f.name),
    ['a', 'z'],
  );
});

test('contract violations throw', () => {
  const board = aarch64Board();
  assert.throws(() => allocate(board, [req('a', { align: 3000 })], []), /memory align 3000 is not a power of two/);
  assert.throws(() => allocate(board, [req('a', { align: 2 * KiB })], []), /memory align 2048/);
  assert.throws(
    () => allocate(board, [req('a', { size: 1000 })], []),
    /memory size 1000 is not a positive multiple of 4 KiB/,
  );
  assert.throws(() => allocate(board, [req('a', { cpus: 0 })], []), /cpus count 0/);
  assert.throws(() => allocate(board, [req('a', { cpus: [] })], []), /cpus ids/);
  assert.throws(() => allocate(board, [req('a'), req('a')], []), /two requests are named `a`/);
  assert.throws(
    () => allocate(board, [], [held('a', [1], 0x48000000, 4096), held('a', [2], 0x50000000, 4096)]),
    /two existing allocations are named `a`/,
  );
});

test.run();
