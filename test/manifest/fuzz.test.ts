// Property test (fast-check, seeded): random mutations of a valid manifest — keys dropped or
// renamed, values of the wrong type, garbage text, random bytes — never make the loader throw;
// every problem has a stable code and a position inside the file; each load is bounded in time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { loadManifests } from '../../src/manifest/load.js';
import { checkManifestSet } from '../../src/rules/manifests.js';
import { checkClaims } from '../../src/rules/resources.js';
import { getBuiltinBoard } from '../../src/board/builtin/index.js';
import type { Diagnostic } from '../../src/rules/diagnostic.js';
import { tempConfig } from './support.js';

// Fixed for CI; FUZZ_SEED and FUZZ_RUNS explore further by hand.
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const LIMIT_MS = 2000;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A manifest that uses every field, so mutations reach every check. */
const BASE: { [k: string]: Json } = {
  apiVersion: 'vman.dev/v1alpha1',
  kind: 'Partition',
  metadata: { name: 'web', labels: { tier: 'web' } },
  spec: {
    state: 'running',
    cpus: [1, 2],
    memory: { size: '256Mi', base: '0x50000000' },
    devices: ['virtio0'],
    boot: {
      kernel: '../images/Image',
      initrd: '../images/initrd.gz',
      bootargs: 'console=ttyAMA0',
      overlays: ['extra.dtbo'],
      sha256: { kernel: 'a'.repeat(64) },
    },
    dependsOn: ['db'],
    readiness: { console: 'login:', timeout: '60s' },
  },
};

/** Every path to a value in BASE. */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}
const PATHS = paths(BASE).filter((p) => p.length > 0);

/** Values people (and attackers) put where they do not belong. */
const ODD_VALUE = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(
    '512',
    '256MB',
    '1.5Gi',
    '-1',
    '1e30',
    '0x',
    '',
    '~',
    'yes',
    '60',
    '2h',
    'virtoi0',
    'Web_1',
    '(',
    'a'.repeat(70),
    -1,
    0,
    1e30,
    2 ** 64,
    0.5,
    true,
    null,
    [],
    {},
  ),
);

/** Keys: typos of real ones, and anything. */
const ODD_KEY = fc.oneof(
  fc.constantFrom(
    'cpu',
    'memroy',
    'kernal',
    'imgae',
    'lables',
    'spec',
    'kind',
    'base',
    'size',
    '<<',
    '__proto__',
    'constructor',
    '',
  ),
  fc.string({ maxLength: 12 }),
);

type Op =
  | { readonly op: 'drop'; readonly path: (string | number)[] }
  | { readonly op: 'rename'; readonly path: (string | number)[]; readonly key: string }
  | { readonly op: 'set'; readonly path: (string | number)[]; readonly value: Json }
  | { readonly op: 'add'; readonly path: (string | number)[]; readonly key: string; readonly value: Json };

/** Valid edits, so that many cases load and reach the rules as well. */
const BENIGN: readonly Op[] = (
  [
    [['spec', 'cpus'], 3],
    [
      ['spec', 'cpus'],
      [3, 4],
    ],
    [['spec', 'cpus'], [0]],
    [['spec', 'memory'], '64Mi'],
    [['spec', 'memory'], { size: '1Gi' }],
    [['spec', 'memory'], { size: '64Mi', base: '0x40000000' }],
    [['spec', 'state'], 'stopped'],
    [
      ['spec', 'devices'],
      ['virtio1', 'virtio2'],
    ],
    [['spec', 'devices'], ['uart0']],
    [['metadata', 'name'], 'db'],
    [['spec', 'boot'], { image: 'rtos.bin', load: '0x1000', entry: '0x1000' }],
    [['spec', 'readiness', 'timeout'], '500ms'],
    [['spec', 'dependsOn'], []],
    [['spec', 'dependsOn'], ['web']],
  ] as [(string | number)[], Json][]
).map(([path, value]) => ({ op: 'set', path, value }));

