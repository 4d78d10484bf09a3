// Which program a `--backend` value names (SPEC "Monitor providers"): `vman-provider-NAME` on PATH
// for a plain name, a file for a value with a `/`, a command line for a value with a space.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { VmanError } from '../../errors.js';

/** A provider to run: its argv, and the `--backend` value as vman records it. */
export interface ProviderCommand {
  readonly argv: readonly string[];
  /** A path made absolute; a name or command line as given. */
  readonly spec: string;
}

/** Whether a `--backend` value names a provider rather than a built-in backend. */
export function isProviderSpec(value: string, builtIn: readonly string[]): boolean {
  return !builtIn.includes(value);
}

function executable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Splits a command line into words as a POSIX shell does, without expansions: quotes and backslashes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && '"\\$`'.includes(line.charAt(i + 1))) word += line.charAt(++i);
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line.charAt(++i);
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new VmanError('usage', `--backend ${JSON.stringify(line)}: an unclosed ${quote}`);
  if (word !== undefined) words.push(word);
  return words;
}

/** Finds `name` on PATH. */
function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * The program a `--backend` value names. `vman` as a command line's first word is this vman (so
 * `--backend "vman provider serve sim"` works without vman on PATH).
 */
export function locateProvider(
  value: string,
  o: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly vman: readonly string[] },
): ProviderCommand {
  if (/\s/.test(value.trim())) {
    const words = splitWords(value.trim());
    const [first = '', ...rest] = words;
    if (first === 'vman') return { argv: [...o.vman, ...rest], spec: value.trim() };
    const program = first.includes('/') ? resolve(o.cwd, first) : onPath(first, o.env);
    if (!program || !executable(program))
      throw new VmanError('usage', `--backend ${JSON.stringify(value)}: ${first} is not an executable program`);
    return { argv: [program, ...rest], spec: value.trim() };
  }
  if (value.includes('/')) {
    const file = isAbsolute(value) ? value : resolve(o.cwd, value);
    if (!executable(file))
      throw new VmanError('usage', `--backend ${value}: ${file} is not an executable file (chmod +x it?)`);
    return { argv: [file], spec: file };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value))
    throw new VmanError('usage', `--backend ${JSON.stringify(value)} is neither a backend name nor a path`);
  const found = onPath(`vman-provider-${value}`, o.env);
  if (!found)
    throw new VmanError(
      'usage',
      `unknown backend \`${value}\`: built in are sim and qemu, and no vman-provider-${value} is on PATH`,
    );
  return { argv: [found], spec: value };
}
