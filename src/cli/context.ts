// Where a command works: config dir, state dir, backend and board, resolved once from flags,
// environment and the state's records (SPEC "Files").
import { existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import type { Board } from '../board/model.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import { VmanError, inputError } from '../errors.js';
import { readRecords, type StateRecords } from '../apply/records.js';
import { DEFAULT_BOARD } from '../board/builtin/index.js';
import { boardDigest, builtinBoard, loadBoardFile, looksLikeFile, type LoadedBoard } from '../board/load.js';
import { parseDuration } from '../manifest/units.js';
import { BACKEND_NAMES } from '../backends/index.js';
import type { Invocation } from './args.js';
import type { CommandIO } from './io.js';

export interface Context {
  readonly io: CommandIO;
  readonly inv: Invocation;
  readonly json: boolean;
  readonly cwd: string;
  readonly configDir: string;
  readonly stateDir: string;
  /** A name from BACKEND_NAMES (src/backends/index.ts, the one list of backends). */
  readonly backend: string;
  /** The board, when it loaded cleanly. */
  readonly board: Board;
  readonly boardOrigin: string;
  readonly boardSha256: string;
  readonly records: StateRecords;
  readonly imageRoot?: string;
  readonly lockTimeoutMs: number;
}

/** Default wait for the lock when --lock-timeout is not given. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Resolves the board: --board, then board.yaml, then the recorded board, then the default. */
async function chooseBoard(
  flag: string | undefined,
  configDir: string,
  records: StateRecords,
  cwd: string,
): Promise<LoadedBoard> {
  if (flag)
    return looksLikeFile(flag) || existsSync(resolve(cwd, flag))
      ? loadBoardFile(resolve(cwd, flag), cwd)
      : builtinBoard(flag);
  const file = join(configDir, 'board.yaml');
  if (existsSync(file)) return loadBoardFile(file, cwd);
  if (records.board)
    return {
      board: records.board.board,
      origin: records.board.origin,
      sha256: boardDigest(records.board.board),
      problems: [],
    };
  return builtinBoard(DEFAULT_BOARD);
}

/**
 * Opens the context of a command. Board problems are thrown as one input error unless
 * `collect` is given, which receives them instead (validate reports them with the rest).
 */
export async function openContext(
  inv: Invocation,
  io: CommandIO,
  opts: { collect?: Diagnostic[] } = {},
): Promise<Context> {
  const f = inv.flags;
  const cwd = io.cwd;
  const configDir = resolve(cwd, str(f['config-dir']) ?? str(io.env.VMAN_CONFIG_DIR) ?? '.');
  const stateDir = resolve(cwd, str(f['state-dir']) ?? str(io.env.VMAN_STATE_DIR) ?? join(configDir, '.vman'));
  if (!existsSync(configDir)) throw new VmanError('usage', `config directory ${configDir} does not exist`);
  const records = await readRecords(stateDir);
  const live = Object.keys(records.partitions).length > 0;

  const backendFlag = str(f.backend);
  if (backendFlag && !BACKEND_NAMES.includes(backendFlag))
    throw new VmanError('usage', `unknown backend \`${backendFlag}\`; backends are ${BACKEND_NAMES.join(', ')}`);
  if (backendFlag && live && records.backend && backendFlag !== records.backend) {
    throw new VmanError(
      'usage',
      `partitions are live on the ${records.backend} backend (recorded in ${stateDir}); --backend ${backendFlag} contradicts it. Destroy them first, or drop --backend`,
    );
  }
  const backend = backendFlag ?? records.backend ?? 'sim';

  const loaded = await chooseBoard(str(f.board), configDir, records, cwd);
  if (!loaded.board) {
    if (opts.collect) opts.collect.push(...loaded.problems);
    else throw inputError(loaded.problems);
  }
  const board = loaded.board ?? builtinBoard(DEFAULT_BOARD).board;
  if (!board) throw new Error('bug: the default board is missing');
  if (live && records.board && loaded.board && records.board.name !== loaded.board.name) {
    const why = str(f.board)
      ? `--board ${str(f.board)}`
      : loaded.origin === 'builtin'
        ? 'the default board'
        : `${loaded.origin}`;
    throw new VmanError(
      'usage',
      `partitions are live on board \`${records.board.name}\` (recorded in ${stateDir}); ${why} names \`${loaded.board.name}\`. Destroy them first, or drop the board change`,
    );
  }

  const lockFlag = str(f['lock-timeout']);
  let lockTimeoutMs = DEFAULT_LOCK_TIMEOUT_MS;
  if (lockFlag !== undefined) {
    const d = parseDuration(lockFlag, '--lock-timeout');
    if (!d.ok) throw new VmanError('usage', `${d.message}${d.hint ? `; ${d.hint}` : ''}`);
    lockTimeoutMs = d.value;
  }
  const imageRoot = str(f['image-root']) ?? str(io.env.VMAN_IMAGE_ROOT);
  return {
    io,
    inv,
    json: f.json === true,
    cwd,
    configDir,
    stateDir,
    backend,
    board,
    boardOrigin: loaded.origin,
    boardSha256: loaded.sha256,
    records,
    ...(imageRoot ? { imageRoot: resolve(cwd, imageRoot) } : {}),
    lockTimeoutMs,
  };
}
