// Reading the agent's status file (for `vman status`): what it says, and whether its writer is
// still the running process it names (same pid and process start time).
import { join } from 'node:path';
import { readJson } from '../state/files.js';
import { processStart } from '../apply/lock.js';
import { STATUS_FILE, type WatchStatus } from './status.js';

export interface WatchReport {
  readonly status: WatchStatus;
  readonly running: boolean;
}

/** The status file in `stateDir`, or undefined when no agent ever ran there (or the file is unreadable). */
export async function readWatchStatus(stateDir: string): Promise<WatchReport | undefined> {
  let status: WatchStatus | undefined;
  try {
    status = await readJson<WatchStatus>(join(stateDir, STATUS_FILE));
  } catch {
    return undefined;
  }
  if (!status || typeof status.pid !== 'number') return undefined;
  const start = status.state === 'running' ? processStart(status.pid) : undefined;
  const running =
    start !== undefined && (start === 'unknown' || status.pidStart === 'unknown' || start === status.pidStart);
  return { status, running };
}
