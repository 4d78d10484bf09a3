// One YAML document → a PartitionSpec, or the problems that stop it (all of them, with positions).
import { isMap, isSeq, isScalar, isPair } from 'yaml';
import type { Document, Node as YamlNode, ParsedNode } from 'yaml';
import type { Diagnostic, Position } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { closest, didYouMean } from '../rules/suggest.js';
import { documentStart, positionAt, positionOf, type SourceFile } from './positions.js';
import { schemaDiagnostics } from './schema-errors.js';
import type { Validator } from './validators.js';
import { parseAddress, parseDuration, parseSize, type Parsed } from './units.js';
import {
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_RESTART_POLICY,
  type BootSpec,
  type PartitionSpec,
  type RestartPolicy,
} from './types.js';
import { resolvePath } from './paths.js';

export const API_VERSION = 'vman.dev/v1alpha1';
const KINDS = ['Partition', 'Board'];

// Fields whose values the unit parsers check (their messages beat the schema's).
const UNIT_FIELDS = new Set([
  'spec.memory.size',
  'spec.memory.base',
  'spec.boot.load',
  'spec.boot.entry',
  'spec.readiness.timeout',
]);

type Raw = Record<string, unknown>;

const isRecord = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Records the position of every node of a document, keyed by dotted path. */
export function fieldPositions(src: SourceFile, doc: Document.Parsed): Record<string, Position> {
  const out: Record<string, Position> = {};
  const stack: [YamlNode | null | undefined, (string | number)[]][] = [[doc.contents, []]];
  while (stack.length) {
    const [node, path] = stack.pop() ?? [null, []];
    const range = (node as ParsedNode | null | undefined)?.range;
    if (range && path.length) out[path.join('.')] = positionAt(src, range[0], path);
    if (isMap(node)) {
      for (const pair of node.items)
        if (isPair(pair) && isScalar(pair.key))
          stack.push([pair.value as YamlNode | null, [...path, String(pair.key.value)]]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => stack.push([item as YamlNode | null, [...path, i]]));
    }
  }
  return out;
}

/** Returns the JS value of a document, or a diagnostic when aliases expand too far. */
export function documentData(src: SourceFile, doc: Document.Parsed): { data: unknown } | { problem: Diagnostic } {
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (err) {
    return {
      problem: {
        code: CODES.yamlTooDeep,
        message: 'the document expands its aliases into too many nodes (an alias bomb?)',
        position: positionAt(src, documentStart(doc)),
        hint: 'write the values out instead of referring to them through anchors',
      },
    };
  }
}

/** Checks apiVersion and kind before the schema, so a wrong kind gets one message, not dozens. */
export function checkResourceHeader(
  src: SourceFile,
  doc: Document.Parsed,
  data: unknown,
  expected: string,
): Diagnostic[] {
  if (!isRecord(data)) {
    const what = Array.isArray(data)
      ? 'a list'
      : data === null
        ? 'null'
        : typeof data === 'string'
          ? `the text ${JSON.stringify(data.length > 40 ? `${data.slice(0, 40)}…` : data)}`
          : typeof data === 'number'
            ? 'a number'
            : typeof data === 'boolean'
              ? 'true or false'
              : typeof data;
    return [
      {
        code: CODES.notResource,
        message: `a document must be a mapping with apiVersion, kind, metadata and spec, not ${what}`,
        position: positionAt(src, documentStart(doc)),
        hint: `a ${expected} starts with \`apiVersion: ${API_VERSION}\` and \`kind: ${expected}\``,
      },
    ];
  }
  const out: Diagnostic[] = [];
  const at = (k: string) => positionOf(src, doc, [k]);
  // Neither: one problem, since the document is likely not a vman resource at all.
  if (!('apiVersion' in data) && !('kind' in data)) {
    return [
      {
        code: CODES.missingField,
        message: 'the document has no `apiVersion` and no `kind`',
        position: positionAt(src, documentStart(doc)),
        hint: `start it with \`apiVersion: ${API_VERSION}\` and \`kind: ${expected}\``,
      },
    ];
  }
  if (!('apiVersion' in data))
    out.push({
      code: CODES.missingField,
      message: 'the document has no `apiVersion`',
      position: positionAt(src, documentStart(doc)),
      hint: `add \`apiVersion: ${API_VERSION}\``,
    });
  else if (data.apiVersion !== API_VERSION) {
    out.push({
      code: CODES.badApiVersion,
      message: `apiVersion ${JSON.stringify(data.apiVersion)} is not supported`,
      position: at('apiVersion'),
      hint: `use \`apiVersion: ${API_VERSION}\``,
    });
  }
  if (!('kind' in data))
    out.push({
      code: CODES.missingField,
      message: 'the document has no `kind`',
      position: positionAt(src, documentStart(doc)),
      hint: `add \`kind: ${expected}\``,
    });
  else if (data.kind !== expected) {
    const kind = String(data.kind);
    const fix = didYouMean(kind, KINDS);
    if (KINDS.includes(kind))
      out.push({
        code: CODES.badKind,
        message: `a ${kind} does not belong here; this file holds ${expected} resources`,
        position: at('kind'),
        hint:
          kind === 'Board'
            ? 'describe the board in board.yaml in the config directory, or pass --board FILE'
            : 'move it to partitions.d/',
      });
    else {
      const d: Diagnostic = {
        code: CODES.badKind,
        message: `unknown kind ${JSON.stringify(data.kind)}; expected ${expected}`,
        position: at('kind'),
      };
      out.push(fix ? { ...d, hint: fix } : d);
    }
  }
  return out;
}

