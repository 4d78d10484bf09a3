// CLI output made comparable with a golden file (test/helpers/golden.ts): what varies from run to run —
// the temporary directory, PIDs, dates, timings — replaced by fixed words.
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** A golden file of CLI output: test/golden/cli/NAME.txt. */
export const cliGolden = (name: string): string => join(ROOT, 'test', 'golden', 'cli', `${name}.txt`);

/** `dir` becomes `$DIR`, PIDs `PID N`, ISO dates `DATE`, step timings `N.NNs`. */
export function normalise(text: string, dir?: string): string {
  let s = dir ? text.split(dir).join('$DIR') : text;
  s = s.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'DATE');
  s = s.replace(/\bPID \d+/g, 'PID N');
  s = s.replace(/\b\d+\.\d\ds\b/g, 'N.NNs');
  return s;
}