const PATH = fc.constantFrom(...PATHS);
const OP: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constantFrom(...BENIGN), weight: 4 },
  fc.record({ op: fc.constant('drop' as const), path: PATH }),
  fc.record({ op: fc.constant('rename' as const), path: PATH, key: ODD_KEY }),
  fc.record({ op: fc.constant('set' as const), path: PATH, value: ODD_VALUE }),
  fc.record({ op: fc.constant('add' as const), path: PATH, key: ODD_KEY, value: ODD_VALUE }),
);

function apply(doc: Json, op: Op): Json {
  const root = structuredClone(doc);
  const parentPath = op.op === 'add' ? op.path : op.path.slice(0, -1);
  let parent: Json = root;
  for (const k of parentPath) {
    if (parent === null || typeof parent !== 'object') return root;
    parent = (parent as Record<string | number, Json>)[k] ?? null;
  }
  if (parent === null || typeof parent !== 'object') return root;
  const last = op.path[op.path.length - 1] ?? '';
  const p = parent as Record<string | number, Json>;
  if (op.op === 'drop') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete p[last];
  } else if (op.op === 'rename' && !Array.isArray(parent) && last in p) {
    const v = p[last] ?? null;
    delete p[last];
    p[op.key] = v;
  } else if (op.op === 'set') {
    p[last] = op.value;
  } else if (op.op === 'add' && !Array.isArray(parent)) {
    p[op.key] = op.value;
  }
  return root;
}

/** YAML-significant snippets for text mutations. */
const SNIPPET = fc.oneof(
  fc.constantFrom(
    ':',
    ': ',
    '-',
    '- ',
    '[',
    ']',
    '{',
    '}',
    ',',
    '&a ',
    '*a',
    '*b ',
    '!!binary ',
    '!x ',
    '|',
    '>',
    "'",
    '"',
    '#',
    '%YAML 1.1\n',
    '---\n',
    '...\n',
    '\t',
    '\n',
    '  ',
    '? ',
    '<<: ',
    '~',
    '\\',
    '\r\n',
    '\u00a0',
    '\ufeff',
    '@',
    '`',
  ),
  fc.string({ maxLength: 8 }),
);

type TextOp =
  | { readonly op: 'insert'; readonly at: number; readonly text: string }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'dupline'; readonly at: number }
  | { readonly op: 'indent'; readonly at: number; readonly by: number };

const TEXT_OP: fc.Arbitrary<TextOp> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: SNIPPET }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ op: fc.constant('dupline' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -2, max: 3 }) }),
);

function applyText(text: string, op: TextOp): string {
  const at = text.length ? op.at % (text.length + 1) : 0;
  if (op.op === 'insert') return text.slice(0, at) + op.text + text.slice(at);
  if (op.op === 'delete') return text.slice(0, at) + text.slice(at + op.length);
  const lines = text.split('\n');
  const n = lines.length ? op.at % lines.length : 0;
  if (op.op === 'dupline') lines.splice(n, 0, lines[n] ?? '');
  else lines[n] = op.by >= 0 ? ' '.repeat(op.by) + (lines[n] ?? '') : (lines[n] ?? '').slice(-op.by);
  return lines.join('\n');
}

/** Random bytes spliced into the encoded text (NUL, invalid UTF-8 and all). */
const BYTES = fc.oneof(
  { arbitrary: fc.constant(null), weight: 6 },
  { arbitrary: fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }), weight: 1 },
);

interface Case {
  readonly ops: readonly Op[];
  readonly textOps: readonly TextOp[];
  readonly bytes: { readonly at: number; readonly bytes: Uint8Array } | null;
  readonly docs: number;
}

// Text edits and random bytes break almost any document: used in some cases only, so that the
// structural mutations also reach the schema and the rules.
const CASE: fc.Arbitrary<Case> = fc.record({
  ops: fc.array(OP, { maxLength: 5 }),
  textOps: fc.oneof(
    { arbitrary: fc.constant([]), weight: 2 },
    { arbitrary: fc.array(TEXT_OP, { minLength: 1, maxLength: 4 }), weight: 1 },
  ),
  bytes: BYTES,
  docs: fc.integer({ min: 1, max: 2 }),
});

