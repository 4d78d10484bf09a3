// Every class of schema error, through the real loader on real files: the code, the line and
// column (and YAML path where set), and exactly one problem per mistake. Wording is asserted only
// where the fix hint is the product ("did you mean …").
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Diagnostic } from '../../src/rules/diagnostic.js';
import { CODES } from '../../src/rules/codes.js';
import { VALID, editLine, insertAfter, loadText, where } from './support.js';

const SHA = 'a'.repeat(64);

/** Loads `text` and expects exactly one problem, at `code`, `line`, `column` (and `path` when given). */
async function one(
  text: string,
  code: string,
  line: number,
  column: number,
  path?: readonly (string | number)[],
): Promise<Diagnostic> {
  const r = await loadText(text);
  assert.equal(r.problems.map(where), [{ code, line, column, ...(path ? { path } : {}) }], text);
  assert.is(r.partitions.length, 0, 'a document with problems declares no partition');
  const d = r.problems[0];
  if (!d) throw new Error('unreachable');
  assert.is(d.position?.file, 'partitions.d/x.yaml');
  return d;
}

test('the valid manifest loads, with its fields and their positions', async () => {
  const r = await loadText(VALID);
  assert.equal(r.problems, []);
  assert.is(r.partitions.length, 1);
  const p = r.partitions[0];
  assert.is(p?.name, 'web');
  assert.equal(p?.cpus, { count: 2 });
  assert.equal(p?.memory, { size: 256 * 1024 * 1024 });
  assert.is(p?.state, 'running');
  assert.is(p?.readiness.timeoutMs, 60_000);
  assert.equal(p?.source.fields['spec.memory'], {
    file: 'partitions.d/x.yaml',
    line: 7,
    column: 11,
    path: ['spec', 'memory'],
  });
  assert.equal(p?.source.fields['spec.boot.kernel'], {
    file: 'partitions.d/x.yaml',
    line: 9,
    column: 13,
    path: ['spec', 'boot', 'kernel'],
  });
});

test('unknown field: at the key, with did-you-mean, and the misspelt required field not reported again', async () => {
  const d = await one(editLine(6, '  cpu: 2'), CODES.unknownField, 6, 3, ['spec', 'cpu']);
  assert.is(d.hint, 'did you mean `cpus`?');
  const m = await one(editLine(7, '  memroy: 256Mi'), CODES.unknownField, 7, 3, ['spec', 'memroy']);
  assert.is(m.hint, 'did you mean `memory`?');
  const k = await one(editLine(9, '    kernal: ../images/Image'), CODES.unknownField, 9, 5, ['spec', 'boot', 'kernal']);
  assert.is(k.hint, 'did you mean `kernel`?');
  const l = await one(insertAfter(4, '  lables: {tier: web}'), CODES.unknownField, 5, 3, ['metadata', 'lables']);
  assert.is(l.hint, 'did you mean `labels`?');
  const top = await one(insertAfter(9, 'status: {}'), CODES.unknownField, 10, 1, ['status']);
  assert.is(top.hint, 'allowed here: apiVersion, kind, metadata, spec');
});

test('missing required field: at the key of the mapping that lacks it, path naming the field', async () => {
  await one(editLine(7), CODES.missingField, 5, 1, ['spec', 'memory']);
  await one(editLine(6), CODES.missingField, 5, 1, ['spec', 'cpus']);
  await one(editLine(4, '  labels: {}'), CODES.missingField, 3, 1, ['metadata', 'name']);
  await one(
    editLine(8, '  boot: {}')
      .split('\n')
      .filter((l) => !l.includes('kernel:'))
      .join('\n'),
    CODES.bootChoice,
    8,
    3,
    ['spec', 'boot'],
  );
  // Several missing from one mapping: one problem naming them all, its path the mapping's.
  const both = await one(editLine(6).replace('  memory: 256Mi\n', ''), CODES.missingField, 5, 1, ['spec']);
  assert.is(both.message, '`spec` is missing required fields `cpus` and `memory`');
  const noSpec = VALID.split('\n').slice(0, 4).join('\n');
  await one(noSpec, CODES.missingField, 1, 1, ['spec']);
  const noApi = await one(VALID.split('\n').slice(1).join('\n'), CODES.missingField, 1, 1);
  assert.is(noApi.hint, 'add `apiVersion: vman.dev/v1alpha1`');
  const noKind = await one(editLine(2), CODES.missingField, 1, 1);
  assert.is(noKind.hint, 'add `kind: Partition`');
});

