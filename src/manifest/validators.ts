// JSON Schema validators for manifests and boards, compiled from schemas/ by the build
// (scripts/gen-validators.mjs writes ./generated/, before tsc and the CLI bundle), so no command
// pays ajv's compile cost.
import type { ErrorObject } from 'ajv';

export type SchemaName = 'partition' | 'board';

/** A compiled validator: returns true, or false with `errors` set (ajv's shape). */
export interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

// Each imported only when first asked for: most commands validate no board file, and the board's
// validator is three quarters of the code.
const LOADERS: Readonly<Record<SchemaName, () => Promise<Validator>>> = {
  partition: async () => (await import('./generated/partition.validator.js')).partition as Validator,
  board: async () => (await import('./generated/board.validator.js')).board as Validator,
};

const cache = new Map<SchemaName, Validator>();

/** The validator for a schema. */
export async function getValidator(name: SchemaName): Promise<Validator> {
  let v = cache.get(name);
  if (!v) cache.set(name, (v = await LOADERS[name]()));
  return v;
}
