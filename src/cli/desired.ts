// Desired state for a command: load manifests and files, then resolve them against live allocations.
import type { Diagnostic } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { loadDesired, type DesiredInputs } from '../desired/load.js';
import { resolveDesired, type ResolveOptions, type ResolvedSet } from '../desired/resolve.js';
import { sha256Hex } from '../images/digest.js';
import { PARTITIONS_DIR } from '../manifest/load.js';
import type { Context } from './context.js';

export interface DesiredState {
  readonly inputs: DesiredInputs;
  readonly set: ResolvedSet;
}

/** Loads manifests and the files they name. `cache: false` leaves the digest cache alone (validate). */
export async function loadInputs(
  ctx: Context,
  o: { boardProblems?: readonly Diagnostic[]; cache?: boolean } = {},
): Promise<DesiredInputs> {
  const inputs = await loadDesired({
    configDir: ctx.configDir,
    cwd: ctx.cwd,
    board: ctx.board,
    ...(o.cache === false ? {} : { stateDir: ctx.stateDir }),
    ...(ctx.imageRoot ? { imageRoot: ctx.imageRoot } : {}),
    problems: o.boardProblems ?? [],
  });
  if (inputs.present) return inputs;
  const missing: Diagnostic = {
    code: CODES.noConfig,
    message: `${ctx.configDir} has no ${PARTITIONS_DIR}/ directory`,
    hint: `create ${PARTITIONS_DIR}/ with partition manifests, or point -C at the config directory`,
  };
  return { ...inputs, problems: [missing, ...inputs.problems] };
}

/** Resolves loaded inputs (allocation, layout, trees). */
export function resolveInputs(inputs: DesiredInputs, o: Omit<ResolveOptions, 'digest'> = {}): ResolvedSet {
  return resolveDesired(inputs, { ...o, digest: sha256Hex });
}

/** Both steps at once. */
export async function desiredState(
  ctx: Context,
  o: { boardProblems?: readonly Diagnostic[]; cache?: boolean; resolve?: Omit<ResolveOptions, 'digest'> } = {},
): Promise<DesiredState> {
  const inputs = await loadInputs(ctx, o);
  return { inputs, set: resolveInputs(inputs, o.resolve) };
}