test('wrong type: at the value, with how to write it where that is clear', async () => {
  const list = await one(insertAfter(7, '  devices: virtio0'), CODES.wrongType, 8, 12, ['spec', 'devices']);
  assert.is(list.hint, 'write a list: `devices: [virtio0]`');
  const quote = await one(editLine(4, '  name: 123'), CODES.wrongType, 4, 9, ['metadata', 'name']);
  assert.is(quote.hint, 'quote it: `name: "123"`');
  const unquote = await one(editLine(6, '  cpus: "2"'), CODES.wrongType, 6, 9, ['spec', 'cpus']);
  assert.is(unquote.hint, 'write it without quotes: `cpus: 2`');
  const boot = await one(
    editLine(8, '  boot: ../images/Image').replace('    kernel: ../images/Image\n', ''),
    CODES.wrongType,
    8,
    9,
    ['spec', 'boot'],
  );
  assert.match(boot.hint ?? '', /^boot is a mapping: `kernel: PATH` \(Linux\) or `image: PATH`/);
  await one(insertAfter(4, '  labels: [web]'), CODES.wrongType, 5, 11, ['metadata', 'labels']);
  await one(insertAfter(9, '    bootargs: 5'), CODES.wrongType, 10, 15, ['spec', 'boot', 'bootargs']);
  await one(insertAfter(9, '    overlays: extra.dtbo'), CODES.wrongType, 10, 15, ['spec', 'boot', 'overlays']);
  await one(insertAfter(7, '  dependsOn: db'), CODES.wrongType, 8, 14, ['spec', 'dependsOn']);
  await one(editLine(5, 'spec: []').split('\n').slice(0, 5).join('\n'), CODES.wrongType, 5, 7, ['spec']);
});

test('bad enum value: at the value, with a suggestion', async () => {
  const d = await one(insertAfter(5, '  state: runing'), CODES.badValue, 6, 10, ['spec', 'state']);
  assert.is(d.hint, 'did you mean `running`?');
  const s = await one(insertAfter(5, '  state: Stopped'), CODES.badValue, 6, 10, ['spec', 'state']);
  assert.is(s.hint, 'did you mean `stopped`?');
  const synonym = await one(insertAfter(5, '  state: started'), CODES.badValue, 6, 10, ['spec', 'state']);
  assert.is(synonym.hint, 'did you mean `running`?');
  const none = await one(insertAfter(5, '  state: paused'), CODES.badValue, 6, 10, ['spec', 'state']);
  assert.is(none.hint, undefined);
});

test('bad apiVersion and kind: one problem each, at the value', async () => {
  const api = await one(editLine(1, 'apiVersion: vman.dev/v1'), CODES.badApiVersion, 1, 13, ['apiVersion']);
  assert.is(api.hint, 'use `apiVersion: vman.dev/v1alpha1`');
  const kind = await one(editLine(2, 'kind: Partiton'), CODES.badKind, 2, 7, ['kind']);
  assert.is(kind.hint, 'did you mean `Partition`?');
  const board = await one(editLine(2, 'kind: Board'), CODES.badKind, 2, 7, ['kind']);
  assert.is(board.hint, 'describe the board in board.yaml in the config directory, or pass --board FILE');
  await one(editLine(2, 'kind: Deployment'), CODES.badKind, 2, 7, ['kind']);
});

test('bad name: pattern and length carry the name code; the hint offers a valid name', async () => {
  const d = await one(editLine(4, '  name: Web_Server'), CODES.badName, 4, 9, ['metadata', 'name']);
  assert.is(
    d.hint,
    "use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. `web-server`)",
  );
  await one(editLine(4, '  name: -web'), CODES.badName, 4, 9, ['metadata', 'name']);
  await one(editLine(4, '  name: web-'), CODES.badName, 4, 9, ['metadata', 'name']);
  await one(editLine(4, `  name: ${'a'.repeat(64)}`), CODES.badName, 4, 9, ['metadata', 'name']);
  await one(editLine(4, '  name: ""'), CODES.badName, 4, 9, ['metadata', 'name']);
  // 63 characters is the limit, not past it.
  assert.equal((await loadText(editLine(4, `  name: ${'a'.repeat(63)}`))).problems, []);
});

