// JSON Schema validators for manifests and boards, compiled from schemas/ by the build
// (scripts/gen-validators.mjs writes ./generated/, before tsc and the CLI bundle), so no command
// pays ajv's compile cost. Both are imported up front: loading the board's only when asked saved
// nothing measurable, in the CLI bundle or from dist/.
import type { ErrorObject } from 'ajv';
import { board } from './generated/board.validator.js';
import { partition } from './generated/partition.validator.js';

export type SchemaName = 'partition' | 'board';

/** A compiled validator: returns true, or false with `errors` set (ajv's shape). */
export interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const VALIDATORS: Readonly<Record<SchemaName, Validator>> = { partition, board };

/** The validator for a schema. */
export async function getValidator(name: SchemaName): Promise<Validator> {
  return VALIDATORS[name];
}
