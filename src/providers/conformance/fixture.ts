// What the suite sends: vman's default board, and two small bare-metal partitions planned by vman's
// own planner (Engine.plan on a scratch config directory), so every address, DTB, load item and boot
// digest is exactly what `vman apply` would send. The images print a line on the partition's UART
// and park, so a provider that really boots them (`vman provider serve qemu`) sees them ready.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Board, BoardDevice } from '../../board/model.js';
import { builtinBoard } from '../../board/load.js';
import { DEFAULT_BOARD } from '../../board/builtin/index.js';
import { helloArm64Raw } from '../../demo/payloads.js';
import { Engine } from '../../engine/engine.js';
import type { Step, Target } from '../../plan/types.js';
import type { Params, StepMethod } from '../../backends/provider/protocol.js';

/** The params of each step method for one partition, as vman's client sends them. */
export type StepParams = { readonly [M in StepMethod]: Params[M] };

/** One planned partition. */
export interface Planned {
  readonly name: string;
  readonly target: Target;
  readonly params: StepParams;
  /** The readiness pattern its image prints. */
  readonly ready: string;
}

export interface Fixture {
  /** The scratch root: every provider's state directory is a fresh directory under it. */
  readonly root: string;
  readonly board: Board;
  readonly a: Planned;
  readonly b: Planned;
  /** A config directory declaring `a` alone (for the run through vman's engine). */
  readonly engineConfig: string;
  /** A file of other bytes than a's image (a file that changed since the plan). */
  readonly changedFile: string;
  /** A device whose DMA the monitor cannot confine (preferably not reserved), if the board has one. */
  readonly unconfined: BoardDevice | undefined;
}

/** Partition names the suite uses; a provider holding others is not the suite's doing. */
export const NAMES = { a: 'conf-a', b: 'conf-b', absent: 'conf-absent' } as const;

const READY_TIMEOUT = '20s';

// A Partition manifest with explicit cores and devices (memory placed by vman's allocator).
function manifest(name: string, cpu: number, device: string | undefined, image: string, ready: string): string {
  return [
    'apiVersion: vman.dev/v1alpha1',
    'kind: Partition',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  cpus: [${cpu}]`,
    '  memory: 16Mi',
    ...(device ? [`  devices: [${device}]`] : []),
    '  boot:',
    `    image: ${JSON.stringify(image)}`,
    '  readiness:',
    `    console: ${JSON.stringify(ready)}`,
    `    timeout: ${READY_TIMEOUT}`,
    '',
  ].join('\n');
}

/** The step methods' params from a partition's planned steps and target. */
function paramsOf(target: Target, steps: readonly Step[]): StepParams {
  const partition = target.name;
  const of = <K extends Step['kind']>(kind: K): Extract<Step, { kind: K }> => {
    const s = steps.find((x): x is Extract<Step, { kind: K }> => x.kind === kind && x.partition === partition);
    if (!s) throw new Error(`bug: the plan has no ${kind} step for ${partition}`);
    return s;
  };
  const alloc = of('allocate');
  const fdt = of('build-fdt');
  const release = of('release-cores');
  const wait = of('wait-ready');
  return {
    allocate: { partition, cpus: alloc.cpus, memory: alloc.memory, devices: alloc.devices },
    buildFdt: {
      partition,
      dtb: Buffer.from(target.dtb).toString('base64'),
      sha256: fdt.dtbSha256,
      size: fdt.size,
    },
    load: {
      partition,
      items: of('load').items,
      bootDigest: target.bootDigest,
      entry: target.entry,
      bootCpu: target.bootCpu,
      dtbAddr: target.dtbAddr,
    },
    releaseCores: { partition, bootCpu: release.bootCpu, entry: release.entry, dtbAddr: release.dtbAddr },
    waitReady: {
      partition,
      ...(wait.console !== undefined ? { console: wait.console } : {}),
      timeoutMs: wait.timeoutMs,
    },
    stopCores: { partition },
    scrubMemory: { partition, memory: target.memory },
    releaseResources: { partition },
  };
}

const assignable = (board: Board, d: BoardDevice): boolean =>
  d.dma.kind !== 'unconfined' && !board.reserved.some((r) => r.devices.includes(d.name));

/** Writes the images and manifests under a fresh scratch root in `tmp` and plans them with vman's planner. */
export async function makeFixture(tmp: string = tmpdir()): Promise<Fixture> {
  const loaded = builtinBoard(DEFAULT_BOARD);
  const board = loaded.board;
  if (!board) throw new Error(`bug: the default board ${DEFAULT_BOARD} is missing`);
  const root = mkdtempSync(join(tmp, 'vman-provider-test-'));
  try {
    return await planned(board, root);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

// The scratch config directories, the images, and what vman plans for them.
async function planned(board: Board, root: string): Promise<Fixture> {
  const config = join(root, 'config');
  const engineConfig = join(root, 'engine-config');
  mkdirSync(join(config, 'partitions.d'), { recursive: true });
  mkdirSync(join(engineConfig, 'partitions.d'), { recursive: true });

  const free = board.cpus.map((c) => c.id).filter((id) => !board.reserved.some((r) => r.cpus.includes(id)));
  // Devices without DMA first: the simplest a bare-metal partition can own.
  const devices = board.devices
    .filter((d) => assignable(board, d))
    .sort((x, y) => Number(x.dma.kind !== 'none') - Number(y.dma.kind !== 'none'));
  if (free.length < 2) throw new Error(`board ${board.name} has fewer than two cores to assign`);

  const ready = { a: 'vman conformance conf-a: ready', b: 'vman conformance conf-b: ready' };
  const images = { a: join(root, 'conf-a.bin'), b: join(root, 'conf-b.bin') };
  writeFileSync(images.a, helloArm64Raw(`${ready.a}\r\n`));
  writeFileSync(images.b, helloArm64Raw(`${ready.b}\r\n`));
  const changedFile = join(root, 'conf-a.changed.bin');
  writeFileSync(changedFile, helloArm64Raw(`${ready.a} (changed)\r\n`));

  const docA = manifest(NAMES.a, free[0]!, devices[0]?.name, images.a, ready.a);
  const docB = manifest(NAMES.b, free[1]!, devices[1]?.name, images.b, ready.b);
  writeFileSync(join(config, 'partitions.d', `${NAMES.a}.yaml`), docA);
  writeFileSync(join(config, 'partitions.d', `${NAMES.b}.yaml`), docB);
  writeFileSync(join(engineConfig, 'partitions.d', `${NAMES.a}.yaml`), docA);

  const engine = await Engine.open({
    cwd: config,
    configDir: config,
    stateDir: join(root, 'plan-state'),
    board: DEFAULT_BOARD,
    backend: 'sim',
  });
  const { plan } = await engine.plan();
  const plannedAs = (name: string, readyLine: string): Planned => {
    const target = plan.targets[name];
    if (!target) throw new Error(`bug: vman planned no target for ${name}`);
    return { name, target, params: paramsOf(target, plan.steps), ready: readyLine };
  };
  const unconfined =
    board.devices.find((d) => d.dma.kind === 'unconfined' && !board.reserved.some((r) => r.devices.includes(d.name))) ??
    board.devices.find((d) => d.dma.kind === 'unconfined');
  return {
    root,
    board,
    a: plannedAs(NAMES.a, ready.a),
    b: plannedAs(NAMES.b, ready.b),
    engineConfig,
    changedFile,
    unconfined,
  };
}
