// A saved plan edited by hand is refused by every backend, whatever the planner would have said: each
// monitor (sim, and qemu really starting QEMU on qemu-virt-aarch64) is driven through allocate,
// build-fdt and load with a real planned Target, then given a release-cores at entry + 0x1000, on
// another core, with the DTB moved, and a load with an item moved outside or another DTB. Each is
// refused, and nothing is released: the partition stays stopped with the genuine boot loaded, and the
// genuine release that follows runs it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBuiltinBoard } from '../../src/board/builtin/index.js';
import type { Board } from '../../src/board/model.js';
import { loadDesired } from '../../src/desired/load.js';
import { resolveDesired } from '../../src/desired/resolve.js';
import { VmanError } from '../../src/errors.js';
import { sha256Hex } from '../../src/images/digest.js';
import { makePlan } from '../../src/plan/plan.js';
import type { Plan, Step, Target } from '../../src/plan/types.js';
import { QemuMonitor } from '../../src/backends/qemu/monitor.js';
import { SimMonitor } from '../../src/backends/sim/monitor.js';
import { plannedFor, type Monitor, type StepContext } from '../../src/backends/types.js';
import { partitionYaml } from '../helpers/cli.js';
import { qemuProcessesUnder, requireTools } from '../qemu/support.js';

const BOARD = 'qemu-virt-aarch64';
const MiB = 1024 * 1024;
/** A64 `b .`: the image spins where it is entered. */
const SPIN = 0x14000000;

type StepOf<K extends Step['kind']> = Extract<Step, { readonly kind: K }>;

/** A config dir with one partition `p` (2 cores, 16 MiB) booting a 4 KiB image that spins; its plan. */
async function planned(board: Board): Promise<{ dir: string; plan: Plan; target: Target }> {
  const dir = mkdtempSync(join(tmpdir(), 'vman-tampered-'));
  const image = new Uint8Array(4096);
  const v = new DataView(image.buffer);
  for (let i = 0; i < image.length; i += 4) v.setUint32(i, SPIN, true);
  writeFileSync(join(dir, 'spin.bin'), image);
  mkdirSync(join(dir, 'partitions.d'));
  writeFileSync(join(dir, 'partitions.d', 'p.yaml'), partitionYaml('p', { cpus: 2, image: '../spin.bin' }));
  const inputs = await loadDesired({ configDir: dir, cwd: dir, board, stateDir: join(dir, 'state') });
  assert.equal(inputs.problems, []);
  const set = resolveDesired(inputs, { digest: sha256Hex });
  assert.equal(set.problems, []);
  const plan = makePlan(set.resolved, { partitions: [], orphans: [] });
  const target = plan.targets.p;
  assert.ok(target, 'p is planned');
  assert.equal(
    plan.steps.map((s) => s.kind),
    ['allocate', 'build-fdt', 'load', 'release-cores', 'wait-ready'],
  );
  return { dir, plan, target };
}

function stepOf<K extends Step['kind']>(plan: Plan, kind: K): StepOf<K> {
  const s = plan.steps.find((x): x is StepOf<K> => x.kind === kind);
  if (!s) throw new Error(`no ${kind} step`);
  return s;
}

async function refused(m: Monitor, step: Step, ctx: StepContext, why: string): Promise<void> {
  try {
    await m.execute(step, ctx);
  } catch (err) {
    assert.instance(err, VmanError);
    assert.is((err as VmanError).kind, 'backend');
    assert.is((err as Error).message, `the monitor refused ${step.kind} for \`p\`: ${why}`);
    return;
  }
  assert.unreachable(`${step.kind} ${JSON.stringify(step)} was carried out`);
}

/**
 * Drives `m` through the genuine bring-up, every tampered step, then the genuine release and teardown.
 * `processes` lists the backend's host processes, which no refused step may replace.
 */