test('minItems: an empty list of cores', async () => {
  await one(editLine(6, '  cpus: []'), CODES.badValue, 6, 9, ['spec', 'cpus']);
});

test('uniqueItems: at the repeated entry', async () => {
  await one(editLine(6, '  cpus: [2, 3, 2]'), CODES.duplicateItem, 6, 16, ['spec', 'cpus', 2]);
  const d = await one(insertAfter(7, '  devices: [virtio0, virtio0]'), CODES.duplicateItem, 8, 22, [
    'spec',
    'devices',
    1,
  ]);
  assert.is(d.message, '`spec.devices` lists "virtio0" twice');
  await one(insertAfter(7, '  dependsOn:', '    - db', '    - db'), CODES.duplicateItem, 10, 7, [
    'spec',
    'dependsOn',
    1,
  ]);
});

test('anyOf shapes: cpus is a count or a list; memory is a size or {size, base}', async () => {
  for (const v of ['two', '{count: 2}', '1.5', 'true'])
    await one(editLine(6, `  cpus: ${v}`), CODES.wrongType, 6, 9, ['spec', 'cpus']);
  // The value's shape picks the branch: then that branch's own error is reported.
  await one(editLine(6, '  cpus: 0'), CODES.badValue, 6, 9, ['spec', 'cpus']);
  await one(editLine(6, '  cpus: [-1]'), CODES.badValue, 6, 10, ['spec', 'cpus', 0]);
  await one(editLine(6, '  cpus: [a]'), CODES.wrongType, 6, 10, ['spec', 'cpus', 0]);
  for (const v of ['[256Mi]', 'true'])
    await one(editLine(7, `  memory: ${v}`), CODES.wrongType, 7, 11, ['spec', 'memory']);
  const empty = await one(editLine(7, '  memory:'), CODES.wrongType, 7, 10, ['spec', 'memory']);
  assert.match(empty.message, /^`spec\.memory` must be a size \(e\.g\. 256Mi\) or a mapping/);
  const b = await one(editLine(7, '  memory: {size: 256Mi, bsae: 0x48000000}'), CODES.unknownField, 7, 25, [
    'spec',
    'memory',
    'bsae',
  ]);
  assert.is(b.hint, 'did you mean `base`?');
  await one(editLine(7, '  memory: {base: 0x48000000}'), CODES.missingField, 7, 3, ['spec', 'memory', 'size']);
});

test('sizes, addresses and durations: the unit parser speaks, with its hint', async () => {
  const s = await one(editLine(7, '  memory: 512'), CODES.badSize, 7, 11, ['spec', 'memory']);
  assert.is(s.hint, 'did you mean `512Mi`? A bare number is bytes');
  const mb = await one(editLine(7, '  memory: 256MB'), CODES.badSize, 7, 11, ['spec', 'memory']);
  assert.is(mb.hint, 'did you mean `256Mi`? Units are Ki, Mi and Gi');
  await one(editLine(7, '  memory: {size: 1.5Gi}'), CODES.badSize, 7, 18, ['spec', 'memory', 'size']);
  await one(editLine(7, '  memory: {size: 256Mi, base: 48000000h}'), CODES.badAddress, 7, 31, [
    'spec',
    'memory',
    'base',
  ]);
  const t = await one(insertAfter(9, '  readiness:', '    timeout: 60'), CODES.badDuration, 11, 14, [
    'spec',
    'readiness',
    'timeout',
  ]);
  assert.is(t.hint, 'did you mean `60s`? Units are ms, s and m');
  await one(
    insertAfter(9, '    image: ../images/rtos.bin', '    load: -16').replace('    kernel: ../images/Image\n', ''),
    CODES.badAddress,
    10,
    11,
    ['spec', 'boot', 'load'],
  );
});

test('sha256 pin that is not 64 hex digits', async () => {
  const d = await one(insertAfter(9, '    sha256: {kernel: "abc123"}'), CODES.badValue, 10, 22, [
    'spec',
    'boot',
    'sha256',
    'kernel',
  ]);
  assert.is(d.hint, 'compute it with `sha256sum FILE`');
  await one(insertAfter(9, `    sha256: {kernel: "${'g'.repeat(64)}"}`), CODES.badValue, 10, 22, [
    'spec',
    'boot',
    'sha256',
    'kernel',
  ]);
  await one(insertAfter(9, `    sha256: {kernal: "${SHA}"}`), CODES.unknownField, 10, 14, [
    'spec',
    'boot',
    'sha256',
    'kernal',
  ]);
});

