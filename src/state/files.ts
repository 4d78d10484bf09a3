// The state directory's file discipline: 0700 directories, 0600 files, every write atomic
// (temp file, fsync, rename, fsync the directory) so a crash leaves the old or the new file, never half.
import { promises as fs, constants, readFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { VmanError } from '../errors.js';

/** Creates a directory (and parents) with mode 0700; tightens an existing one we own. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.stat(dir);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) await fs.chmod(dir, 0o700);
}

/** fsyncs a directory so a rename inside it is durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a file atomically with mode 0600. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** Reads and parses a JSON file, or returns undefined when it does not exist. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    // Synchronous: state files are small and every reader waits for them.
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new VmanError(
      'backend',
      `state file ${file} is corrupt (${(err as Error).message}); ` +
        'restore it from a backup or remove the state directory',
      { cause: err },
    );
  }
}

/** Writes a file the user named (--out): atomically, with a clear error when it cannot. */
export async function writeUserFile(file: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(file, data);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? 'its directory does not exist'
        : e.code === 'EACCES'
          ? 'permission denied'
          : e.code === 'EISDIR'
            ? 'it is a directory'
            : e.message;
    throw new VmanError('usage', `cannot write ${file}: ${why}`, { cause: err });
  }
}
