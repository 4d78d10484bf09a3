// SHA-256 of image files: streamed in large reads (OpenSSL does the hashing), and cached by
// path, device, inode, size and mtime so an unchanged 1 GiB image is not hashed by every plan.
import { createHash } from 'node:crypto';
import { promises as fs, constants, existsSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeFileAtomic } from '../state/files.js';

const CHUNK = 4 * 1024 * 1024;

/**
 * Hashes a whole file. The file must be a regular file (checked by the caller). The next chunk is
 * read (on libuv's thread pool) while the current one is hashed, so reading and hashing overlap.
 */
export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const fh = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const hash = createHash('sha256');
    const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let size = 0;
    let i = 0;
    let pending = fh.read(bufs[0] as Buffer, 0, CHUNK, null);
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      size += bytesRead;
      i ^= 1;
      pending = fh.read(bufs[i] as Buffer, 0, CHUNK, null);
      hash.update(bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead));
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    await fh.close();
  }
}

/** What identifies a file's content cheaply. */
export interface FileStamp {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeNs: string;
}

interface CacheEntry extends FileStamp {
  readonly sha256: string;
}

/** The digest cache in the state directory (`cache/digests.json`). */
export class DigestCache {
  private entries = new Map<string, CacheEntry>();
  private dirty = false;

  private constructor(private readonly file: string | undefined) {}

  /** Opens the cache in `stateDir`, or an in-memory one when there is no state directory yet. */
  static async open(stateDir: string | undefined): Promise<DigestCache> {
    const file = stateDir ? join(stateDir, 'cache', 'digests.json') : undefined;
    const c = new DigestCache(file);
    if (file) {
      try {
        const data = await readJson<Record<string, CacheEntry>>(file);
        for (const [k, v] of Object.entries(data ?? {})) c.entries.set(k, v);
      } catch {
        // A corrupt cache only costs re-hashing.
      }
    }
    return c;
  }

  /**
   * The digest for a file whose stamp is known, hashing only when the stamp changed. `content`, when
   * the caller already read the whole file, is hashed instead of reading it again.
   */
  async digest(path: string, stamp: FileStamp, content?: Uint8Array): Promise<string> {
    const hit = this.entries.get(path);
    if (hit && sameStamp(hit, stamp)) return hit.sha256;
    const sha256 =
      content !== undefined && content.length === stamp.size ? sha256Hex(content) : (await sha256File(path)).sha256;
    this.entries.set(path, { ...stamp, sha256 });
    this.dirty = true;
    return sha256;
  }

  /**
   * Whether a file with exactly this stamp was hashed to `sha256`, whatever its path (a hard link
   * shares the stamp): then its bytes are those, as every plan that uses the cache assumes.
   */
  vouches(stamp: FileStamp, sha256: string): boolean {
    for (const e of this.entries.values()) if (e.sha256 === sha256 && sameStamp(e, stamp)) return true;
    return false;
  }

  /** Writes the cache back if it changed (only when the state directory exists). */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    // Never creates the state directory itself: plan and validate must not make state.
    if (!existsSync(join(this.file, '..', '..'))) return;
    try {
      await fs.mkdir(join(this.file, '..'), { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)));
      this.dirty = false;
    } catch {
      // Read-only state (plan run by another user, say): the cache is an optimisation only.
    }
  }
}

/** Whether two stamps name the same content (same file, size and mtime). */
export const sameStamp = (a: FileStamp, b: FileStamp) =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;

/** A file's stamp from a bigint stat (for the nanosecond mtime). */
export function stampFrom(st: BigIntStats): FileStamp {
  return { dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString() };
}

/** The stamp of a file from its stat. */
export async function stampOf(file: string): Promise<FileStamp & { isFile: boolean }> {
  const st = statSync(file, { bigint: true });
  return { ...stampFrom(st), isFile: st.isFile() };
}

/** SHA-256 of bytes or a string, as lower-case hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