async function tamperWith(m: Monitor, plan: Plan, target: Target, processes = (): number[] => []): Promise<void> {
  const ctx: StepContext = { ...plannedFor(target), report: () => undefined, signal: new AbortController().signal };
  for (const kind of ['allocate', 'build-fdt', 'load'] as const) await m.execute(stepOf(plan, kind), ctx);
  const machine = processes();
  const stoppedWithGenuineBoot = async (after: string) => {
    const live = await m.read();
    assert.equal(
      live.partitions.map((p) => [p.name, p.state, p.bootDigest]),
      [['p', 'stopped', target.bootDigest]],
      `after ${after}`,
    );
    assert.equal(processes(), machine, `the same processes after ${after}`);
  };
  await stoppedWithGenuineBoot('the load');
  assert.is(machine.length, m.name === 'qemu' ? 1 : 0);

  const release = stepOf(plan, 'release-cores');
  const hex = (n: number) => `0x${n.toString(16)}`;
  const loaded = `core ${release.bootCpu} at ${hex(release.entry)} with the DTB at ${hex(release.dtbAddr)}`;
  const [, other] = target.cpus;
  assert.ok(other !== undefined && other !== release.bootCpu);
  const notInPartition = [1, 2, 3, 4, 5, 6, 7].find((c) => !target.cpus.includes(c));
  assert.ok(notInPartition !== undefined);
  const releases: [string, StepOf<'release-cores'>, string][] = [
    [
      'entry + 0x1000',
      { ...release, entry: release.entry + 0x1000 },
      `what was loaded enters ${loaded}, not core ${release.bootCpu} at ${hex(release.entry + 0x1000)} ` +
        `with ${hex(release.dtbAddr)}`,
    ],
    [
      "another of the partition's cores",
      { ...release, bootCpu: other },
      `what was loaded enters ${loaded}, not core ${other} at ${hex(release.entry)} with ${hex(release.dtbAddr)}`,
    ],
    [
      "a core not the partition's",
      { ...release, bootCpu: notInPartition },
      `core ${notInPartition} is not the partition's`,
    ],
    [
      'the DTB address moved',
      { ...release, dtbAddr: release.dtbAddr - 2 * MiB },
      `what was loaded enters ${loaded}, not core ${release.bootCpu} at ${hex(release.entry)} ` +
        `with ${hex(release.dtbAddr - 2 * MiB)}`,
    ],
  ];
  for (const [what, step, why] of releases) {
    await refused(m, step, ctx, why);
    await stoppedWithGenuineBoot(`a release-cores with ${what}`);
  }

  const load = stepOf(plan, 'load');
  const image = load.items.findIndex((i) => i.what !== 'dtb');
  const dtb = load.items.findIndex((i) => i.what === 'dtb');
  const edit = (i: number, o: object) => ({ ...load, items: load.items.map((x, j) => (j === i ? { ...x, ...o } : x)) });
  const end = target.memory.base + target.memory.size;
  const range = `${hex(target.memory.base)}–${hex(end - 1)}`;
  const item = load.items[image]!;
  await refused(
    m,
    edit(image, { addr: end }),
    ctx,
    `${item.what} at ${hex(end)}–${hex(end + item.size - 1)} lies outside the partition's memory ${range}`,
  );
  await stoppedWithGenuineBoot('a load with an item moved outside');
  await refused(m, edit(dtb, { sha256: 'e'.repeat(64) }), ctx, 'the DTB to load is not the one built');
  await stoppedWithGenuineBoot('a load with another DTB');

  // Nothing was disturbed: the genuine release runs what was loaded.
  await m.execute(release, ctx);
  await m.execute(stepOf(plan, 'wait-ready'), ctx);
  assert.equal(
    (await m.read()).partitions.map((p) => [p.name, p.state]),
    [['p', 'running']],
  );
  const down = { id: 'p/x', partition: 'p', after: [] } as const;
  await m.execute({ ...down, kind: 'stop-cores' }, ctx);
  await m.execute({ ...down, kind: 'scrub-memory', memory: target.memory }, ctx);
  await m.execute({ ...down, kind: 'release-resources' }, ctx);
  assert.equal((await m.read()).partitions, []);
}

const board = getBuiltinBoard(BOARD);
if (!board) throw new Error(`no built-in board ${BOARD}`);

test('sim refuses every tampered step and releases nothing', async () => {
  const { dir, plan, target } = await planned(board);
  const m = new SimMonitor(board, join(dir, 'state'));
  try {
    await tamperWith(m, plan, target);
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

if (requireTools('backends/tampered (qemu)', { tools: [board.qemu?.binary ?? 'qemu-system-aarch64'] })) {
  test('qemu refuses every tampered step and releases nothing (QEMU stays halted with the genuine boot)', async () => {
    const { dir, plan, target } = await planned(board);
    const state = join(dir, 'state');
    const m = new QemuMonitor(board, state);
    try {
      await tamperWith(m, plan, target, () => qemuProcessesUnder(state));
      assert.equal(qemuProcessesUnder(state), [], 'no QEMU left');
    } finally {
      await m.close();
      for (const pid of qemuProcessesUnder(state)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
