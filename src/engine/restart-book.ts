// STATE/restarts.json: the restart policy's book (./restarts.ts), written atomically by the agent after
// each planning that changed it, read again when an agent starts and by `vman status` (restart counts).
import { join } from 'node:path';
import { readJson, writeFileAtomic } from '../state/files.js';
import { EMPTY_BOOK, type RestartBook, type RestartEntry } from './restarts.js';

export const RESTART_BOOK_FILE = 'restarts.json';

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

// Keeps what is well-formed of one entry; a damaged entry starts afresh rather than stopping the agent.
function entryOf(v: unknown): RestartEntry | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (!isCount(o.restarts) || !isCount(o.consecutive)) return undefined;
  const ending = (x: unknown) => (x === 'crashed' || x === 'shutdown' ? x : undefined);
  const policy = o.policy === 'Never' || o.policy === 'OnFailure' || o.policy === 'Always' ? o.policy : undefined;
  const ended = o.ended as Record<string, unknown> | undefined;
  const endedAs = ended && typeof ended === 'object' ? ending(ended.as) : undefined;
  const lastEnded = ending(o.lastEnded);
  return {
    restarts: o.restarts,
    consecutive: o.consecutive,
    ...(isTime(o.runningSince) ? { runningSince: o.runningSince } : {}),
    ...(isTime(o.lastRestartAt) ? { lastRestartAt: o.lastRestartAt } : {}),
    ...(lastEnded ? { lastEnded } : {}),
    ...(endedAs && ended && isTime(ended.at) ? { ended: { as: endedAs, at: ended.at } } : {}),
    ...(policy ? { policy } : {}),
    ...(isTime(o.restartAt) ? { restartAt: o.restartAt } : {}),
  };
}

/** The book in `stateDir`; empty when there is none (or it cannot be read: the agent starts afresh). */
export async function readRestartBook(stateDir: string): Promise<RestartBook> {
  let raw: unknown;
  try {
    raw = await readJson<unknown>(join(stateDir, RESTART_BOOK_FILE));
  } catch {
    return EMPTY_BOOK;
  }
  const parts = (raw as { partitions?: unknown } | undefined)?.partitions;
  if (!parts || typeof parts !== 'object') return EMPTY_BOOK;
  const partitions: Record<string, RestartEntry> = {};
  for (const [name, v] of Object.entries(parts)) {
    const e = entryOf(v);
    if (e) partitions[name] = e;
  }
  return { version: 1, partitions };
}

/** Saves the book atomically (temp file, fsync, rename). */
export async function writeRestartBook(stateDir: string, book: RestartBook): Promise<void> {
  await writeFileAtomic(join(stateDir, RESTART_BOOK_FILE), `${JSON.stringify(book, null, 1)}\n`);
}
