// What a provider sends, checked against the protocol's JSON Schemas (schemas/provider/): each result,
// error object and notification, answered with its first problem as one sentence that names the JSON path
// (`partitions[0].memory.base must be an integer ≥ 0`). The schemas are compiled at build time
// (scripts/gen-validators.mjs writes ./generated/validators.ts), and this module is the only one that
// imports that code: import it only where a provider backend runs, so no other command loads it.
import type { ErrorObject } from 'ajv';
import * as compiled from './generated/validators.js';
import type { Method, Notifications } from './protocol.js';

/** A compiled validator: true, or false with `errors` set (ajv's shape; only the first problem). */
interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** A JSON Schema as the errors carry it (`verbose`): the keywords the wording reads. */
interface Schema {
  readonly description?: string;
  readonly type?: string | readonly string[];
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly contains?: Schema;
}

const v = (f: unknown): Validator => f as Validator;

/** The validator of each method's result: a Record, so a method added to protocol.ts must have one. */
const RESULTS: Readonly<Record<Method, Validator>> = {
  initialize: v(compiled.initialize_result),
  inspect: v(compiled.inspect_result),
  allocate: v(compiled.allocate_result),
  buildFdt: v(compiled.buildFdt_result),
  load: v(compiled.load_result),
  releaseCores: v(compiled.releaseCores_result),
  waitReady: v(compiled.waitReady_result),
  stopCores: v(compiled.stopCores_result),
  scrubMemory: v(compiled.scrubMemory_result),
  releaseResources: v(compiled.releaseResources_result),
  liveDtb: v(compiled.liveDtb_result),
  consoleLog: v(compiled.consoleLog_result),
  powerOff: v(compiled.powerOff_result),
  shutdown: v(compiled.shutdown_result),
};

/** The validator of each notification's params (`cancel` is vman's; the others a provider's). */
const NOTIFICATIONS: Readonly<Record<keyof Notifications, Validator>> = {
  progress: v(compiled.notification_progress),
  partitionState: v(compiled.notification_partitionState),
  cancel: v(compiled.notification_cancel),
};

/** Every notification of protocol version 1. */
export const NOTIFICATION_METHODS = Object.keys(NOTIFICATIONS) as readonly (keyof Notifications)[];

/** The largest integer JSON numbers carry exactly between vman and a provider. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** `partitions[0].memory` from the path so far and a key or index. */
function join(path: string, key: string | number): string {
  if (typeof key === 'number' || /^\d+$/.test(key)) return `${path}[${key}]`;
  const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (name !== key) return `${path}[${name}]`;
  return path ? `${path}.${key}` : key;
}

/** A JSON pointer (`/partitions/0/memory/base`) as a path (`partitions[0].memory.base`). */
function pathOf(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((path, key) => join(path, key), '');
}

