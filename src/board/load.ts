// The I/O edge for boards: a built-in name or a Board YAML file → a Board, or the problems with it.
import { createHash } from 'node:crypto';
import type { Board } from './model.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { checkBoard } from '../rules/board.js';
import { didYouMean } from '../rules/suggest.js';
import { builtinBoards, getBuiltinBoard } from './builtin/index.js';
import { boardFromResource } from './from-yaml.js';
import { decodeManifest } from '../manifest/decode.js';
import { isEmptyDocument, parseYaml } from '../manifest/source.js';
import { checkResourceHeader, documentData, fieldPositions } from '../manifest/partition.js';
import { schemaDiagnostics } from '../manifest/schema-errors.js';
import { getValidator } from '../manifest/validators.js';
import { readSmallFile, displayName } from '../manifest/load.js';

export interface LoadedBoard {
  readonly board?: Board;
  /** `builtin` or the absolute file path. */
  readonly origin: string;
  /** Digest of the board definition (file bytes, or the built-in's JSON), for plan fingerprints. */
  readonly sha256: string;
  readonly problems: readonly Diagnostic[];
}

/** Whether a `--board` value names a file rather than a built-in board. */
export function looksLikeFile(value: string): boolean {
  return value.includes('/') || value.endsWith('.yaml') || value.endsWith('.yml');
}

/** The digest that identifies a board's definition. */
export function boardDigest(board: Board): string {
  return createHash('sha256').update(JSON.stringify(board)).digest('hex');
}

/** A built-in board by name, or a problem that lists the names. */
export function builtinBoard(name: string): LoadedBoard {
  const board = getBuiltinBoard(name);
  if (board) return { board, origin: 'builtin', sha256: boardDigest(board), problems: [] };
  // Architecture nicknames people type (arm64, armhf, riscv) before the edit distance.
  const nick = [
    ['arm64', 'qemu-virt-aarch64'],
    ['armhf', 'qemu-virt-armv7'],
    ['arm32', 'qemu-virt-armv7'],
    ['riscv', 'qemu-virt-riscv64'],
  ].find(([k]) => name.includes(k ?? ''))?.[1];
  const fix =
    nick && builtinBoards.has(nick) && !name.includes('riscv64')
      ? `did you mean \`${nick}\`?`
      : didYouMean(name, builtinBoards.keys());
  return {
    origin: 'builtin',
    sha256: '',
    problems: [
      {
        code: CODES.boardUnknown,
        message: `unknown board \`${name}\`; built-in boards are ${[...builtinBoards.keys()].join(', ')}`,
        hint: fix ?? 'or pass --board FILE with a Board YAML file',
      },
    ],
  };
}

/** Reads and checks a Board YAML file (one document). */
export async function loadBoardFile(abs: string, cwd: string): Promise<LoadedBoard> {
  const display = displayName(abs, cwd);
  const read = await readSmallFile(abs, display);
  if ('problem' in read) return { origin: abs, sha256: '', problems: [read.problem] };
  const sha256 = createHash('sha256').update(read.bytes).digest('hex');
  const decoded = decodeManifest(display, read.bytes);
  if ('problem' in decoded) return { origin: abs, sha256, problems: [decoded.problem] };
  const { source, problems } = parseYaml(display, decoded.text);
  if (problems.length) return { origin: abs, sha256, problems };
  const docs = source.docs.filter((d) => !isEmptyDocument(d));
  const doc = docs[0];
  if (!doc || docs.length > 1) {
    return {
      origin: abs,
      sha256,
      problems: [
        {
          code: CODES.boardInvalid,
          message: `a board file holds exactly one Board document; ${display} has ${docs.length}`,
          position: { file: display, line: 1, column: 1 },
        },
      ],
    };
  }
  const got = documentData(source, doc);
  if ('problem' in got) return { origin: abs, sha256, problems: [got.problem] };
  const header = checkResourceHeader(source, doc, got.data, 'Board');
  if (header.length) return { origin: abs, sha256, problems: header };
  const validate = await getValidator('board');
  if (!validate(got.data))
    return {
      origin: abs,
      sha256,
      problems: schemaDiagnostics(source, doc, got.data, validate.errors ?? [], new Set()),
    };
  const data = got.data as { metadata: { name: string }; spec: Record<string, unknown> };
  const board = boardFromResource(data.metadata.name, data.spec, display);
  const fields = fieldPositions(source, doc);
  const rules = checkBoard(board, (p) => {
    for (let q = p; q; q = q.includes('.') ? q.slice(0, q.lastIndexOf('.')) : '') if (fields[q]) return fields[q];
    return undefined;
  });
  return rules.length ? { origin: abs, sha256, problems: rules } : { board, origin: abs, sha256, problems: [] };
}
