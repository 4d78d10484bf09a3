// Saved plans (`plan --out FILE`): the plan itself, the targets its steps build, and the
// fingerprint of the live state and inputs it was made from. Reading one checks it against
// schemas/plan.schema.json (`$defs/savedPlan`); applying one also checks it against the plan its
// inputs give now (see Engine.apply), so an edited file is refused, never cast and run.
import { promises as fs } from 'node:fs';
import type { Plan, Step, Change, Target } from '../plan/types.js';
import type { LiveState } from '../backends/types.js';
import { VmanError } from '../errors.js';
import { writeUserFile } from '../state/files.js';
import { getValidator } from '../manifest/validators.js';
import type { Fingerprint } from './planning.js';

export const SAVED_PLAN_KIND = 'vman-plan';
/** Larger files are refused before they are parsed. */
const MAX_SAVED_PLAN_BYTES = 256 * 1024 * 1024;

/** A saved plan as it is on disk. */
export interface SavedPlan {
  readonly kind: typeof SAVED_PLAN_KIND;
  readonly format_version: '1';
  readonly created: string;
  readonly configDir: string;
  readonly stateDir: string;
  readonly board: string;
  readonly backend: string;
  readonly changes: readonly Change[];
  readonly steps: readonly Step[];
  readonly targets: Readonly<Record<string, Target>>;
  readonly fingerprint: Fingerprint;
  /** The live state the plan was made against (for `vman show`). */
  readonly live: LiveState;
}

/** Where the plan was made, saved beside it. */
export interface SavedPlanMeta {
  readonly configDir: string;
  readonly stateDir: string;
  readonly board: string;
  readonly backend: string;
  readonly fingerprint: Fingerprint;
  readonly live: LiveState;
}

/** The document a plan is saved as. */
export function savedPlanDocument(plan: Plan, meta: SavedPlanMeta, created = new Date()): SavedPlan {
  return {
    kind: SAVED_PLAN_KIND,
    format_version: '1',
    created: created.toISOString(),
    ...meta,
    changes: plan.changes,
    steps: plan.steps,
    targets: plan.targets,
  };
}

export async function writeSavedPlan(file: string, plan: Plan, meta: SavedPlanMeta): Promise<void> {
  await writeUserFile(file, `${JSON.stringify(savedPlanDocument(plan, meta), jsonBytes, 1)}\n`);
}

// Bytes (a target's DTB) are bytes inside vman and base64 in a saved plan's JSON: this is that edge.
function jsonBytes(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array
    ? Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64')
    : value;
}

/** A target as a saved plan's JSON holds it: the DTB in base64. */
type TargetJson = Omit<Target, 'dtb'> & { readonly dtb: string };

/** A saved plan's targets with their DTBs as bytes again (the schema checked they are base64). */
function withBytes(targets: Readonly<Record<string, TargetJson>>): Record<string, Target> {
  const out: Record<string, Target> = {};
  for (const [name, t] of Object.entries(targets))
    out[name] = { ...t, dtb: new Uint8Array(Buffer.from(t.dtb, 'base64')) };
  return out;
}

const notAPlan = (file: string, why: string) =>
  new VmanError('usage', `${file} is not a saved vman plan (${why}); make one with \`vman plan --out ${file}\``, {
    file,
  });

/** Reads a saved plan, refusing anything that is not one, whole and well-formed. */
export async function readSavedPlan(file: string): Promise<SavedPlan> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new VmanError('usage', `${file} is not a saved plan file`, { file });
    if (st.size > MAX_SAVED_PLAN_BYTES)
      throw new VmanError('usage', `${file} is too large to be a saved plan`, { file });
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof VmanError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new VmanError('usage', `cannot read plan ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, {
      file,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw notAPlan(file, 'not JSON');
  }
  const head = doc as { kind?: unknown; format_version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.kind !== SAVED_PLAN_KIND)
    throw notAPlan(file, 'no `kind: vman-plan`');
  if (head.format_version !== '1')
    throw notAPlan(file, `format_version ${JSON.stringify(head.format_version)}, not "1"`);
  const validate = await getValidator('saved-plan');
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    const where = e?.instancePath ? `at ${e.instancePath.slice(1).replaceAll('/', '.')}` : 'at its top level';
    const extra = e?.params?.additionalProperty;
    const what = `${e?.message ?? 'invalid'}${typeof extra === 'string' ? ` (\`${extra}\`)` : ''}`;
    throw new VmanError(
      'usage',
      `${file} is not a valid saved plan: ${where}, ${what} (schemas/plan.schema.json); ` +
        `make it again with \`vman plan --out ${file}\``,
      { file },
    );
  }
  const plan = doc as Omit<SavedPlan, 'targets'> & { readonly targets: Readonly<Record<string, TargetJson>> };
  return { ...plan, targets: withBytes(plan.targets) };
}

/** The plan inside a saved plan. */
export function planOf(doc: SavedPlan): Plan {
  return { changes: doc.changes, steps: doc.steps, targets: doc.targets };
}

/** The first place where two JSON values differ, as a path (`steps[3].entry`), or undefined when equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return path || '(the whole plan)';
  if (Array.isArray(a) !== Array.isArray(b)) return path;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
    const d = firstDifference(ra[k], rb[k], path ? `${path}.${k}` : k);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** Plans as they are saved (the JSON form), for comparing a saved plan with a fresh one. */
export function planDocument(plan: Plan): unknown {
  return JSON.parse(JSON.stringify({ changes: plan.changes, steps: plan.steps, targets: plan.targets }, jsonBytes));
}