function unit<T>(
  out: Diagnostic[],
  src: SourceFile,
  doc: Document.Parsed,
  path: (string | number)[],
  code: string,
  r: Parsed<T>,
): T | undefined {
  if (r.ok) return r.value;
  const d: Diagnostic = { code, message: r.message, position: positionOf(src, doc, path) };
  out.push(r.hint ? { ...d, hint: r.hint } : d);
  return undefined;
}

/** Converts one Partition document. Problems are collected; a spec is returned only when there are none. */
export function toPartitionSpec(
  src: SourceFile,
  absFile: string,
  docIndex: number,
  doc: Document.Parsed,
  validate: Validator,
): { spec?: PartitionSpec; problems: Diagnostic[] } {
  const got = documentData(src, doc);
  if ('problem' in got) return { problems: [got.problem] };
  const data = got.data;
  const header = checkResourceHeader(src, doc, data, 'Partition');
  if (header.length) return { problems: header };
  const problems: Diagnostic[] = [];
  const raw = data as Raw;
  const spec = isRecord(raw.spec) ? raw.spec : {};
  const memory = spec.memory;
  // A scalar memory is a size; its schema errors are replaced by the unit parser's.
  const skip = new Set(UNIT_FIELDS);
  if (!isRecord(memory) && memory !== undefined && (typeof memory === 'string' || typeof memory === 'number'))
    skip.add('spec.memory');
  if (!validate(data)) problems.push(...schemaDiagnostics(src, doc, data, validate.errors ?? [], skip));

  const u = <T>(path: (string | number)[], code: string, r: Parsed<T>) => unit(problems, src, doc, path, code, r);
  let memSize: number | undefined;
  let memBase: number | undefined;
  if (typeof memory === 'string' || typeof memory === 'number')
    memSize = u(['spec', 'memory'], CODES.badSize, parseSize(memory, 'memory size'));
  else if (isRecord(memory)) {
    if (memory.size !== undefined)
      memSize = u(['spec', 'memory', 'size'], CODES.badSize, parseSize(memory.size, 'memory size'));
    if (memory.base !== undefined)
      memBase = u(['spec', 'memory', 'base'], CODES.badAddress, parseAddress(memory.base, 'memory base'));
  }
  const boot = isRecord(spec.boot) ? spec.boot : undefined;
  const load =
    boot?.load !== undefined
      ? u(['spec', 'boot', 'load'], CODES.badAddress, parseAddress(boot.load, 'boot.load'))
      : undefined;
  const entry =
    boot?.entry !== undefined
      ? u(['spec', 'boot', 'entry'], CODES.badAddress, parseAddress(boot.entry, 'boot.entry'))
      : undefined;
  const readiness = isRecord(spec.readiness) ? spec.readiness : {};
  const timeoutMs =
    readiness.timeout !== undefined
      ? u(['spec', 'readiness', 'timeout'], CODES.badDuration, parseDuration(readiness.timeout, 'readiness.timeout'))
      : DEFAULT_READY_TIMEOUT_MS;
  if (typeof readiness.console === 'string') {
    try {
      new RegExp(readiness.console);
    } catch (err) {
      // V8 says "Invalid regular expression: /…/: why"; keep the why.
      const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
      problems.push({
        code: CODES.badRegex,
        message: `readiness.console is not a valid regular expression: ${lowerFirst(why)}`,
        position: positionOf(src, doc, ['spec', 'readiness', 'console']),
        hint: 'escape characters that have a meaning in regular expressions with \\, e.g. \\[ or \\(',
      });
    }
  }
  if (boot) problems.push(...bootShape(src, doc, boot));
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const dependsOn = Array.isArray(spec.dependsOn)
    ? spec.dependsOn.filter((d): d is string => typeof d === 'string')
    : [];
  dependsOn.forEach((d, i) => {
    if (d === name)
      problems.push({
        code: CODES.dependsSelf,
        message: `partition \`${name}\` depends on itself`,
        position: positionOf(src, doc, ['spec', 'dependsOn', i]),
        hint: 'remove it from dependsOn',
      });
  });
  if (problems.length || !boot || memSize === undefined || timeoutMs === undefined) return { problems };

  const dir = absFile.slice(0, absFile.lastIndexOf('/') + 1) || '/';
  const abs = (p: unknown) => resolvePath(dir, String(p));
  const overlays = Array.isArray(boot.overlays) ? boot.overlays.map(abs) : [];
  const sha = isRecord(boot.sha256) ? (boot.sha256 as Record<string, string>) : {};
  const bootargs = typeof boot.bootargs === 'string' ? { bootargs: boot.bootargs } : {};
  const bootSpec: BootSpec =
    boot.kernel !== undefined
      ? {
          kind: 'kernel',
          kernel: abs(boot.kernel),
          ...(boot.initrd !== undefined ? { initrd: abs(boot.initrd) } : {}),
          ...bootargs,
          overlays,
          sha256: pick(sha, ['kernel', 'initrd']),
        }
      : {
          kind: 'image',
          image: abs(boot.image),
          ...(load !== undefined ? { load } : {}),
          ...(entry !== undefined ? { entry } : {}),
          ...bootargs,
          overlays,
          sha256: pick(sha, ['image']),
        };
  const cpus = Array.isArray(spec.cpus)
    ? { ids: [...(spec.cpus as number[])].sort((a, b) => a - b) }
    : { count: spec.cpus as number };
  const result: PartitionSpec = {
    name,
    ...(typeof meta.uid === 'string' ? { uid: meta.uid } : {}),
    labels: isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {},
    state: spec.state === 'stopped' ? 'stopped' : 'running',
    cpus,
    memory: memBase !== undefined ? { size: memSize, base: memBase } : { size: memSize },
    devices: Array.isArray(spec.devices) ? (spec.devices as string[]) : [],
    boot: bootSpec,
    dependsOn,
    readiness: typeof readiness.console === 'string' ? { console: readiness.console, timeoutMs } : { timeoutMs },
    restartPolicy:
      typeof spec.restartPolicy === 'string' ? (spec.restartPolicy as RestartPolicy) : DEFAULT_RESTART_POLICY,
    source: {
      file: src.file,
      absFile,
      doc: docIndex,
      position: positionAt(src, documentStart(doc)),
      fields: sortedCpuFields(fieldPositions(src, doc), spec.cpus),
    },
  };
  return { spec: result, problems };
}

