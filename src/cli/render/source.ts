// Reads a file's text for caret excerpts; big or unreadable files get no excerpt.
import { readFileSync, statSync } from 'node:fs';

export function lookupSource(file: string): string | undefined {
  try {
    if (statSync(file).size > 1024 * 1024) return undefined;
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
