// The I/O edge for the files manifests name: kernels, initrds, images, overlays. Each becomes a
// FileFact (size, digest, the bytes needed to describe it) or a diagnostic at the manifest field.
import { closeSync, constants, openSync, readSync, realpathSync } from 'node:fs';
import type { PartitionSpec } from '../manifest/types.js';
import { fieldPosition } from '../manifest/types.js';
import type { Diagnostic } from '../rules/diagnostic.js';
import { CODES } from '../rules/codes.js';
import { type DigestCache, stampOf } from '../images/digest.js';
import { isInside } from '../manifest/paths.js';

/** Enough of an image to identify it: headers, ELF program headers. */
export const HEAD_BYTES = 64 * 1024;
/** Overlays are read whole; larger ones are refused. */
export const MAX_OVERLAY_BYTES = 1024 * 1024;

export interface FileFact {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** The first HEAD_BYTES (or the whole file for overlays). */
  readonly head: Uint8Array;
  /** Reads more bytes of the file (ELF program headers beyond the head, say). */
  readonly read: (offset: number, length: number) => Promise<Uint8Array>;
}

/** The files a partition names, with the manifest field each comes from. */
export function filesOf(
  spec: PartitionSpec,
): { path: string; field: string; key: 'kernel' | 'initrd' | 'image' | 'overlay' }[] {
  const b = spec.boot;
  const out: { path: string; field: string; key: 'kernel' | 'initrd' | 'image' | 'overlay' }[] = [];
  if (b.kind === 'kernel') {
    out.push({ path: b.kernel, field: 'spec.boot.kernel', key: 'kernel' });
    if (b.initrd) out.push({ path: b.initrd, field: 'spec.boot.initrd', key: 'initrd' });
  } else out.push({ path: b.image, field: 'spec.boot.image', key: 'image' });
  b.overlays.forEach((o, i) => out.push({ path: o, field: `spec.boot.overlays.${i}`, key: 'overlay' }));
  return out;
}

// Synchronous: these are small reads a command waits for anyway (see manifest/load.ts).
async function readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = new Uint8Array(length);
    let n = 0;
    while (n < length) {
      const bytesRead = readSync(fd, buf, n, length - n, offset + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Inspects every file the partitions name (each path once). Checks: inside --image-root (after
 * resolving symlinks), exists, a regular non-empty file (never a FIFO or a device), overlay size,
 * sha256 pins. Problems point at the manifest field that names the file.
 */
export async function inspectFiles(
  specs: readonly PartitionSpec[],
  cache: DigestCache,
  imageRoot: string | undefined,
): Promise<{ facts: Map<string, FileFact>; problems: Diagnostic[] }> {
  const facts = new Map<string, FileFact>();
  // A failure is kept per path and worded per use: one file can be a kernel here and an image there.
  const failed = new Map<string, { code: string; message: (key: string) => string; hint?: string }>();
  const problems: Diagnostic[] = [];
  const rootReal = imageRoot ? realOr(imageRoot) : undefined;
  for (const spec of specs) {
    for (const { path, field, key } of filesOf(spec)) {
      if (!facts.has(path) && !failed.has(path)) {
        const r = await inspectOne(path, key, cache, rootReal);
        if ('fact' in r) facts.set(path, r.fact);
        else failed.set(path, r);
      }
      const bad = failed.get(path);
      const position = fieldPosition(spec, field);
      if (bad) {
        problems.push({
          code: bad.code,
          message: bad.message(key),
          position,
          partition: spec.name,
          ...(bad.hint ? { hint: bad.hint } : {}),
        });
        continue;
      }
      const fact = facts.get(path);
      const pin = key === 'overlay' ? undefined : (spec.boot.sha256 as Record<string, string | undefined>)[key];
      if (fact && pin && pin !== fact.sha256) {
        problems.push({
          code: CODES.imageDigestMismatch,
          message: `${key} ${path} has sha256 ${fact.sha256}, but the manifest pins ${pin}`,
          position: fieldPosition(spec, `spec.boot.sha256.${key}`),
          partition: spec.name,
          hint: 'the file was replaced or tampered with; restore it, or update the pin if the change is intended',
        });
      }
    }
  }
  await cache.save();
  return { facts, problems };
}

async function inspectOne(
  path: string,
  key: string,
  cache: DigestCache,
  rootReal: string | undefined,
): Promise<{ fact: FileFact } | { code: string; message: (key: string) => string; hint?: string }> {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT')
      return {
        code: CODES.imageMissing,
        message: (as) => `${as} ${path} does not exist`,
        hint: 'check the path; relative paths are relative to the manifest file',
      };
    return {
      code: CODES.imageUnreadable,
      message: (as) => `cannot read ${as} ${path}: ${e.code === 'EACCES' ? 'permission denied' : e.message}`,
    };
  }
  if (rootReal && !isInside(rootReal, real)) {
    return {
      code: CODES.imageOutsideRoot,
      message: (as) => `${as} ${path}${real !== path ? ` (${real})` : ''} lies outside the image root ${rootReal}`,
      hint: 'put images under the image root, or change --image-root',
    };
  }
  let stamp;
  try {
    stamp = await stampOf(real);
  } catch (err) {
    return { code: CODES.imageUnreadable, message: (as) => `cannot read ${as} ${path}: ${(err as Error).message}` };
  }
  if (!stamp.isFile)
    return {
      code: CODES.imageNotFile,
      message: (as) => `${as} ${path} is not a regular file (a device, FIFO or directory cannot be loaded)`,
    };
  if (stamp.size === 0) return { code: CODES.imageEmpty, message: (as) => `${as} ${path} is empty` };
  if (key === 'overlay' && stamp.size > MAX_OVERLAY_BYTES)
    return {
      code: CODES.overlayInvalid,
      message: () => `overlay ${path} is ${stamp.size} bytes; overlays may be at most ${MAX_OVERLAY_BYTES} bytes`,
    };
  try {
    const head = await readRange(real, 0, key === 'overlay' ? stamp.size : Math.min(HEAD_BYTES, stamp.size));
    // A file no larger than its head was just read whole: hash those bytes rather than read it again.
    const sha256 = await cache.digest(real, stamp, head.length === stamp.size ? head : undefined);
    return { fact: { path, size: stamp.size, sha256, head, read: (o, l) => readRange(real, o, l) } };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      code: CODES.imageUnreadable,
      message: (as) => `cannot read ${as} ${path}: ${e.code === 'EACCES' ? 'permission denied' : e.message}`,
    };
  }
}
