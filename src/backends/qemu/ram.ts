// A partition's RAM under the QEMU backend: a file in a tmpfs that QEMU maps shared
// (memory-backend-file, share=on) and that vman writes the boot files into, as a partitioning
// monitor's loader writes into a partition's memory. It is unlinked the moment it is created, so the
// open descriptors (vman's while it loads, QEMU's for its life) are all that hold it: nothing is
// left behind, whatever is killed when. QEMU builds its machine while vman writes.
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { LoadItem } from '../../plan/types.js';
import { VmanError } from '../../errors.js';
import { sameStamp, stampFrom, type FileStamp } from '../../images/digest.js';

/** Where partitions' RAM files are made unless VMAN_RAM_DIR says otherwise: a tmpfs on every Linux. */
export const DEFAULT_RAM_DIR = '/dev/shm';
const CHUNK = 4 * 1024 * 1024;

/**
 * Creates `size` bytes of zeroed RAM in `dir` (a tmpfs: guest RAM must never be written back to a
 * disk). The file is sparse; `touched` bytes of it (the partition's own memory) must fit in what the
 * filesystem has free, or the guest would die of SIGBUS the moment it runs out.
 */
export async function createRam(dir: string, size: number, touched = size): Promise<FileHandle> {
  const path = join(dir, `vman-ram-${process.pid}-${randomBytes(6).toString('hex')}`);
  const room = await fs.statfs(dir).then(
    (st) => st.bavail * st.bsize,
    () => undefined,
  );
  if (room !== undefined && room < touched) {
    throw new VmanError(
      'apply',
      `${dir} has ${mib(room)} MiB free, and the partition's RAM needs ${mib(touched)} MiB; ` +
        'free some, or set VMAN_RAM_DIR to a tmpfs directory with room',
    );
  }
  let fh: FileHandle;
  try {
    fh = await fs.open(path, 'wx+', 0o600);
  } catch (err) {
    throw new VmanError(
      'apply',
      `cannot create the partition's RAM in ${dir}: ${(err as Error).message}; set VMAN_RAM_DIR to a tmpfs directory`,
    );
  }
  try {
    await fs.unlink(path);
    await fh.truncate(size);
  } catch (err) {
    await fh.close();
    await fs.rm(path, { force: true });
    throw new VmanError(
      'apply',
      `cannot make ${mib(size)} MiB of RAM in ${dir}: ${(err as Error).message}; ` +
        'set VMAN_RAM_DIR to a tmpfs directory with room',
    );
  }
  return fh;
}

const mib = (bytes: number) => Math.floor(bytes / 2 ** 20);

/** Writes all of `bytes` at `offset`. */
export async function writeBytes(ram: FileHandle, offset: number, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    const { bytesWritten } = await ram.write(bytes, done, bytes.length - done, offset + done);
    done += bytesWritten;
  }
}

export interface CopyOptions {
  /** Whether the digest cache hashed a file of exactly this stamp to `sha256` (then it is not hashed again). */
  readonly known?: (stamp: FileStamp, sha256: string) => boolean;
  /** Told how many more of the item's bytes are in the RAM, as they are copied. */
  readonly copied?: (bytes: number) => void;
}

// Copies a load item's bytes from its file into the RAM at `offset` and proves they are the planned
// ones: the whole file is hashed as it is read (a segment is cut out of it), unless the digest cache
// knows the file's stamp and the stamp still stands once the bytes are in.
export async function copyImage(ram: FileHandle, offset: number, item: LoadItem, o: CopyOptions = {}): Promise<void> {
  const source = item.file;
  if (!source) throw new VmanError('apply', `${item.what} has no file to load`);
  let src: FileHandle;
  try {
    src = await fs.open(source, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new VmanError(
      'apply',
      `cannot load ${item.what} ${source}: ${e.code === 'ENOENT' ? 'the file no longer exists' : e.message}`,
      { reason: 'input-changed' },
    );
  }
  try {
    const before = stampFrom(await src.stat({ bigint: true }));
    const known = o.known?.(before, item.sha256) === true;
    const hash = known ? undefined : createHash('sha256');
    // Known bytes need only the range; unknown ones are hashed whole.
    const end = item.offset + item.size;
    let pos = known ? item.offset : 0;
    let copied = 0;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const want = known ? Math.min(CHUNK, end - pos) : CHUNK;
      if (want <= 0) break;
      const { bytesRead } = await src.read(buf, 0, want, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash?.update(chunk);
      const from = Math.max(item.offset, pos);
      const until = Math.min(end, pos + bytesRead);
      if (until > from) {
        await writeBytes(ram, offset + from - item.offset, chunk.subarray(from - pos, until - pos));
        copied += until - from;
        o.copied?.(until - from);
      }
      pos += bytesRead;
    }
    if (hash) {
      const got = hash.digest('hex');
      if (got !== item.sha256 || copied !== item.size) {
        throw new VmanError(
          'apply',
          `${item.what} ${source} changed since the plan was made ` +
            `(sha256 ${got.slice(0, 12)}…, planned ${item.sha256.slice(0, 12)}…)`,
          { reason: 'input-changed' },
        );
      }
    } else if (copied !== item.size || !sameStamp(before, stampFrom(await src.stat({ bigint: true })))) {
      throw new VmanError('apply', `${item.what} ${source} was written to while it was loaded; apply again`, {
        reason: 'input-changed',
      });
    }
  } finally {
    await src.close();
  }
}

/** Copies a whole host file (firmware) into the RAM at `offset`. */
export async function copyFile(ram: FileHandle, offset: number, file: string): Promise<void> {
  await writeBytes(ram, offset, await fs.readFile(file));
}
