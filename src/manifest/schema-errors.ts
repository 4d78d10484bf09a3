// ajv errors → vman diagnostics at YAML positions, one message per problem, in plain words.
import type { ErrorObject } from 'ajv';
import type { Document } from 'yaml';
import type { Diagnostic } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { closest, didYouMean } from '../rules/suggest.js';
import { positionOf, type SourceFile } from './positions.js';

type Path = (string | number)[];

/** Per-field wording for pattern failures, keyed by dotted path with `*` for any element. */
const PATTERN_MESSAGES: Readonly<
  Record<string, [code: string, text: (v: unknown) => string, hint?: (v: unknown) => string | undefined]>
> = {
  'metadata.name': [
    CODES.badName,
    (v) => `name ${JSON.stringify(v)} is not a DNS label`,
    (v) => {
      const fixed =
        typeof v === 'string'
          ? v
              .toLowerCase()
              .replace(/[^a-z0-9-]+/g, '-')
              .replace(/^-+|-+$/g, '')
              .slice(0, 63)
          : '';
      return (
        `use lowercase letters, digits and '-', ` +
        `starting and ending with a letter or digit${fixed ? ` (e.g. \`${fixed}\`)` : ''}`
      );
    },
  ],
  'spec.boot.sha256.*': [
    CODES.badValue,
    () => 'a sha256 pin must be 64 hexadecimal digits',
    () => 'compute it with `sha256sum FILE`',
  ],
};

/** What a field with several accepted shapes takes, for "must be …" messages. */
const EXPECT: Readonly<Record<string, string>> = {
  'spec.cpus': 'a count of cores or a list of core ids (e.g. 2 or [2, 3])',
  'spec.memory': 'a size (e.g. 256Mi) or a mapping {size: 256Mi, base: 0x48000000}',
};

/** Other names people use for an allowed value (architectures, mostly), for "did you mean". */
const SYNONYMS: Readonly<Record<string, string>> = {
  arm64: 'aarch64',
  armv8: 'aarch64',
  arm: 'armv7',
  armhf: 'armv7',
  armv7l: 'armv7',
  riscv: 'riscv64',
  rv64: 'riscv64',
  on: 'running',
  started: 'running',
  off: 'stopped',
};

/** How to write a mapping that was given as something else, by dotted path. */
const TYPE_HINTS: Readonly<Record<string, string>> = {
  'spec.boot':
    'boot is a mapping: `kernel: PATH` (Linux) or `image: PATH` (bare-metal), indented on the lines below `boot:`',
  spec: 'spec is a mapping with cpus, memory and boot, indented on the lines below `spec:`',
  metadata: 'metadata is a mapping: `name: NAME` indented on the line below `metadata:`',
};

function dotted(path: readonly (string | number)[]): string {
  return path.map(String).join('.');
}

function patternKey(path: readonly (string | number)[]): string | undefined {
  const d = dotted(path);
  if (PATTERN_MESSAGES[d]) return d;
  const star = [...path.slice(0, -1).map(String), '*'].join('.');
  return PATTERN_MESSAGES[star] ? star : undefined;
}

function toPath(instancePath: string): Path {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

const TYPE_WORD: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function fieldName(path: readonly (string | number)[]): string {
  return path.length === 0 ? 'the document' : `\`${dotted(path)}\``;
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let v = data;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/**
 * Which branch of an `anyOf`/`oneOf` error an error belongs to: by schema path, or, for a branch that
 * is a `$ref` (whose errors carry the referenced schema's path), by that path at the same instance.
 */
function branchOf(e: ErrorObject, anyOf: ErrorObject): number | undefined {
  const prefix = `${anyOf.schemaPath}/`;
  if (e.schemaPath.startsWith(prefix)) {
    const n = Number(e.schemaPath.slice(prefix.length).split('/')[0]);
    return Number.isInteger(n) ? n : undefined;
  }
  if (e === anyOf || e.instancePath !== anyOf.instancePath) return undefined;
  const branches = Array.isArray(anyOf.schema) ? (anyOf.schema as unknown[]) : [];
  for (const [i, b] of branches.entries()) {
    const ref = (b as { $ref?: unknown } | null)?.$ref;
    if (typeof ref === 'string' && (e.schemaPath === ref || e.schemaPath.startsWith(`${ref}/`))) return i;
  }
  return undefined;
}

/**
 * Resolves `anyOf`/`oneOf` noise: when the value's shape picks exactly one branch, keep that branch's
 * errors; otherwise keep only the anyOf error itself (worded from the schema's description).
 */
function pruneAnyOf(errors: readonly ErrorObject[]): ErrorObject[] {
  let list = [...errors];
  for (;;) {
    const anyOf = list.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
    if (!anyOf) return list;
    const count = Array.isArray(anyOf.schema) ? anyOf.schema.length : 0;
    const branches = new Map<number, ErrorObject[]>();
    for (let i = 0; i < count; i++) branches.set(i, []);
    for (const e of list) {
      const b = branchOf(e, anyOf);
      if (b !== undefined) branches.set(b, [...(branches.get(b) ?? []), e]);
    }
    // A branch "fits the shape" when its errors are not about the value's own type, nor about
    // the discriminating `kind` of a mapping (a nested anyOf already found to fit no shape counts as
    // a type error). (A branch with no errors of its own here has them
    // deeper, under paths this anyOf cannot attribute: it fits.)
    const discriminant = `${anyOf.instancePath}/kind`;
    const fitting = [...branches.entries()].filter(
      ([, errs]) =>
        !errs.some(
          (e) =>
            (e.instancePath === anyOf.instancePath &&
              (e.keyword === 'type' || e.keyword === 'const' || e.keyword === 'anyOfShape')) ||
            (e.instancePath === discriminant && (e.keyword === 'const' || e.keyword === 'enum')),
        ),
    );
    const branchErrors = new Set([...branches.values()].flat());
    list = list.filter((e) => e !== anyOf && !branchErrors.has(e));
    const kinds = [...branches.values()].map(
      (errs) =>
        errs.find((e) => e.instancePath === discriminant && e.keyword === 'const')?.params as
          { allowedValue?: unknown } | undefined,
    );
    if (fitting.length === 1) list.push(...(fitting[0]?.[1] ?? []));
    else if (branches.size > 0 && kinds.every((k) => k?.allowedValue !== undefined)) {
      // Every branch rejected the `kind`: say which kinds exist.
      list.push({
        ...anyOf,
        instancePath: discriminant,
        keyword: 'enum',
        params: { allowedValues: kinds.map((k) => k?.allowedValue) },
      });
    } else list.push({ ...anyOf, keyword: 'anyOfShape' });
  }
}

/**
 * Converts one document's ajv errors into diagnostics. `skip`
 * holds dotted paths whose values are checked elsewhere (units).
 */
export function schemaDiagnostics(
  src: SourceFile,
  doc: Document.Parsed,
  data: unknown,
  errors: readonly ErrorObject[],
  skip: ReadonlySet<string>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const skipped = (path: readonly (string | number)[]): boolean => {
    for (let n = path.length; n > 0; n--) if (skip.has(dotted(path.slice(0, n)))) return true;
    return false;
  };
  const pruned = pruneAnyOf(errors);
  // A missing field that an unknown sibling misspells is reported once, as the misspelling.
  const misspelt = new Set<string>();
  for (const e of pruned) {
    if (e.keyword !== 'additionalProperties') continue;
    const extra = String((e.params as { additionalProperty: string }).additionalProperty);
    const allowed = Object.keys(((e.parentSchema ?? {}) as { properties?: Record<string, unknown> }).properties ?? {});
    const fix = closest(extra, allowed);
    if (fix) misspelt.add(`${e.instancePath}/${fix}`);
  }
  for (const e of pruned) {
    const path = toPath(e.instancePath);
    if (skipped(path)) continue;
    if (
      e.keyword === 'required' &&
      misspelt.has(`${e.instancePath}/${String((e.params as { missingProperty: string }).missingProperty)}`)
    )
      continue;
    const d = describe(src, doc, data, e, path);
    // A missing field's path names the field; the unit parsers never see an absent value, so it stays.
    if (!d || (e.keyword !== 'required' && d.position && skipped(d.position.path ?? []))) continue;
    // One problem per place, path and code: an empty name breaks both minLength and the pattern
    // (one problem), while each missing field is its own (the path names it).
    const key = `${d.position?.line}:${d.position?.column}:${d.code}:${(d.position?.path ?? []).join('.')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return mergeMissing(out);
}

// Several fields missing from one mapping are one problem: "`spec` is missing required fields `a`, `b` and `c`".
function mergeMissing(list: readonly Diagnostic[]): Diagnostic[] {
  const parentOf = (d: Diagnostic) =>
    d.code === CODES.missingField && d.position?.path?.length
      ? `${d.position.line}:${d.position.column}:${d.position.path.slice(0, -1).join('.')}`
      : undefined;
  const groups = new Map<string, Diagnostic[]>();
  for (const d of list) {
    const k = parentOf(d);
    if (k !== undefined) groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  const out: Diagnostic[] = [];
  for (const d of list) {
    const k = parentOf(d);
    const group = k === undefined ? undefined : groups.get(k);
    if (!group || group.length === 1 || !d.position?.path) {
      out.push(d);
      continue;
    }
    if (group[0] !== d) continue;
    const parent = d.position.path.slice(0, -1);
    const names = group.map((x) => `\`${String(x.position?.path?.[parent.length])}\``);
    const listed = `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
    out.push({
      code: CODES.missingField,
      message: `${fieldName(parent)} is missing required fields ${listed}`,
      position: { ...d.position, path: parent },
    });
  }
  return out;
}

function withHint(d: Diagnostic, hint: string | undefined): Diagnostic {
  return hint ? { ...d, hint } : d;
}

function describe(
  src: SourceFile,
  doc: Document.Parsed,
  data: unknown,
  e: ErrorObject,
  path: Path,
): Diagnostic | undefined {
  const value = valueAt(data, path);
  const at = positionOf(src, doc, path);
  const schema = (e.parentSchema ?? {}) as { description?: string; properties?: Record<string, unknown> };
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(schema.properties ?? {});
      const where = path.length ? ` in ${fieldName(path)}` : '';
      return withHint(
        {
          code: CODES.unknownField,
          message: `unknown field \`${extra}\`${where}`,
          position: positionOf(src, doc, [...path, extra], true),
        },
        didYouMean(extra, allowed) ?? (allowed.length ? `allowed here: ${allowed.join(', ')}` : undefined),
      );
    }
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      const parentKey = path.length ? positionOf(src, doc, path, true) : at;
      return {
        code: CODES.missingField,
        message: `${fieldName(path)} is missing required field \`${missing}\``,
        position: { ...parentKey, path: [...path, missing] },
      };
    }
    case 'type': {
      const type = String((e.params as { type: string }).type);
      const want = type
        .split(',')
        .map((t) => TYPE_WORD[t] ?? t)
        .join(' or ');
      const last = path[path.length - 1];
      // A single value where a list belongs: show it as a one-item list.
      const scalar = value !== null && typeof value !== 'object';
      const asList =
        type === 'array' && scalar && typeof last === 'string'
          ? `write a list: \`${last}: [${String(value)}]\``
          : undefined;
      // A number or boolean where text belongs (`name: 123`): quoting keeps it text.
      const quoted =
        type === 'string' && scalar && typeof last === 'string'
          ? `quote it: \`${last}: "${String(value)}"\``
          : undefined;
      return withHint(
        { code: CODES.wrongType, message: `${fieldName(path)} must be ${want}, not ${typeName(value)}`, position: at },
        TYPE_HINTS[dotted(path)] ?? asList ?? quoted,
      );
    }
    case 'const': {
      const allowed = (e.params as { allowedValue: unknown }).allowedValue;
      const code = path[0] === 'apiVersion' ? CODES.badApiVersion : path[0] === 'kind' ? CODES.badKind : CODES.badValue;
      return withHint(
        {
          code,
          message: `${fieldName(path)} must be \`${String(allowed)}\`, not ${JSON.stringify(value)}`,
          position: at,
        },
        typeof value === 'string' ? didYouMean(value, [String(allowed)]) : undefined,
      );
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const synonym = typeof value === 'string' ? SYNONYMS[value.toLowerCase()] : undefined;
      return withHint(
        {
          code: CODES.badValue,
          message: `${fieldName(path)} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`,
          position: at,
        },
        typeof value === 'string'
          ? (didYouMean(value, allowed) ??
              (synonym && allowed.includes(synonym) ? `did you mean \`${synonym}\`?` : undefined))
          : undefined,
      );
    }
    case 'pattern': {
      const k = patternKey(path);
      const spec = k ? PATTERN_MESSAGES[k] : undefined;
      if (spec) return withHint({ code: spec[0], message: spec[1](value), position: at }, spec[2]?.(value));
      return {
        code: CODES.badValue,
        message:
          `${fieldName(path)} ${JSON.stringify(value)} is not ` +
          `valid${schema.description ? `: ${schema.description}` : ''}`,
        position: at,
      };
    }
    case 'minimum':
      return {
        code: CODES.badValue,
        message: `${fieldName(path)} must be at least ${(e.params as { limit: number }).limit}, not ${String(value)}`,
        position: at,
      };
    case 'maximum':
      return {
        code: CODES.badValue,
        message: `${fieldName(path)} must be at most ${(e.params as { limit: number }).limit}, not ${String(value)}`,
        position: at,
      };
    case 'minItems':
      return { code: CODES.badValue, message: `${fieldName(path)} must not be empty`, position: at };
    case 'uniqueItems': {
      // ajv's i and j come in either order depending on the item type: point at the later copy.
      const { i, j } = e.params as { i: number; j: number };
      const later = Math.max(i, j);
      return {
        code: CODES.duplicateItem,
        message: `${fieldName(path)} lists ${JSON.stringify(valueAt(value, [later]))} twice`,
        position: positionOf(src, doc, [...path, later]),
        hint: 'remove the repeated entry',
      };
    }
    case 'minLength':
      return { code: lengthCode(path), message: `${fieldName(path)} must not be empty`, position: at };
    case 'maxLength':
      return {
        code: lengthCode(path),
        message: `${fieldName(path)} is longer than ${(e.params as { limit: number }).limit} characters`,
        position: at,
      };
    case 'anyOfShape': {
      const expect = EXPECT[dotted(path)] ?? lowerFirst(schema.description ?? 'of another form');
      const last = path[path.length - 1];
      // `cpus: "2"`: a number in quotes is text.
      const unquote =
        typeof value === 'string' && /^[0-9]+$/.test(value) && typeof last === 'string'
          ? `write it without quotes: \`${last}: ${value}\``
          : undefined;
      return withHint(
        {
          code: CODES.wrongType,
          message: `${fieldName(path)} must be ${expect}, not ${typeName(value)}`,
          position: at,
        },
        unquote,
      );
    }
    default:
      return { code: CODES.badValue, message: `${fieldName(path)} ${e.message ?? 'is not valid'}`, position: at };
  }
}

// Every problem with a resource's name carries the name code, whichever schema keyword caught it.
function lengthCode(path: readonly (string | number)[]): string {
  return dotted(path) === 'metadata.name' ? CODES.badName : CODES.badValue;
}

function lowerFirst(s: string): string {
  const t = s.replace(/\.$/, '');
  return t.charAt(0).toLowerCase() + t.slice(1);
}