function render(c: Case): Uint8Array {
  let doc: Json = BASE;
  for (const op of c.ops) doc = apply(doc, op);
  let text = stringify(doc);
  if (c.docs === 2)
    text = `${text}---\n${stringify(BASE).replace('name: web', 'name: db').replace('  - db\n', '  - web\n')}`;
  for (const op of c.textOps) text = applyText(text, op);
  const bytes = new TextEncoder().encode(text);
  if (!c.bytes) return bytes;
  const at = c.bytes.at % (bytes.length + 1);
  return new Uint8Array([...bytes.subarray(0, at), ...c.bytes.bytes, ...bytes.subarray(at)]);
}

function checkPositions(problems: readonly Diagnostic[], bytes: Uint8Array): void {
  const lines = bytes.reduce((n, b) => (b === 0x0a ? n + 1 : n), 1);
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    text = undefined;
  }
  // One message per problem: never the same code twice at one place.
  const places = problems.map((p) => `${p.code} ${p.position?.line}:${p.position?.column}`);
  assert.is(
    new Set(places).size,
    places.length,
    problems.map((p) => `${p.code} ${p.position?.line}:${p.position?.column} ${p.message}`).join('\n'),
  );
  for (const p of problems) {
    assert.match(p.code, /^VMAN-E\d{3}$/, p.message);
    assert.ok(p.message.length > 0);
    // Every problem here is about the one file: it has a position inside it.
    const pos = p.position;
    if (!pos) throw new Error(`${p.code} ${p.message}: no position`);
    assert.is(pos.file, 'partitions.d/x.yaml');
    assert.ok(
      Number.isInteger(pos.line) && pos.line >= 1 && pos.line <= lines,
      `${p.code} line ${pos.line} of ${lines}: ${p.message}`,
    );
    assert.ok(Number.isInteger(pos.column) && pos.column >= 1, `${p.code} column ${pos.column}: ${p.message}`);
    // In text that decodes, the column lies on the line (or just past its end).
    const line = text?.split('\n')[pos.line - 1];
    if (line !== undefined)
      assert.ok(
        pos.column <= line.length + 1,
        `${p.code} column ${pos.column} past the end of line ${pos.line} (${line.length}): ${p.message}`,
      );
  }
}

const board = getBuiltinBoard('qemu-virt-aarch64');

test(`${RUNS} mutated manifests: no exception, coded problems at real positions, bounded time`, async () => {
  if (!board) throw new Error('no board');
  const cfg = tempConfig();
  const file = cfg.path('partitions.d/x.yaml');
  let slowest = 0;
  let valid = 0;
  try {
    await fc.assert(
      fc.asyncProperty(CASE, async (c) => {
        const bytes = render(c);
        writeFileSync(file, bytes);
        const started = performance.now();
        const r = await loadManifests(cfg.dir, cfg.dir);
        // The rules that run on whatever loaded must not throw either.
        checkManifestSet(r.partitions, r.invalid);
        checkClaims(board, r.partitions, () => 2 * 1024 * 1024);
        const ms = performance.now() - started;
        slowest = Math.max(slowest, ms);
        assert.ok(ms < LIMIT_MS, `${ms.toFixed(0)} ms`);
        checkPositions(r.problems, bytes);
        if (r.problems.length === 0) valid++;
        for (const p of r.partitions) assert.match(p.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
  } finally {
    cfg.cleanup();
  }
  console.log(`  ${RUNS} runs, ${valid} without problems, slowest load ${slowest.toFixed(0)} ms`);
  // The mutations must not all be rejected early (nor all accepted): both paths are exercised.
  assert.ok(valid > 0 && valid < RUNS, `${valid} valid of ${RUNS}`);
});

test.run();
