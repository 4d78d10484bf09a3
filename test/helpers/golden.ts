// Golden files for CLI output, where the text is the product: test/golden/cli/NAME.txt must hold
// exactly what a command printed (after `normalise`). A missing or different file fails; with
// UPDATE_GOLDEN=1 it is written or rewritten instead (and says which), for a reviewer to read the diff.
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ROOT, type Result } from './cli.js';

const GOLDEN = join(ROOT, 'test', 'golden', 'cli');

/**
 * What varies from run to run, made stable: the temporary directory (`$DIR`), PIDs (`PID N`), ISO dates
 * (`DATE`) and step timings (`N.NNs`).
 */
export function normalise(text: string, dir?: string): string {
  let s = dir ? text.split(dir).join('$DIR') : text;
  s = s.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'DATE');
  s = s.replace(/\bPID \d+/g, 'PID N');
  s = s.replace(/\b\d+\.\d\ds\b/g, 'N.NNs');
  return s;
}

/** A command's result as one text: the exit code, then stdout and stderr, each under a heading. */
export function transcript(r: Result, dir?: string): string {
  return normalise(`exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`, dir);
}

/** Checks `actual` against test/golden/cli/NAME.txt (UPDATE_GOLDEN=1 writes it instead). */
export function checkGolden(name: string, actual: string): void {
  const file = join(GOLDEN, `${name}.txt`);
  const shown = relative(ROOT, file);
  const golden = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (process.env.UPDATE_GOLDEN === '1') {
    if (golden === actual) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    console.log(`  UPDATE_GOLDEN=1: ${golden === undefined ? 'wrote' : 'updated'} ${shown}`);
    return;
  }
  assert.ok(golden !== undefined, `${shown} is missing; UPDATE_GOLDEN=1 writes it (then review it)`);
  assert.fixture(actual, golden, `differs from ${shown}; UPDATE_GOLDEN=1 rewrites it (then review the diff)`);
}
