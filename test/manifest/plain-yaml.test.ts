// The quick reader for plain manifests (src/manifest/plain-yaml.ts) against yaml's parser, its
// reference: whenever it reads a text, the documents must be yaml's node for node (kind, range,
// value, scalar style, source) and give the same data; whatever yaml rejects, it must not read.
// Inputs: every YAML file in the repository, hand-picked edges, and generated manifests (fast-check,
// seeded) in and around the subset.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, isPair, parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
import { parsePlainYaml } from '../../src/manifest/plain-yaml.js';
import { parseYaml } from '../../src/manifest/source.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const OPTIONS = { uniqueKeys: false, prettyErrors: false, strict: true, keepSourceTokens: false, logLevel: 'error' } as const;
const SEED = Number(process.env.FUZZ_SEED ?? 20261205);
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

// A node as plain data: what the loader and the diagnostics read of it.
function shape(node: unknown): unknown {
  if (isMap(node)) return { map: node.range, flow: Boolean(node.flow), items: node.items.map((p) => (isPair(p) ? [shape(p.key), shape(p.value)] : 'not a pair')) };
  if (isSeq(node)) return { seq: node.range, flow: Boolean(node.flow), items: node.items.map(shape) };
  if (isScalar(node)) return { scalar: node.range, value: node.value, type: node.type, format: node.format ?? null, source: node.source, tag: node.tag ?? null, anchor: node.anchor ?? null };
  return { other: String(node) };
}

/** 'read' when the quick reader took the text (and matched yaml), 'left' when it left it to yaml. */
function compare(text: string): 'read' | 'left' {
  const quick = parsePlainYaml(text, OPTIONS);
  if (!quick) return 'left';
  const ref = parseAllDocuments(text, OPTIONS) as Document.Parsed[];
  if (!Array.isArray(ref)) assert.unreachable(`yaml found no documents in a text the quick reader read: ${JSON.stringify(text)}`);
  const errors = ref.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message));
  assert.equal(errors, [], `yaml rejects a text the quick reader read: ${JSON.stringify(text)}`);
  assert.is(quick.length, ref.length, `document count of ${JSON.stringify(text)}`);
  quick.forEach((doc, i) => {
    const want = ref[i] as Document.Parsed;
    assert.equal(doc.range, want.range, `document range of ${JSON.stringify(text)}`);
    assert.equal(shape(doc.contents), shape(want.contents), `nodes of ${JSON.stringify(text)}`);
    assert.equal(doc.toJS(), want.toJS(), `data of ${JSON.stringify(text)}`);
  });
  return 'read';
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}

test('the demo manifests are read by the quick reader, exactly as yaml reads them', () => {
  for (const f of ['partitions.d/hello.yaml', 'partitions.d/rtos0.yaml']) assert.is(compare(readFileSync(join(ROOT, f), 'utf8')), 'read', f);
});

test('every YAML file in the repository: read as yaml reads it, or left to yaml', () => {
  const files = yamlFiles(ROOT);
  assert.ok(files.length > 20, `found only ${files.length} YAML files`);
  let read = 0;
  for (const f of files) if (compare(readFileSync(f, 'utf8')) === 'read') read++;
  assert.ok(read >= 10, `the quick reader read only ${read} of ${files.length} files`);
});

test('texts outside the subset are left to yaml', () => {
  const outside = [
    '', '# only a comment\n', 'a:\n', 'a: ~\n', 'a: null\n', 'a: true\n', 'a: 010\n', 'a: 1e3\n', 'a: -1\n', 'a: .5\n', 'a: 12345678901234567\n',
    'a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: |\n  text\n', 'a: >\n  text\n', '--- a: 1\n', '---\n---\na: 1\n', 'a: 1\n---\nb: 2\n', '%YAML 1.2\n---\na: 1\n',
    'a: {b: 1}\n', 'a: "x\\ty"\n', "a: 'it''s'\n", 'a:\n\tb: 1\n', 'a: 1\r\nb: 2\r\n', '\ufeffa: 1\n', 'a: x\u2028y\n',
    '- a: 1\n', 'a: long\n  plain\n', 'a: [1,\n  2]\n', 'a: [1, 2,]\n', 'a: [[1]]\n', 'a: b: c\n', '"a": 1\n', 'true: 1\n', '? a\n: 1\n', ' a: 1\n', 'x\n', '- x\na: 1\n',
    'a:\n  - x\n - y\n', 'a: 1\n  b: 2\n', 'a: -x\n', 'a: "x"y\n', 'a: [x]y\n',
    // yaml counts a comment line indented past the next line into the node before it.
    'a: x\n   # deeper\nb: y\n', 'a:\n  b: x\n  # c\nd: 1\n', 'a:\n- x\n  # c\nb: 1\n', 'a: x\n  # c\n', 'a:\n  b:\n  - x\n  # c\n  d: 1\n',
  ];
  for (const text of outside) assert.is(parsePlainYaml(text, OPTIONS), undefined, JSON.stringify(text));
});

