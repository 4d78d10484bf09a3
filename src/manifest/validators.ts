// JSON Schema validators for manifests, boards and saved plans, compiled from schemas/ by the build
// (scripts/gen-validators.mjs writes ./generated/, before tsc and the CLI bundle), so no command
// pays ajv's compile cost. Both are imported up front: loading the board's only when asked saved
// nothing measurable, in the CLI bundle or from dist/. The saved plan's is loaded only by the commands that read one.
import type { ErrorObject } from 'ajv';
import { board } from './generated/board.validator.js';
import { partition } from './generated/partition.validator.js';

export type SchemaName = 'partition' | 'board' | 'saved-plan';

/** A compiled validator: returns true, or false with `errors` set (ajv's shape). */
export interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const VALIDATORS: Readonly<Record<'partition' | 'board', Validator>> = { partition, board };

/** The validator for a schema. */
export async function getValidator(name: SchemaName): Promise<Validator> {
  // Only `apply PLANFILE` and `show` read a saved plan: its validator loads when they ask.
  if (name === 'saved-plan') return (await import('./generated/saved-plan.validator.js')).savedPlan as Validator;
  return VALIDATORS[name];
}
