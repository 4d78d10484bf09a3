// vman's version, from package.json. This module sits at the same depth as the CLI bundle
// (dist/cli/bundle.js; dist/cli/version.js from tsc), so one relative URL finds the file from both.
import { readFileSync } from 'node:fs';

let known: string | undefined;

/** The version in package.json, or `unknown` when it cannot be read. */
export function vmanVersion(): string {
  if (known !== undefined) return known;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    known = pkg.version ?? 'unknown';
  } catch {
    known = 'unknown';
  }
  return known;
}
