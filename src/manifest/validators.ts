// JSON Schema validators for manifests and boards.
// `npm run build` precompiles them (scripts/gen-validators.mjs) so the CLI does not pay ajv's
// compile cost at start-up; when running from source they are compiled on first use.
import type { ErrorObject } from 'ajv';

export type SchemaName = 'partition' | 'board';

/** A compiled validator: returns true, or false with `errors` set (ajv's shape). */
export interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const cache = new Map<SchemaName, Validator>();

// Emitted by the build next to this module, one per schema (scripts/gen-validators.mjs); absent
// when running from source. Literal URLs, so the CLI bundle (scripts/bundle-cli.mjs) finds them.
const PRECOMPILED: Readonly<Record<SchemaName, string>> = {
  partition: new URL('./partition.validator.js', import.meta.url).href,
  board: new URL('./board.validator.js', import.meta.url).href,
};

/** The validator for a schema, precompiled when available. */
export async function getValidator(name: SchemaName): Promise<Validator> {
  const hit = cache.get(name);
  if (hit) return hit;
  let v: Validator;
  try {
    v = ((await import(PRECOMPILED[name])) as Record<SchemaName, Validator>)[name];
  } catch {
    v = await compileAtRuntime(name);
  }
  cache.set(name, v);
  return v;
}

async function compileAtRuntime(name: SchemaName): Promise<Validator> {
  const [{ readFile }, { Ajv2020 }] = await Promise.all([import('node:fs/promises'), import('ajv/dist/2020.js')]);
  const text = await readFile(new URL(`../../schemas/${name}.schema.json`, import.meta.url), 'utf8');
  const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
  return ajv.compile(JSON.parse(text) as object) as Validator;
}