test('boot: kernel and image both, or neither', async () => {
  await one(insertAfter(9, '    image: ../images/rtos.bin'), CODES.bootChoice, 10, 5, ['spec', 'boot', 'image']);
  await one(editLine(9, '    bootargs: quiet'), CODES.bootChoice, 8, 3, ['spec', 'boot']);
});

test('boot: initrd with image; load or entry with kernel; a pin for a file the partition does not boot', async () => {
  await one(
    editLine(9, '    image: ../images/rtos.bin', '    initrd: ../images/initrd.gz'),
    CODES.bootFieldMisplaced,
    10,
    5,
    ['spec', 'boot', 'initrd'],
  );
  await one(insertAfter(9, '    load: 0x80000'), CODES.bootFieldMisplaced, 10, 5, ['spec', 'boot', 'load']);
  await one(insertAfter(9, '    entry: 0x80000'), CODES.bootFieldMisplaced, 10, 5, ['spec', 'boot', 'entry']);
  await one(insertAfter(9, `    sha256: {initrd: "${SHA}"}`), CODES.bootFieldMisplaced, 10, 14, [
    'spec',
    'boot',
    'sha256',
    'initrd',
  ]);
  await one(insertAfter(9, '    sha256:', `      image: "${SHA}"`), CODES.bootFieldMisplaced, 11, 7, [
    'spec',
    'boot',
    'sha256',
    'image',
  ]);
});

test('readiness.console that is not a regular expression', async () => {
  const d = await one(insertAfter(9, '  readiness:', '    console: "login[:"'), CODES.badRegex, 11, 14, [
    'spec',
    'readiness',
    'console',
  ]);
  assert.is(d.message, 'readiness.console is not a valid regular expression: unterminated character class');
});

test('dependsOn naming the partition itself', async () => {
  const d = await one(insertAfter(7, '  dependsOn: [db, web]'), CODES.dependsSelf, 8, 19, ['spec', 'dependsOn', 1]);
  assert.is(d.partition, undefined);
  assert.is(d.hint, 'remove it from dependsOn');
});

test('a document that is not a mapping', async () => {
  await one('- web\n- db\n', CODES.notResource, 1, 1);
  await one('just some text\n', CODES.notResource, 1, 1);
  await one('42\n', CODES.notResource, 1, 1);
});

test('duplicate key: at the second one, related to the first', async () => {
  const r = await loadText(insertAfter(7, '  memory: 128Mi'));
  assert.equal(r.problems.map(where), [{ code: CODES.duplicateKey, line: 8, column: 3 }]);
  assert.equal(r.problems[0]?.related, { file: 'partitions.d/x.yaml', line: 7, column: 3 });
});

test('several mistakes in one document: all reported, each once, in file order', async () => {
  const text = [
    'apiVersion: vman.dev/v1alpha1',
    'kind: Partition',
    'metadata:',
    '  name: Web',
    'spec:',
    '  cpu: 2',
    '  memory: 512',
    '  state: runing',
    '  boot:',
    '    kernel: ../images/Image',
    '    load: 0x0',
    '',
  ].join('\n');
  const r = await loadText(text);
  const got = r.problems.map(where).sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  assert.equal(got, [
    { code: CODES.badName, line: 4, column: 9, path: ['metadata', 'name'] },
    { code: CODES.unknownField, line: 6, column: 3, path: ['spec', 'cpu'] },
    { code: CODES.badSize, line: 7, column: 11, path: ['spec', 'memory'] },
    { code: CODES.badValue, line: 8, column: 10, path: ['spec', 'state'] },
    { code: CODES.bootFieldMisplaced, line: 11, column: 5, path: ['spec', 'boot', 'load'] },
  ]);
});

test('positions in the second document of a file count from the top of the file', async () => {
  const second = VALID.replace('name: web', 'name: db').replace('cpus: 2', 'cpus: [1, 1]');
  const r = await loadText(`${VALID}---\n${second}`);
  assert.equal(r.problems.map(where), [{ code: CODES.duplicateItem, line: 16, column: 13, path: ['spec', 'cpus', 1] }]);
  assert.equal(
    r.partitions.map((p) => [p.name, p.source.doc, p.source.position.line]),
    [['web', 0, 1]],
  );
});

test.run();
