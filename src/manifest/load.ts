// The I/O edge of manifest loading: lists partitions.d/, reads each file safely, hands text to the pure parsers.
// Small files are read synchronously: a CLI run waits for them anyway, and thread-pool round
// trips were most of a short plan's idle time.
import { constants, closeSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative, isAbsolute, resolve } from 'node:path';
import type { Diagnostic } from '../rules/diagnostic.js';
import { sortDiagnostics } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { decodeManifest, MAX_MANIFEST_BYTES } from './decode.js';
import { isEmptyDocument, parseYaml } from './source.js';
import { toPartitionSpec } from './partition.js';
import { getValidator } from './validators.js';
import type { PartitionSpec } from './types.js';

/** The desired-state directory inside a config directory. */
export const PARTITIONS_DIR = 'partitions.d';
/** Problems shown per manifest file; a file with more (thousands of bad documents, say) ends with a count. */
export const MAX_PROBLEMS_PER_FILE = 20;

/** One manifest file that was read, with the digest of its bytes (for saved-plan fingerprints). */
export interface ManifestFile {
  readonly abs: string;
  readonly display: string;
  readonly sha256: string;
}

export interface LoadedManifests {
  readonly files: readonly ManifestFile[];
  readonly partitions: readonly PartitionSpec[];
  /** Names declared by documents that have problems (so no spec): they exist, for dependsOn. */
  readonly invalid: readonly string[];
  readonly problems: readonly Diagnostic[];
  /** False when partitions.d/ does not exist. */
  readonly present: boolean;
}

