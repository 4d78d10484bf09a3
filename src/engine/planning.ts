// Planning as every front end uses it: desired state against live state, with a fingerprint of
// both so that a saved plan can be refused when anything changed since it was made.
import type { LiveState } from '../backends/types.js';
import type { Plan } from '../plan/types.js';
import { dependencyClosure, makePlan, type Resolved } from '../plan/plan.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import type { ExtraManifest } from '../manifest/load.js';
import { inputError, VmanError } from '../errors.js';
import { sortDiagnostics } from '../rules/diagnostic.js';
import { sha256Hex } from '../images/digest.js';
import { didYouMean } from '../rules/suggest.js';
import type { Workspace } from './workspace.js';
import { allocationsOf, loadInputs, resolveInputs, type DesiredState } from './state.js';

/** What a saved plan was made from. */
export interface Fingerprint {
  readonly live: string;
  readonly board: string;
  readonly backend: string;
  readonly manifests: Readonly<Record<string, string>>;
  readonly files: Readonly<Record<string, string>>;
  readonly options: { readonly targets: readonly string[]; readonly replace: readonly string[] };
}

/** SPEC `--target` and `--replace`. */
export interface PlanRequest {
  readonly targets?: readonly string[];
  readonly replace?: readonly string[];
}

export interface Planned {
  readonly plan: Plan;
  readonly fingerprint: Fingerprint;
  readonly desired: DesiredState;
  /** The live state the plan was made against. */
  readonly live: LiveState;
}

/** A digest of the live state (what the monitor holds and what vman recorded of it). */
export function liveDigest(live: LiveState): string {
  return sha256Hex(JSON.stringify({ partitions: live.partitions, orphans: live.orphans }));
}

function fingerprintOf(ws: Workspace, live: LiveState, d: DesiredState, req: PlanRequest): Fingerprint {
  const files: Record<string, string> = {};
  for (const facts of d.inputs.boot.values()) {
    files[facts.main.path] = facts.main.sha256;
    if (facts.initrd) files[facts.initrd.path] = facts.initrd.sha256;
    for (const o of facts.overlays) files[o.path] = o.sha256;
  }
  return {
    live: liveDigest(live),
    board: ws.boardSha256,
    backend: ws.backend,
    manifests: Object.fromEntries(d.inputs.manifestFiles.map((m) => [m.display, m.sha256])),
    files,
    options: { targets: [...(req.targets ?? [])].sort(), replace: [...(req.replace ?? [])].sort() },
  };
}

/**
 * Plans desired against live. Invalid inputs throw one input error carrying every diagnostic. `extra` is
 * a manifest planned as if it were in partitions.d/ (create plans one before writing it).
 */
export async function planAgainst(
  ws: Workspace,
  live: LiveState,
  req: PlanRequest = {},
  o: { readonly extra?: ExtraManifest } = {},
): Promise<Planned> {
  const inputs = await loadInputs(ws, o.extra ? { extra: o.extra } : {});
  const names = new Set(inputs.specs.map((s) => s.name));
  for (const n of [...(req.targets ?? []), ...(req.replace ?? [])]) {
    if (!names.has(n) && !live.partitions.some((p) => p.name === n)) {
      const fix = didYouMean(n, [...names, ...live.partitions.map((p) => p.name)]);
      throw new VmanError('usage', `no partition is called \`${n}\`${fix ? `; ${fix}` : ''}`);
    }
  }
  const targets = req.targets?.length ? req.targets : undefined;
  const replace = req.replace?.length ? req.replace : undefined;
  const only = targets
    ? dependencyClosure(targets, (n) => inputs.specs.find((s) => s.name === n)?.dependsOn ?? [])
    : undefined;
  const keep = only ? live.partitions.filter((p) => !only.has(p.name)).map((p) => p.name) : [];
  // Resolved against what is live, so unchanged partitions keep their place.
  const set = resolveInputs(inputs, {
    existing: allocationsOf(live),
    keep,
    ...(only ? { only } : {}),
    ...(replace ? { replace } : {}),
  });
  const desired: DesiredState = { inputs, set };
  const problems = sortDiagnostics([...inputs.problems, ...set.problems]);
  if (problems.length) throw inputError(problems);
  const plan = makePlan(set.resolved, live, { ...(targets ? { targets } : {}), ...(replace ? { replace } : {}) });
  return { plan, fingerprint: fingerprintOf(ws, live, desired, req), desired, live };
}

/**
 * The whole configuration against live state, as an untargeted plan sees it (with `extra` as if it were
 * in partitions.d/): every problem, and where each partition that can be placed goes. Never throws for
 * bad input.
 */
export async function resolveWhole(
  ws: Workspace,
  live: LiveState,
  o: { readonly extra?: ExtraManifest } = {},
): Promise<{ readonly problems: readonly Diagnostic[]; readonly resolved: readonly Resolved[] }> {
  const inputs = await loadInputs(ws, o.extra ? { extra: o.extra } : {});
  const set = resolveInputs(inputs, { existing: allocationsOf(live) });
  return { problems: sortDiagnostics([...inputs.problems, ...set.problems]), resolved: set.resolved };
}

/** Whether a plan changes anything. */
export function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => c.action !== 'noop');
}

/** What differs between a saved plan's fingerprint and now, as sentences (empty when fresh). */
export function staleness(saved: Fingerprint, now: Fingerprint): string[] {
  const out: string[] = [];
  if (saved.live !== now.live) out.push('the live state of the monitor changed');
  if (saved.board !== now.board) out.push('the board definition changed');
  if (saved.backend !== now.backend) out.push(`the backend is now ${now.backend}, not ${saved.backend}`);
  const files = new Set([...Object.keys(saved.manifests), ...Object.keys(now.manifests)]);
  for (const f of [...files].sort()) {
    const a = saved.manifests[f];
    const b = now.manifests[f];
    if (a !== b) out.push(a === undefined ? `${f} was added` : b === undefined ? `${f} was removed` : `${f} changed`);
  }
  const images = new Set([...Object.keys(saved.files), ...Object.keys(now.files)]);
  for (const f of [...images].sort()) {
    const a = saved.files[f];
    const b = now.files[f];
    if (a !== b && a !== undefined && b !== undefined) out.push(`${f} changed`);
  }
  return out;
}
