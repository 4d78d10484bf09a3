// What QEMU loads is put in the partition's directory first, so what it reads is provably the
// planned bytes: a hard link to an image nobody is writing (no copy at all), else a private copy.
import { promises as fs, constants as fsConstants, type BigIntStats } from 'node:fs';
import { createHash } from 'node:crypto';
import type { LoadItem } from '../../plan/types.js';
import { VmanError } from '../../errors.js';
import { sha256File, stampFrom, type FileStamp } from '../../images/digest.js';

/** An image last written longer ago than this is linked, not copied. */
export const STABLE_MS = 2_000;

export interface StageOptions {
  /** How long ago a file must have been last written to be linked (STABLE_MS). */
  readonly stableMs?: number;
  /** Whether the digest cache hashed a file of exactly this stamp to `sha256` (then it is not hashed again). */
  readonly known?: (stamp: FileStamp, sha256: string) => boolean;
}

// Puts what a load item needs at `to`, where QEMU loads it from; returns the check that QEMU read
// the planned bytes. A whole file is hard-linked where the filesystem allows: its check proves that
// nobody wrote to it from the link until QEMU had read it (its size and mtime stand; not its ctime,
// which another partition linking the same image changes), and hashes it unless the digest cache
// knows its stamp. Otherwise it is copied in the kernel (copy_file_range, or a reflink) and the
// private copy hashed. A range (an ELF segment) is cut out while the whole file is hashed.
export async function stageImage(item: LoadItem, to: string, o: StageOptions = {}): Promise<(started: Promise<unknown>) => Promise<void>> {
  const source = item.file;
  if (!source) throw new VmanError('apply', `${item.what} has no file to load`);
  const gone = (err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    return new VmanError('apply', `cannot load ${item.what} ${source}: ${e.code === 'ENOENT' ? 'the file no longer exists' : e.message}`);
  };
  const changed = (got: string) => new VmanError('apply', `${item.what} ${source} changed since the plan was made (sha256 ${got.slice(0, 12)}…, planned ${item.sha256.slice(0, 12)}…)`);
  const st = await fs.stat(source, { bigint: true }).catch((err: unknown) => {
    throw gone(err);
  });
  if (item.offset === 0 && st.size === BigInt(item.size)) {
    const linked = await link(source, to, st, o.stableMs ?? STABLE_MS);
    if (linked) {
      const known = o.known?.(stampFrom(linked), item.sha256) === true;
      return async (started) => {
        const got = known ? undefined : await sha256File(to);
        await started;
        const now = await fs.stat(to, { bigint: true }).catch(() => undefined);
        const same = now && now.ino === linked.ino && now.size === linked.size && now.mtimeNs === linked.mtimeNs;
        if (!same) throw new VmanError('apply', `${item.what} ${source} was written to while QEMU loaded it; apply again`);
        if (got && (got.sha256 !== item.sha256 || got.size !== item.size)) throw changed(got.sha256);
      };
    }
    await fs.copyFile(source, to, fsConstants.COPYFILE_FICLONE).catch((err: unknown) => {
      throw gone(err);
    });
    await fs.chmod(to, 0o600);
    return async () => {
      const got = await sha256File(to);
      if (got.sha256 !== item.sha256 || got.size !== item.size) throw changed(got.sha256);
    };
  }
  let src;
  try {
    src = await fs.open(source, 'r');
  } catch (err) {
    throw gone(err);
  }
  const dst = await fs.open(to, 'w', 0o600);
  const hash = createHash('sha256');
  const end = item.offset + item.size;
  let pos = 0;
  let copied = 0;
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      const from = Math.max(item.offset, pos);
      const until = Math.min(end, pos + bytesRead);
      if (until > from) {
        await dst.write(chunk, from - pos, until - from);
        copied += until - from;
      }
      pos += bytesRead;
    }
  } finally {
    await src.close();
    await dst.close();
  }
  const got = hash.digest('hex');
  if (got !== item.sha256 || copied !== item.size) {
    await fs.rm(to, { force: true });
    throw changed(got);
  }
  return async () => undefined;
}

/**
 * Hard-links `source` at `to` if that proves what QEMU reads: the file was last written more than
 * `stableMs` ago, so any later write changes its mtime, and it is the file that was stat'ed (`before`). Returns the link's stat, or undefined where a copy must do (another filesystem,
 * protected_hardlinks, a file written just now).
 */
async function link(source: string, to: string, before: BigIntStats, stableMs: number): Promise<BigIntStats | undefined> {
  if (before.mtimeNs > BigInt(Date.now() - stableMs) * 1_000_000n) return undefined;
  try {
    await fs.link(source, to);
  } catch {
    return undefined;
  }
  const after = await fs.stat(to, { bigint: true }).catch(() => undefined);
  if (after && after.ino === before.ino && after.dev === before.dev && after.size === before.size && after.mtimeNs === before.mtimeNs) return after;
  await fs.rm(to, { force: true });
  return undefined;
}