/** Whether a directory entry is a manifest (SPEC "Files": editor backups, temp and hidden files are ignored). */
export function isManifestName(name: string): boolean {
  if (name.startsWith('.')) return false;
  if (name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.tmp') || name.endsWith('.part')) return false;
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/** How a file is named in diagnostics: relative to the current directory when below it, else absolute. */
export function displayName(abs: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/**
 * Reads a file that should be small text, refusing FIFOs, devices and directories before opening
 * (opening a FIFO would block) and never reading more than `limit + 1` bytes.
 */
export async function readSmallFile(
  abs: string,
  display: string,
  limit = MAX_MANIFEST_BYTES,
  notFileHint?: string,
): Promise<{ bytes: Uint8Array } | { problem: Diagnostic }> {
  const at = { file: display, line: 1, column: 1 };
  try {
    const st = statSync(abs);
    if (!st.isFile())
      return {
        problem: {
          code: CODES.unreadable,
          message: `${display} is ${kindOf(st)}, not a regular file`,
          position: at,
          ...(notFileHint ? { hint: notFileHint } : {}),
        },
      };
    const fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      // The file may have been swapped for something else since the stat: check what was opened.
      if (!fstatSync(fd).isFile())
        return { problem: { code: CODES.unreadable, message: `${display} is not a regular file`, position: at } };
      const buf = new Uint8Array(Math.min(st.size, limit) + 1);
      let n = 0;
      for (;;) {
        const bytesRead = readSync(fd, buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
        if (n === buf.length) break;
      }
      if (n > limit)
        return {
          problem: {
            code: CODES.fileTooLarge,
            message: `file is larger than ${limit / 1024} KiB; vman reads YAML files of at most ${limit / 1024} KiB`,
            position: at,
            hint: 'split it into several files, or check that it is the file you meant',
          },
        };
      return { bytes: buf.subarray(0, n) };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = READ_ERRORS[e.code ?? ''] ?? e.message;
    const hint =
      e.code === 'EACCES'
        ? 'make it readable by the user that runs vman'
        : e.code === 'ELOOP' || e.code === 'ENOENT'
          ? 'fix or remove the symbolic link'
          : undefined;
    return {
      problem: {
        code: CODES.unreadable,
        message: `cannot read ${display}: ${why}`,
        position: at,
        ...(hint ? { hint } : {}),
      },
    };
  }
}

// Plain words for the errors a listed file can give when opened
// (ENOENT: a dangling symbolic link, or removed meanwhile).
const READ_ERRORS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOENT: 'it does not exist (a dangling symbolic link?)',
  ELOOP: 'its symbolic links form a loop',
  EISDIR: 'it is a directory',
  EIO: 'an I/O error occurred',
};

function kindOf(st: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'a special file';
}

/** A manifest not (yet) in partitions.d/, loaded as if it were: `create` plans one before writing it. */
export interface ExtraManifest {
  /** How diagnostics name it (the file the user gave). */
  readonly display: string;
  /** Where it is: its relative paths are relative to this file's directory. */
  readonly abs: string;
  readonly text: string;
  /** The document of partitions.d/ it stands in for (a redefinition): that one is not read. */
  readonly replaces?: { readonly file: string; readonly index: number };
}

/**
 * Loads every manifest under `configDir/partitions.d`, collecting all problems; with `extra`, that
 * manifest too, as if it were there.
 */
export async function loadManifests(
  configDir: string,
  cwd: string = process.cwd(),
  o: { readonly extra?: ExtraManifest } = {},
): Promise<LoadedManifests> {
  const dir = resolve(configDir, PARTITIONS_DIR);
  let names: string[] = [];
  let present = true;
  try {
    names = readdirSync(dir).filter(isManifestName).sort();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') {
      return {
        files: [],
        partitions: [],
        invalid: [],
        present: true,
        problems: [{ code: CODES.unreadable, message: `cannot read ${displayName(dir, cwd)}: ${e.message}` }],
      };
    }
    present = false;
  }
  const validate = await getValidator('partition');
  const files: ManifestFile[] = [];
  const partitions: PartitionSpec[] = [];
  const invalid: string[] = [];
  const problems: Diagnostic[] = [];
  // One file's text: its documents as specs (or their problems), without the one `skip` names.
  const readText = (abs: string, display: string, text: string, skip?: number) => {
    const { source, problems: yamlProblems } = parseYaml(display, text);
    const fileProblems = [...yamlProblems];
    if (!yamlProblems.length) {
      let n = -1;
      source.docs.forEach((doc, i) => {
        // An empty document (a lone `---`, or only comments) declares nothing.
        if (isEmptyDocument(doc) || ++n === skip) return;
        const r = toPartitionSpec(source, abs, i, doc, validate);
        fileProblems.push(...r.problems);
        if (r.spec) partitions.push(r.spec);
        else {
          const declared: unknown = doc.getIn(['metadata', 'name']);
          if (typeof declared === 'string') invalid.push(declared);
        }
      });
    }
    problems.push(...capProblems(fileProblems));
  };
  for (const name of names) {
    const abs = join(dir, name);
    const display = displayName(abs, cwd);
    const read = await readSmallFile(
      abs,
      display,
      MAX_MANIFEST_BYTES,
      `move it out of ${PARTITIONS_DIR}/, or rename it so that it does not end in .yaml or .yml`,
    );
    if ('problem' in read) {
      problems.push(read.problem);
      continue;
    }
    files.push({ abs, display, sha256: createHash('sha256').update(read.bytes).digest('hex') });
    const decoded = decodeManifest(display, read.bytes);
    if ('problem' in decoded) {
      problems.push(decoded.problem);
      continue;
    }
    readText(abs, display, decoded.text, o.extra?.replaces?.file === abs ? o.extra.replaces.index : undefined);
  }
  if (o.extra) readText(o.extra.abs, o.extra.display, o.extra.text);
  // Adding a manifest makes partitions.d/ (so it counts as there).
  const there = present || o.extra !== undefined;
  return { files, partitions, invalid: [...new Set(invalid)].sort(), problems, present: there };
}

// The first MAX_PROBLEMS_PER_FILE problems of a file, then one that counts the rest.
function capProblems(list: readonly Diagnostic[]): readonly Diagnostic[] {
  if (list.length <= MAX_PROBLEMS_PER_FILE) return list;
  const sorted = sortDiagnostics(list);
  const next = sorted[MAX_PROBLEMS_PER_FILE];
  const more = list.length - MAX_PROBLEMS_PER_FILE;
  const rest: Diagnostic = {
    code: CODES.tooManyProblems,
    message: `${more} more problem${more === 1 ? '' : 's'} in this file not shown`,
    ...(next?.position ? { position: next.position } : {}),
    hint: 'fix the problems above first',
  };
  return [...sorted.slice(0, MAX_PROBLEMS_PER_FILE), rest];
}
