// Desired inputs + live allocations → each partition's target: where it goes, how it boots, its
// tree and the digest of everything it loads. Pure: the same inputs always give the same targets.
import type { Board } from '../board/model.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import type { PartitionSpec } from '../manifest/types.js';
import { DEFAULT_RESTART_POLICY, fieldPosition } from '../manifest/types.js';
import type { Allocation, AllocRequest, AllocResult } from '../alloc/types.js';
import { allocate } from '../alloc/allocate.js';
import { CODES } from '../rules/codes.js';
import { checkClaims } from '../rules/resources.js';
import { baseAlignment, DTB_SLOT, elfCover, planLayout, type BootLayout, type LayoutProblem } from '../boot/layout.js';
import { buildTree } from '../tree/build.js';
import { applyOverlay } from '../fdt/overlay.js';
import { encodeFdt } from '../fdt/encode.js';
import type { Fdt } from '../fdt/types.js';
import type { AppliedRecord, LoadItem, Target } from '../plan/types.js';
import type { Resolved } from '../plan/plan.js';
import type { BootFacts, DesiredInputs } from './load.js';

/** SHA-256 as lower-case hex; injected so this module stays free of I/O and Node imports. */
export type Digest = (data: Uint8Array | string) => string;

export interface ResolveOptions {
  /** What live partitions hold now (kept where their requests still fit). */
  readonly existing?: readonly Allocation[];
  /** Live partitions outside --target: kept as they are, even without a manifest. */
  readonly keep?: readonly string[];
  /** Only these partitions are placed (the --target closure); undefined means all. */
  readonly only?: ReadonlySet<string>;
  readonly replace?: readonly string[];
  readonly digest: Digest;
}

export interface ResolvedSet {
  readonly resolved: readonly Resolved[];
  /** The tree of each resolved partition (for `vman fdt --planned`). */
  readonly trees: ReadonlyMap<string, Fdt>;
  readonly problems: readonly Diagnostic[];
}

function alignOf(board: Board, s: PartitionSpec): number {
  return baseAlignment(board.arch, s.boot.kind);
}

function requestOf(board: Board, s: PartitionSpec, facts: BootFacts | undefined): AllocRequest {
  const segments = facts?.image && s.memory.base === undefined ? elfCover(facts.image) : undefined;
  // An image's DTB slot is the partition's last 2 MiB (boot/layout.ts): cover the segments and a slot above them.
  const cover = segments ? { base: segments.base, size: segments.size + DTB_SLOT } : undefined;
  return {
    name: s.name,
    cpus: s.cpus,
    memory: {
      size: s.memory.size,
      align: alignOf(board, s),
      ...(s.memory.base !== undefined ? { base: s.memory.base } : {}),
      ...(cover ? { cover } : {}),
    },
    devices: s.devices,
  };
}

/** The manifest fields vman records with a live partition. */
export function recordOf(s: PartitionSpec, facts: BootFacts): AppliedRecord {
  const b = s.boot;
  const boot: Record<string, string> = {};
  if (b.kind === 'kernel') {
    boot.kernel = b.kernel;
    boot['kernel.sha256'] = facts.main.sha256;
    if (b.initrd && facts.initrd) {
      boot.initrd = b.initrd;
      boot['initrd.sha256'] = facts.initrd.sha256;
    }
  } else {
    boot.image = b.image;
    boot['image.sha256'] = facts.main.sha256;
    if (b.load !== undefined) boot.load = `0x${b.load.toString(16)}`;
    if (b.entry !== undefined) boot.entry = `0x${b.entry.toString(16)}`;
  }
  if (b.bootargs !== undefined) boot.bootargs = b.bootargs;
  if (facts.overlays.length) {
    boot.overlays = facts.overlays.map((o) => o.path).join(', ');
    boot['overlays.sha256'] = facts.overlays.map((o) => o.sha256).join(', ');
  }
  return {
    cpus: 'ids' in s.cpus ? s.cpus.ids : s.cpus.count,
    memory: s.memory,
    devices: s.devices,
    state: s.state,
    boot,
    labels: s.labels,
    dependsOn: s.dependsOn,
    readiness: s.readiness,
    ...(s.uid !== undefined ? { uid: s.uid } : {}),
    restartPolicy: s.restartPolicy ?? DEFAULT_RESTART_POLICY,
  };
}