/** A description as the end of "must be …": `A SHA-256 digest: …` → `a SHA-256 digest: …`. */
function phrase(description: string): string {
  const s = description.replace(/\.$/, '');
  // Not an acronym's first letter (`SHA-256 digests`).
  return /^[A-Z](?![A-Z0-9])/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

/** What a value must be to satisfy `s`, as the end of "must be …". */
function expected(s: Schema, keyword: string): string {
  if (hasOwn(s, 'const')) return JSON.stringify(s.const);
  if (s.enum) return `one of ${s.enum.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ')}`;
  // A pattern's rule is in words only in its description (defs.json describes each one).
  if (s.pattern !== undefined) return s.description ? phrase(s.description) : `a string matching ${s.pattern}`;
  const types = s.type === undefined ? [] : typeof s.type === 'string' ? [s.type] : [...s.type];
  const words = types.map((t) => {
    if (t === 'integer') {
      if (keyword === 'maximum') return `an integer ≤ ${s.maximum === MAX_SAFE ? '2^53 − 1' : String(s.maximum)}`;
      if (s.minimum !== undefined) return `an integer ≥ ${s.minimum}`;
      return 'an integer';
    }
    if (t === 'string') return s.minLength ? 'a non-empty string' : 'a string';
    if (t === 'array') return 'a list';
    if (t === 'object') return 'an object';
    if (t === 'boolean') return 'true or false';
    return t;
  });
  return words.join(' or ') || 'valid';
}

/** A value short enough to quote in a message, or undefined. */
function quoted(value: unknown): string | undefined {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string' && value.length <= 40) return JSON.stringify(value);
  return undefined;
}

/** One ajv error in words. `root` names the whole value (`the result`) when the path is empty. */
function sentence(e: ErrorObject, root: string): string {
  const path = pathOf(e.instancePath);
  const at = path || root;
  const p = e.params as Record<string, unknown>;
  const s = (e.parentSchema ?? {}) as Schema;
  switch (e.keyword) {
    case 'required':
      return `${join(path, String(p.missingProperty))} is missing`;
    case 'dependentRequired':
      return `${join(path, String(p.missingProperty))} is missing (it comes with ${join(path, String(p.property))})`;
    case 'additionalProperties':
      return `${join(path, String(p.additionalProperty))} is not part of protocol version 1`;
    case 'false schema':
      return `${at} must be absent`;
    case 'minItems':
      return p.limit === 1 ? `${at} must not be empty` : `${at} must have at least ${String(p.limit)} items`;
    case 'uniqueItems':
      // ajv names the later item first.
      return `${join(path, Number(p.i))} repeats ${join(path, Number(p.j))}`;
    case 'contains':
      return `${at} must contain ${s.contains ? expected(s.contains, 'contains') : 'another item'}`;
    case 'minLength':
      if (s.pattern === undefined && s.minLength === 1) return `${at} must not be empty`;
      break;
    case 'enum':
    case 'const': {
      const got = quoted(e.data);
      return `${at} must be ${expected(s, e.keyword)}${got === undefined ? '' : `, not ${got}`}`;
    }
  }
  return `${at} must be ${expected(s, e.keyword)}`;
}

/** The first problem a validator found, in words. */
function firstProblem(validate: Validator, value: unknown, root: string): string | undefined {
  if (validate(value)) return undefined;
  const errors = validate.errors ?? [];
  // An `if` error only says its `then` failed; that failure comes before it.
  const e = errors.find((x) => x.keyword !== 'if') ?? errors[0];
  return e ? sentence(e, root) : `${root} is not valid`;
}

/** What the schemas cannot say: one name, one partition. */
function inspectProblem(value: unknown): string | undefined {
  const partitions = (value as { partitions: readonly { name: string }[] }).partitions;
  const seen = new Map<string, number>();
  for (const [i, p] of partitions.entries()) {
    const first = seen.get(p.name);
    if (first !== undefined) return `partitions[${i}].name repeats partitions[${first}].name (\`${p.name}\`)`;
    seen.set(p.name, i);
  }
  return undefined;
}

/** The first problem with a provider's result for `method`, or undefined when it is valid. */
export function checkResult(method: Method, value: unknown): string | undefined {
  if (!hasOwn(RESULTS, method)) return `\`${String(method)}\` is not a method of protocol version 1`;
  const problem = firstProblem(RESULTS[method], value, 'the result');
  if (problem !== undefined || method !== 'inspect') return problem;
  return inspectProblem(value);
}

/** The first problem with a notification's params, or undefined when it is valid. */
export function checkNotification(method: string, params: unknown): string | undefined {
  if (!hasOwn(NOTIFICATIONS, method)) return `\`${method}\` is not a notification of protocol version 1`;
  return firstProblem(NOTIFICATIONS[method as keyof Notifications], params, 'params');
}

/** The first problem with an error answer's error object, or undefined when it is valid. */
export function checkError(error: unknown): string | undefined {
  return firstProblem(v(compiled.error), error, 'the error');
}