// The spec lists core ids sorted; re-key `spec.cpus.N` so N indexes that sorted list, while each
// position keeps the YAML path where the id was written.
function sortedCpuFields(fields: Record<string, Position>, cpus: unknown): Record<string, Position> {
  if (!Array.isArray(cpus)) return fields;
  const order = cpus.map((id, i) => ({ id: Number(id), i })).sort((a, b) => a.id - b.id || a.i - b.i);
  const out = { ...fields };
  order.forEach(({ i }, k) => {
    const p = fields[`spec.cpus.${i}`];
    if (p) out[`spec.cpus.${k}`] = p;
  });
  return out;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function pick(sha: Record<string, string>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (typeof sha[k] === 'string') out[k] = sha[k].toLowerCase();
  return out;
}

// Exactly one of kernel or image, and the fields that go with each.
function bootShape(src: SourceFile, doc: Document.Parsed, boot: Raw): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (...p: string[]) => positionOf(src, doc, ['spec', 'boot', ...p], true);
  const hasKernel = boot.kernel !== undefined;
  const hasImage = boot.image !== undefined;
  if (hasKernel && hasImage)
    out.push({
      code: CODES.bootChoice,
      message: '`spec.boot` has both `kernel` and `image`; give exactly one',
      position: at('image'),
      hint: 'use kernel for Linux, image for a bare-metal OS or RTOS',
    });
  // A misspelt `kernel` or `image` is reported once, as an unknown field with a suggestion.
  const misspelt = Object.keys(boot).some(
    (k) => k !== 'kernel' && k !== 'image' && closest(k, ['kernel', 'image']) !== undefined,
  );
  if (!hasKernel && !hasImage && !misspelt)
    out.push({
      code: CODES.bootChoice,
      message: '`spec.boot` needs `kernel` (Linux) or `image` (bare-metal OS or RTOS)',
      position: positionOf(src, doc, ['spec', 'boot'], true),
    });
  if (hasImage && !hasKernel && boot.initrd !== undefined)
    out.push({
      code: CODES.bootFieldMisplaced,
      message: '`initrd` goes with `kernel`, not with `image`',
      position: at('initrd'),
      hint: 'remove `initrd`, or boot a Linux kernel with `kernel:` instead of `image:`',
    });
  if (hasKernel && !hasImage) {
    for (const k of ['load', 'entry'] as const) {
      if (boot[k] !== undefined)
        out.push({
          code: CODES.bootFieldMisplaced,
          message: `\`${k}\` is for raw images; a kernel's placement follows its boot protocol`,
          position: at(k),
          hint: `remove \`${k}\``,
        });
    }
  }
  const sha = isRecord(boot.sha256) ? boot.sha256 : {};
  for (const k of Object.keys(sha)) {
    if ((k === 'kernel' || k === 'initrd' || k === 'image') && boot[k] === undefined) {
      out.push({
        code: CODES.bootFieldMisplaced,
        message: `sha256 pins \`${k}\`, but the partition boots no ${k}`,
        position: positionOf(src, doc, ['spec', 'boot', 'sha256', k], true),
      });
    }
  }
  return out;
}