test('edges inside the subset match yaml', () => {
  const inside = [
    'a: 1', 'a: 1\n', 'a: 0\n', 'a: 1  \n', 'a: x y  # c\n', 'a: x#y\n', 'a: x:y\n', 'a: "x: y" # c\n', "a: 'x # y'\n", 'a: ""\n', "a: ''\n",
    'a: [p, "q" , 3]\n', 'a: []\n', 'a: [ x ]\n', 'a: [x,y]  # c\n', 'a:\n- f\n-  g\n\nh: 1\n', 'a:\n  - f\n  -\n    b: 1\n', 'a:\n  b:\n    c: d\n  e: f\n# end\n',
    '# head\n\na: 1 # c\n\n# tail\n', 'a: console=ttyAMA0,115200 earlycon\n', 'a: ../x/y.bin\n', 'a: x\na: y\n', 'a: é — ü\n', '---\na: 1\n', '# h\n--- # c\n\na: 0x1F\n', 'a: 0x48000000\nb: [0x0, 0xffffffff]\n', 'a: 1 # é\n', 'a: "é"\n',
  ];
  for (const text of inside) assert.is(compare(text), 'read', JSON.stringify(text));
});

// Generated manifests: trees of mappings, lists and scalars written in the styles people use,
// with comments, blank lines, odd spacing and tricky scalars; then a few characters changed.
const KEYS = ['a', 'b', 'name', 'spec', 'key-1', 'x_y', 'true', 'null', '1', 'a b', '"q"', 'on'];
const SCALARS = ['x', 'hello world', '128Mi', '0x48000000', '0x', '0xG', '0x12345678901234', '0X10', '010', '1e3', '12', '0', '-1', '+1', '.5', '.inf', 'true', 'True', 'null', '~', 'a: b', 'a:b', 'a #b', 'a#b', '-x', '--', '../p/q.bin', 'console=ttyAMA0,115200', '[x]', 'x]', '{a}', "it's", 'say "hi"', 'é', 'tab\tx', '@x', '`x', '!x', '&x', '*x', '%x', '|', '>', '?x', 'x:', '12345678901234567', '9007199254740993', ''];

type Tree = { kind: 'scalar'; text: string; style: number } | { kind: 'map'; entries: [string, Tree][]; step: number } | { kind: 'seq'; items: Tree[]; step: number; flow: boolean };

const scalarArb = fc.record({ kind: fc.constant('scalar' as const), text: fc.constantFrom(...SCALARS), style: fc.integer({ min: 0, max: 5 }) });
const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.record({ kind: fc.constant('map' as const), entries: fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('tree')), { minLength: 1, maxLength: 4 }), step: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('seq' as const), items: fc.array(tie('tree'), { minLength: 1, maxLength: 3 }), step: fc.integer({ min: 0, max: 3 }), flow: fc.boolean() }),
  ),
}));

function scalarText(s: { text: string; style: number }): string {
  return s.style === 1 ? `"${s.text}"` : s.style === 2 ? `'${s.text}'` : s.text;
}

const COMMENTS = ['', '', ' # c', '   #c', '#c'];
// Writes a tree as a block at `indent`; the `pick` sequence chooses comments and spacing.
function render(t: Tree, indent: number, pick: () => number): string {
  const pad = ' '.repeat(indent);
  const comment = () => COMMENTS[pick() % COMMENTS.length] as string;
  const extra = () => (pick() % 5 === 0 ? (pick() % 2 ? '\n' : `${pad}# note\n`) : '');
  if (t.kind === 'scalar') return `${pad}${scalarText(t)}${comment()}\n`;
  if (t.kind === 'map') {
    return t.entries.map(([k, v]) => {
      if (v.kind === 'scalar') return `${extra()}${pad}${k}: ${scalarText(v)}${comment()}\n`;
      if (v.kind === 'seq' && v.flow && v.items.every((i) => i.kind === 'scalar')) return `${extra()}${pad}${k}: [${v.items.map((i) => scalarText(i as { text: string; style: number })).join(pick() % 2 ? ', ' : ' ,')}]${comment()}\n`;
      const inner = v.kind === 'seq' ? indent + v.step : indent + (v.kind === 'map' ? v.step : 2);
      return `${extra()}${pad}${k}:${comment()}\n${render(v, inner, pick)}`;
    }).join('');
  }
  return t.items.map((v) => {
    if (v.kind === 'scalar') return `${pad}- ${scalarText(v)}${comment()}\n`;
    return `${pad}-\n${render(v, indent + 1 + (v.kind === 'map' ? v.step : v.kind === 'seq' ? v.step : 1), pick)}`;
  }).join('');
}

test('generated manifests: whatever the quick reader reads, it reads as yaml does', () => {
  let read = 0;
  let total = 0;
  fc.assert(
    fc.property(tree, fc.array(fc.nat(), { minLength: 8, maxLength: 8 }), fc.option(fc.tuple(fc.nat(), fc.constantFrom(' ', '\n', ':', '#', '-', '"', "'", '[', ']', ',', 'x', '  ')), { nil: undefined }), (t, choices, edit) => {
      let k = 0;
      const pick = () => choices[k++ % choices.length] as number;
      let text = render(t.kind === 'map' ? t : { kind: 'map', entries: [['root', t]], step: 2 }, 0, pick);
      if (pick() % 3 === 0) text = text.replace(/\n$/, '');
      if (edit) {
        const at = edit[0] % (text.length + 1);
        text = text.slice(0, at) + edit[1] + text.slice(at + 1);
      }
      total++;
      try {
        if (compare(text) === 'read') read++;
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${JSON.stringify(text)}`);
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
  // The generator must reach the subset often, or the property proves little.
  assert.ok(read > total / 20, `the quick reader read only ${read} of ${total} generated texts`);
});

test('a document kept for writing back is read by yaml, comments and all', () => {
  const text = '# head\napiVersion: v1 # why\n';
  assert.is(parseYaml('m.yaml', text, { keepComments: true }).source.docs[0]?.toString(), text);
  assert.is(parseYaml('m.yaml', text).source.docs[0]?.toJS().apiVersion, 'v1');
});

test.run();
