// Where the engine works: config dir, state dir, backend and board, resolved once from the caller's
// options and the state's records (SPEC "Files"). Every front end (CLI, watch, libvirt, agent)
// opens one through here, so they all agree on what a flag, a board.yaml or a recorded board means.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Board } from '../board/model.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import { VmanError, inputError } from '../errors.js';
import { readRecords, type StateRecords } from '../apply/records.js';
import { DEFAULT_BOARD } from '../board/builtin/index.js';
import { boardDigest, builtinBoard, loadBoardFile, looksLikeFile, type LoadedBoard } from '../board/load.js';
import { BACKEND_NAMES } from '../backends/index.js';
import { locateProvider } from '../backends/provider/locate.js';
import { vmanCommand } from '../cli/version.js';
import { DEFAULT_PARALLELISM } from '../apply/execute.js';

/** What a front end asks for; everything is optional and defaults as SPEC says. */
export interface WorkspaceOptions {
  /** The directory relative paths are resolved against (the user's working directory). */
  readonly cwd: string;
  /** Config directory (default: `cwd`). */
  readonly configDir?: string;
  /** State directory (default: `CONFIG/.vman`). */
  readonly stateDir?: string;
  /** A built-in board name or a Board YAML file (default: board.yaml, then the recorded board). */
  readonly board?: string;
  /** A backend name (default: the recorded backend, then `sim`). */
  readonly backend?: string;
  /** Confines image and overlay paths to this directory. */
  readonly imageRoot?: string;
  /** How long a writer waits for the lock (default 30 s). */
  readonly lockTimeoutMs?: number;
  /** How many steps a writer runs at once (default DEFAULT_PARALLELISM; 1: in plan order). */
  readonly parallelism?: number;
  /**
   * Board problems are collected here instead of thrown (validate reports them with the rest; watch
   * reports them at its first reconcile). The default board stands in meanwhile.
   */
  readonly collectBoardProblems?: Diagnostic[];
  /**
   * Read-only callers (board, validate) may look at another board than the live one; writers and
   * planners may not.
   */
  readonly readOnly?: boolean;
}

export interface Workspace {
  readonly cwd: string;
  readonly configDir: string;
  readonly stateDir: string;
  /** A name from BACKEND_NAMES (src/backends/index.ts), or a provider's `--backend` value. */
  readonly backend: string;
  readonly board: Board;
  /** `builtin` or the file the board came from. */
  readonly boardOrigin: string;
  readonly boardSha256: string;
  /** vman's records as they were when the workspace was opened. */
  readonly records: StateRecords;
  readonly imageRoot?: string;
  readonly lockTimeoutMs: number;
  readonly parallelism: number;
  /** Set when the state directory is the fleet agent's (vman agent): its fleet/ directory. */
  readonly fleetDir?: string;
}

/** The fleet agent's directory in a state directory (src/fleet/cache.ts), and the file that marks it. */
export const FLEET_DIR = 'fleet';
export const FLEET_DESIRED_FILE = 'desired.json';

/** The fleet agent's directory in `stateDir` when the agent keeps its desired state there, else undefined. */
export function fleetDirOf(stateDir: string): string | undefined {
  const dir = join(stateDir, FLEET_DIR);
  return existsSync(join(dir, FLEET_DESIRED_FILE)) ? dir : undefined;
}

/** Default wait for the lock. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/** Resolves the board: the option, then board.yaml, then the recorded board, then the default. */
async function chooseBoard(
  option: string | undefined,
  configDir: string,
  records: StateRecords,
  cwd: string,
): Promise<LoadedBoard> {
  if (option) {
    const file = looksLikeFile(option) || existsSync(resolve(cwd, option));
    return file ? loadBoardFile(resolve(cwd, option), cwd) : builtinBoard(option);
  }
  const file = join(configDir, 'board.yaml');
  if (existsSync(file)) return loadBoardFile(file, cwd);
  if (records.board) {
    const b = records.board;
    return { board: b.board, origin: b.origin, sha256: boardDigest(b.board), problems: [] };
  }
  return builtinBoard(DEFAULT_BOARD);
}

function chooseBackend(
  given: string | undefined,
  records: StateRecords,
  live: boolean,
  stateDir: string,
  cwd: string,
): string {
  // A provider is recorded as found (a path made absolute), so later commands find the same one.
  const option =
    given === undefined || BACKEND_NAMES.includes(given)
      ? given
      : locateProvider(given, { cwd, env: process.env, vman: vmanCommand() }).spec;
  if (option && live && records.backend && option !== records.backend) {
    throw new VmanError(
      'usage',
      `partitions are live on the ${records.backend} backend (recorded in ${stateDir}); ` +
        `--backend ${option} contradicts it. Destroy them first, or drop --backend`,
    );
  }
  return option ?? records.backend ?? 'sim';
}

/** Opens a workspace: throws a usage error for contradictions, an input error for a bad board. */
export async function openWorkspace(o: WorkspaceOptions): Promise<Workspace> {
  const cwd = o.cwd;
  // A fleet agent's state directory (./writer.ts refuseFleetState) names its own config directory: the
  // manifests of the Partitions it runs, so that `vman status --state-dir …` compares with those.
  const given = o.stateDir !== undefined ? fleetDirOf(resolve(cwd, o.stateDir)) : undefined;
  const configDir = (o.configDir === undefined ? given : undefined) ?? resolve(cwd, o.configDir ?? '.');
  const stateDir = resolve(cwd, o.stateDir ?? join(configDir, '.vman'));
  const fleetDir = given ?? fleetDirOf(stateDir);
  if (!existsSync(configDir)) throw new VmanError('usage', `config directory ${configDir} does not exist`);
  const records = await readRecords(stateDir);
  const live = Object.keys(records.partitions).length > 0;
  const backend = chooseBackend(o.backend, records, live, stateDir, cwd);

  const loaded = await chooseBoard(o.board, configDir, records, cwd);
  if (!loaded.board) {
    if (!o.collectBoardProblems) throw inputError(loaded.problems);
    o.collectBoardProblems.push(...loaded.problems);
  }
  const board = loaded.board ?? builtinBoard(DEFAULT_BOARD).board;
  if (!board) throw new Error('bug: the default board is missing');
  if (!o.readOnly && live && records.board && loaded.board && records.board.name !== loaded.board.name) {
    const why = o.board ? `--board ${o.board}` : loaded.origin === 'builtin' ? 'the default board' : loaded.origin;
    throw new VmanError(
      'usage',
      `partitions are live on board \`${records.board.name}\` (recorded in ${stateDir}); ${why} names ` +
        `\`${loaded.board.name}\`. Destroy them first, or drop the board change`,
    );
  }
  return {
    cwd,
    configDir,
    stateDir,
    backend,
    board,
    boardOrigin: loaded.origin,
    boardSha256: loaded.sha256,
    records,
    ...(o.imageRoot ? { imageRoot: resolve(cwd, o.imageRoot) } : {}),
    lockTimeoutMs: o.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    parallelism: o.parallelism ?? DEFAULT_PARALLELISM,
    ...(fleetDir ? { fleetDir } : {}),
  };
}
