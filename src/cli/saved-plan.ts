// Saved plans (`plan --out FILE`): the plan itself, the targets its steps build, and the
// fingerprint of the live state and inputs it was made from.
import { promises as fs } from 'node:fs';
import type { Plan, Target, Step, Change } from '../plan/types.js';
import type { LiveState } from '../backends/types.js';
import { VmanError } from '../errors.js';
import { writeUserFile } from '../state/files.js';
import type { Fingerprint } from './planning.js';
import { planJson } from './render/plan.js';

export const SAVED_PLAN_KIND = 'vman-plan';

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

export async function writeSavedPlan(
  file: string,
  plan: Plan,
  meta: {
    configDir: string;
    stateDir: string;
    board: string;
    backend: string;
    fingerprint: Fingerprint;
    live: LiveState;
  },
): Promise<void> {
  const doc: SavedPlan = {
    kind: SAVED_PLAN_KIND,
    ...planJson(plan),
    created: new Date().toISOString(),
    ...meta,
    changes: plan.changes,
    steps: plan.steps,
    targets: plan.targets,
  };
  await writeUserFile(file, `${JSON.stringify(doc, null, 1)}\n`);
}

/** Reads a saved plan, refusing anything that is not one. */
export async function readSavedPlan(file: string): Promise<SavedPlan> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new VmanError('usage', `${file} is not a saved plan file`);
    if (st.size > 256 * 1024 * 1024) throw new VmanError('usage', `${file} is too large to be a saved plan`);
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof VmanError) throw err;
    throw new VmanError(
      'usage',
      `cannot read plan ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let doc: SavedPlan;
  try {
    doc = JSON.parse(text) as SavedPlan;
  } catch {
    throw new VmanError('usage', `${file} is not a saved plan (not JSON); make one with \`vman plan --out ${file}\``);
  }
  if (doc?.kind !== SAVED_PLAN_KIND || doc.format_version !== '1' || !Array.isArray(doc.steps) || !doc.fingerprint) {
    throw new VmanError(
      'usage',
      `${file} is not a saved vman plan (format_version 1); make one with \`vman plan --out ${file}\``,
    );
  }
  return doc;
}

/** The plan inside a saved plan. */
export function planOf(doc: SavedPlan): Plan {
  return { changes: doc.changes, steps: doc.steps, targets: doc.targets };
}
