// vman's version, from package.json. This module sits at the same depth as the CLI bundle
// (dist/cli/bundle.js; dist/cli/version.js from tsc), so one relative URL finds the file from both.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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

/** The command that runs this vman: node and the package's launcher (for `vman …` in a provider's command line). */
export function vmanCommand(): readonly string[] {
  return [process.execPath, fileURLToPath(new URL('../../dist/cli/main.cjs', import.meta.url))];
}
