// The conformance suite's requirements and docs/provider-protocol.md's "Requirements" are one list:
// every requirement the suite checks is in the doc with the same number, title and text, and the
// doc numbers none the suite does not check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { REQUIREMENTS } from '../../src/providers/conformance/requirements.js';

const doc = readFileSync(join(ROOT, 'docs', 'provider-protocol.md'), 'utf8');
const section = doc.slice(doc.indexOf('\n## Requirements\n'));

test('the doc has a Requirements section', () => {
  assert.ok(doc.includes('\n## Requirements\n'));
});

test('every requirement of the suite is in the doc: its number, title and text', () => {
  const lines = new Set(section.split('\n'));
  const missing = REQUIREMENTS.filter((r) => !lines.has(`- **${r.id}** ${r.title} — ${r.text}`)).map((r) => r.id);
  assert.equal(missing, []);
});

test('the doc numbers no requirement the suite does not check', () => {
  const inDoc = [...section.matchAll(/^- \*\*(R\d+\.\d+)\*\*/gm)].map((m) => m[1]);
  assert.equal(
    inDoc,
    REQUIREMENTS.map((r) => r.id),
  );
});

test('numbers are unique and in order: section, then requirement', () => {
  const key = (id: string) => id.slice(1).split('.').map(Number) as [number, number];
  for (let i = 1; i < REQUIREMENTS.length; i++) {
    const [s0, n0] = key(REQUIREMENTS[i - 1]!.id);
    const [s1, n1] = key(REQUIREMENTS[i]!.id);
    assert.ok(
      s1 === s0 ? n1 === n0 + 1 : s1 === s0 + 1 && n1 === 1,
      `${REQUIREMENTS[i]!.id} follows ${REQUIREMENTS[i - 1]!.id}`,
    );
  }
});

test.run();