function loadsOf(layout: BootLayout, facts: BootFacts, dtbSha: string): LoadItem[] {
  const items: LoadItem[] = [];
  for (const p of layout.placed) {
    const file = p.what === 'initrd' ? facts.initrd : facts.main;
    if (!file) continue;
    items.push({
      what: p.what,
      file: file.path,
      offset: p.offset,
      size: p.size,
      addr: p.addr,
      ...(p.zero ? { zero: p.zero } : {}),
      sha256: file.sha256,
    });
  }
  items.push({ what: 'dtb', offset: 0, size: 0, addr: layout.dtb.base, sha256: dtbSha });
  return items;
}

/** Resolves every valid partition. Problems: design rules, allocation, layout, overlays. */
export function resolveDesired(inputs: DesiredInputs, opts: ResolveOptions): ResolvedSet {
  const { board } = inputs;
  const problems: Diagnostic[] = [];
  const specs = inputs.specs.filter((s) => !opts.only || opts.only.has(s.name));
  const ready = placeable(inputs, specs, problems);
  const result = allocate(
    board,
    ready.map((s) => requestOf(board, s, inputs.boot.get(s.name))),
    opts.existing ?? [],
    { ...(opts.keep ? { keep: opts.keep } : {}), ...(opts.replace ? { replace: opts.replace } : {}) },
  );
  const byName = new Map(ready.map((s) => [s.name, s]));
  problems.push(...placementProblems(result.failures, byName));
  const resolved: Resolved[] = [];
  const trees = new Map<string, Fdt>();
  result.allocations.forEach((a, i) => {
    const s = byName.get(a.name);
    const facts = inputs.boot.get(a.name);
    const placement = result.placements[i];
    if (!s || !facts || !placement) return;
    const r = resolveOne(board, s, a, facts, opts.digest);
    if (!r) return;
    if ('problem' in r) {
      problems.push(r.problem);
      return;
    }
    trees.set(s.name, r.tree);
    resolved.push({ target: r.target, placement });
  });
  return { resolved, trees, problems };
}

// The specs that go to the allocator: not claiming what the rules refuse, not declared twice, with
// their boot files described. The rules' problems are added to `problems`.
function placeable(inputs: DesiredInputs, specs: readonly PartitionSpec[], problems: Diagnostic[]): PartitionSpec[] {
  const { board } = inputs;
  const claims = checkClaims(board, specs, (s) => alignOf(board, s));
  problems.push(...claims);
  const blocked = new Set(claims.map((d) => d.partition));
  // A name declared twice is already a problem (rules/manifests.ts); neither declaration is placed.
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) blocked.add(s.name);
    else seen.add(s.name);
  }
  return specs.filter((s) => !blocked.has(s.name) && inputs.boot.has(s.name));
}

function placementProblems(
  failures: AllocResult['failures'],
  byName: ReadonlyMap<string, PartitionSpec>,
): Diagnostic[] {
  return failures.flatMap((f) => {
    const s = byName.get(f.name);
    if (!s) return [];
    const field = f.resource === 'cpus' ? 'spec.cpus' : f.resource === 'devices' ? 'spec.devices' : 'spec.memory';
    return [{ code: CODES.cannotPlace, message: f.message, position: fieldPosition(s, field), partition: s.name }];
  });
}

// One placed partition: its boot layout, its tree (with overlays), its target; or the problem that stops it.
function resolveOne(
  board: Board,
  s: PartitionSpec,
  a: Allocation,
  facts: BootFacts,
  sha256: Digest,
): { target: Target; tree: Fdt } | { problem: Diagnostic } | undefined {
  const layout = layoutOf(board, s, a, facts);
  if (!layout) return undefined;
  if ('kind' in layout) return { problem: layoutProblem(s, layout) };
  const tree = treeOf(board, s, a, layout, facts);
  if ('problem' in tree) return tree;
  const dtb = encodeFdt(tree.tree);
  if (dtb.length > layout.dtb.size) {
    return {
      problem: {
        code: CODES.overlayInvalid,
        message: `partition \`${s.name}\`: its device tree is ${dtb.length} bytes, larger than the 2 MiB DTB slot`,
        position: fieldPosition(s, 'spec.boot.overlays'),
        partition: s.name,
      },
    };
  }
  const target = targetOf(s, a, layout, facts, dtb, sha256);
  return target ? { target, tree: tree.tree } : undefined;
}

