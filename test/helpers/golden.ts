// Golden files for text that is the product (CLI output): a missing or different file fails the test;
// UPDATE_GOLDEN=1 writes or rewrites it instead (and says which), for a reviewer to read in the diff.
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { ROOT } from './cli.js';

const update = process.env.UPDATE_GOLDEN === '1';

/** Checks `actual` against the golden file (written instead under UPDATE_GOLDEN=1). */
export function checkGolden(file: string, actual: string, what: string): void {
  const golden = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const name = relative(ROOT, file);
  if (update) {
    if (golden === actual) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    console.log(`  UPDATE_GOLDEN=1: ${golden === undefined ? 'wrote' : 'updated'} ${name}`);
    return;
  }
  assert.ok(golden !== undefined, `${what}: ${name} is missing; UPDATE_GOLDEN=1 writes it (then review it)`);
  assert.fixture(actual, golden, `${what}: differs from ${name}; UPDATE_GOLDEN=1 rewrites it (then review the diff)`);
}
