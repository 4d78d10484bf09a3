// vman's own records in STATE/state.json: the board and backend of the last apply, and for each
// live partition the manifest fields it was brought up with (for field diffs and drift).
import { join } from 'node:path';
import type { Board } from '../board/model.js';
import type { AppliedRecord } from '../plan/types.js';
import { ensurePrivateDir, readJson, writeFileAtomic } from '../state/files.js';

export interface BoardRecord {
  readonly name: string;
  /** `builtin`, or the file it was read from. */
  readonly origin: string;
  /** The whole board, so later commands run on it without the file. */
  readonly board: Board;
}

export interface StateRecords {
  readonly version: 1;
  board?: BoardRecord;
  backend?: string;
  partitions: Record<string, AppliedRecord>;
}

export const STATE_FILE = 'state.json';

export async function readRecords(stateDir: string): Promise<StateRecords> {
  return (await readJson<StateRecords>(join(stateDir, STATE_FILE))) ?? { version: 1, partitions: {} };
}

export async function writeRecords(stateDir: string, r: StateRecords): Promise<void> {
  await ensurePrivateDir(stateDir);
  await writeFileAtomic(join(stateDir, STATE_FILE), `${JSON.stringify(r, null, 1)}\n`);
}