function layoutOf(
  board: Board,
  s: PartitionSpec,
  a: Allocation,
  facts: BootFacts,
): BootLayout | LayoutProblem | undefined {
  if (facts.kernel) {
    return planLayout({
      kind: 'kernel',
      arch: board.arch,
      memory: a.memory,
      kernel: facts.kernel,
      ...(facts.initrd ? { initrdSize: facts.initrd.size } : {}),
    });
  }
  if (facts.image) {
    return planLayout({
      kind: 'image',
      arch: board.arch,
      memory: a.memory,
      image: facts.image,
      ...(s.boot.kind === 'image' && s.boot.load !== undefined ? { load: s.boot.load } : {}),
      ...(s.boot.kind === 'image' && s.boot.entry !== undefined ? { entry: s.boot.entry } : {}),
    });
  }
  return undefined;
}

function layoutProblem(s: PartitionSpec, layout: LayoutProblem): Diagnostic {
  const code =
    layout.code === 'too-small'
      ? CODES.layoutTooSmall
      : layout.code === 'outside'
        ? CODES.imageOutsidePartition
        : CODES.imageTooLarge;
  return {
    code,
    message: `partition \`${s.name}\`: ${layout.message}`,
    position: fieldPosition(s, layout.field),
    partition: s.name,
    ...(layout.hint ? { hint: layout.hint } : {}),
  };
}

// The partition's tree, then its overlays in order. Each is applied on its own, so a failure
// points at the overlay that failed (spec.boot.overlays.N) whatever the files are called.
function treeOf(
  board: Board,
  s: PartitionSpec,
  a: Allocation,
  layout: BootLayout,
  facts: BootFacts,
): { tree: Fdt } | { problem: Diagnostic } {
  let tree = buildTree({
    board,
    name: s.name,
    cpus: a.cpus,
    memory: a.memory,
    devices: a.devices,
    ...(s.boot.bootargs !== undefined ? { bootargs: s.boot.bootargs } : {}),
    ...(layout.initrd ? { initrd: layout.initrd } : {}),
  });
  for (const [i, o] of facts.overlays.entries()) {
    try {
      tree = applyOverlay(tree, o.fdt, o.path);
    } catch (err) {
      return {
        problem: {
          code: CODES.overlayInvalid,
          message: (err as Error).message,
          position: fieldPosition(s, `spec.boot.overlays.${i}`),
          partition: s.name,
        },
      };
    }
  }
  return { tree };
}

function targetOf(
  s: PartitionSpec,
  a: Allocation,
  layout: BootLayout,
  facts: BootFacts,
  dtb: Uint8Array,
  sha256: Digest,
): Target | undefined {
  const dtbSha = sha256(dtb);
  const loads = loadsOf(layout, facts, dtbSha).map((l) => (l.what === 'dtb' ? { ...l, size: dtb.length } : l));
  const bootCpu = a.cpus[0];
  if (bootCpu === undefined) return undefined;
  // Content-addressed: the same bytes at the same addresses are the same boot, wherever the files live.
  const bootDigest = sha256(
    JSON.stringify({
      loads: loads.map(({ file: _file, ...rest }) => rest),
      entry: layout.entry,
      bootCpu,
      dtb: layout.dtb.base,
    }),
  );
  return {
    name: s.name,
    state: s.state,
    cpus: a.cpus,
    memory: a.memory,
    devices: a.devices,
    bootCpu,
    entry: layout.entry,
    dtbAddr: layout.dtb.base,
    dtb: dtb,
    dtbSize: dtb.length,
    dtbSha256: dtbSha,
    loads,
    bootDigest,
    readiness: s.readiness,
    dependsOn: s.dependsOn,
    record: recordOf(s, facts),
  };
}
