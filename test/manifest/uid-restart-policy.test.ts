// metadata.uid and spec.restartPolicy: parsed, defaulted, and refused with positions when malformed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CODES } from '../../src/rules/codes.js';
import { VALID, insertAfter, loadText, where } from './support.js';

const UID = '6f1c0a52-93d4-4c1e-8b0a-2f6d3e7c9a41';

test('without either field: no uid, restartPolicy Never', async () => {
  const r = await loadText(VALID);
  assert.equal(r.problems, []);
  assert.is(r.partitions[0]?.uid, undefined);
  assert.is(r.partitions[0]?.restartPolicy, 'Never');
});

test('metadata.uid is kept as written, with its position', async () => {
  const r = await loadText(insertAfter(4, `  uid: ${UID}`));
  assert.equal(r.problems, []);
  const p = r.partitions[0];
  assert.is(p?.uid, UID);
  assert.equal(p?.source.fields['metadata.uid'], {
    file: 'partitions.d/x.yaml',
    line: 5,
    column: 8,
    path: ['metadata', 'uid'],
  });
});

test('every restartPolicy value loads', async () => {
  for (const v of ['Never', 'OnFailure', 'Always'] as const) {
    const r = await loadText(insertAfter(7, `  restartPolicy: ${v}`));
    assert.equal(r.problems, [], v);
    assert.is(r.partitions[0]?.restartPolicy, v);
  }
});

test('a malformed uid: one problem at the value', async () => {
  for (const bad of [
    UID.toUpperCase(),
    UID.replace(/-/g, ''),
    `{${UID}}`,
    UID.slice(0, -1),
    `${UID}0`,
    'not-a-uuid',
    '',
  ]) {
    const r = await loadText(insertAfter(4, `  uid: "${bad}"`));
    assert.equal(r.problems.map(where), [{ code: CODES.badValue, line: 5, column: 8, path: ['metadata', 'uid'] }], bad);
    assert.match(r.problems[0]?.message ?? '', /lower-case RFC 4122/);
    assert.is(r.partitions.length, 0);
  }
  const num = await loadText(insertAfter(4, '  uid: 42'));
  assert.equal(num.problems.map(where), [{ code: CODES.wrongType, line: 5, column: 8, path: ['metadata', 'uid'] }]);
});

test('a bad restartPolicy: one problem at the value, with a suggestion', async () => {
  const cases: [string, string | undefined][] = [
    ['never', 'did you mean `Never`?'],
    ['Onfailure', 'did you mean `OnFailure`?'],
    ['always', 'did you mean `Always`?'],
    ['Sometimes', undefined],
  ];
  for (const [v, hint] of cases) {
    const r = await loadText(insertAfter(7, `  restartPolicy: ${v}`));
    assert.equal(
      r.problems.map(where),
      [{ code: CODES.badValue, line: 8, column: 18, path: ['spec', 'restartPolicy'] }],
      v,
    );
    assert.is(r.problems[0]?.hint, hint, v);
  }
  const list = await loadText(insertAfter(7, '  restartPolicy: [Always]'));
  assert.equal(list.problems.map(where), [
    { code: CODES.badValue, line: 8, column: 18, path: ['spec', 'restartPolicy'] },
  ]);
});

test.run();
