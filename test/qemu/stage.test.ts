// Staging a load item for QEMU: an image nobody is writing is hard-linked (same inode, no copy), a
// fresh one copied privately; the check fails when the bytes are not the planned ones or the linked
// file was written before QEMU had read it; an ELF segment is cut out of its file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageImage } from '../../src/backends/qemu/stage.js';
import { VmanError } from '../../src/errors.js';
import type { LoadItem } from '../../src/plan/types.js';

const dir = mkdtempSync(join(tmpdir(), 'vman-stage-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** An image file last written `ageS` seconds ago, and its load item. */
function image(name: string, bytes: Buffer, ageS: number): { file: string; item: LoadItem } {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const t = Date.now() / 1000 - ageS;
  utimesSync(file, t, t);
  return { file, item: { what: 'kernel', file, offset: 0, size: bytes.length, addr: 0x4800_0000, sha256: sha(bytes) } };
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, VmanError);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('the check passed');
}

test('an image last written long ago is hard-linked: the same inode, and the check passes once QEMU started', async () => {
  const { file, item } = image('a.img', Buffer.alloc(100_000, 7), 60);
  const to = join(dir, 'load-0-kernel.bin');
  const check = await stageImage(item, to);
  assert.is(statSync(to).ino, statSync(file).ino);
  await check(Promise.resolve());
});

test('a linked image whose stamp the digest cache knows is not hashed again; the stamp is the source file\'s', async () => {
  const { file, item } = image('k.img', Buffer.alloc(8192, 9), 60);
  const st = statSync(file, { bigint: true });
  const asked: unknown[] = [];
  // The cache vouches for a digest the bytes do not have: the check passes, so it did not hash them.
  const planned = { ...item, sha256: sha(Buffer.from('what the cache says')) };
  const check = await stageImage(planned, join(dir, 'load-k.bin'), { known: (stamp, sha256) => (asked.push({ stamp, sha256 }), true) });
  await check(Promise.resolve());
  assert.equal(asked, [{ stamp: { dev: Number(st.dev), ino: Number(st.ino), size: 8192, mtimeNs: st.mtimeNs.toString() }, sha256: planned.sha256 }]);
  const unknown = await stageImage(planned, join(dir, 'load-k2.bin'), { known: () => false });
  await rejects(unknown(Promise.resolve()), /k\.img changed since the plan was made/);
});

test('an image written just now is copied: its own inode, mode 0600, the planned bytes', async () => {
  const bytes = Buffer.from('a kernel built a moment ago');
  const { file, item } = image('b.img', bytes, 0);
  const to = join(dir, 'load-b.bin');
  const check = await stageImage(item, to);
  assert.is.not(statSync(to).ino, statSync(file).ino);
  assert.is(statSync(to).mode & 0o777, 0o600);
  assert.equal(readFileSync(to), bytes);
  await check(Promise.resolve());
});

test('a linked image written to before QEMU had read it fails the check, even when its size stays', async () => {
  const { file, item } = image('c.img', Buffer.alloc(4096, 1), 60);
  const check = await stageImage(item, join(dir, 'load-c.bin'));
  let start!: () => void;
  const started = new Promise<void>((r) => (start = r));
  const verdict = check(started);
  writeFileSync(file, Buffer.alloc(4096, 2));
  start();
  await rejects(verdict, /c\.img was written to while QEMU loaded it/);
});

test('bytes that are not the planned ones fail the check, linked or copied', async () => {
  const old = image('d.img', Buffer.alloc(4096, 3), 60);
  await rejects((await stageImage({ ...old.item, sha256: sha(Buffer.from('other')) }, join(dir, 'load-d.bin')))(Promise.resolve()), /d\.img changed since the plan was made/);
  const fresh = image('e.img', Buffer.alloc(4096, 4), 0);
  await rejects((await stageImage({ ...fresh.item, sha256: sha(Buffer.from('other')) }, join(dir, 'load-e.bin')))(Promise.resolve()), /e\.img changed since the plan was made/);
});

test('a file that grew since the plan is refused as it is staged; a missing one is named', async () => {
  const { file, item } = image('f.img', Buffer.alloc(4096, 5), 60);
  appendFileSync(file, 'more');
  await rejects(stageImage(item, join(dir, 'load-f.bin')), /f\.img changed since the plan was made/);
  await rejects(stageImage({ ...item, file: join(dir, 'nope.img') }, join(dir, 'load-g.bin')), /nope\.img: the file no longer exists/);
});

test('an ELF segment is cut out of its file while the whole file is hashed', async () => {
  const bytes = Buffer.concat([Buffer.alloc(64, 0xee), Buffer.from('SEGMENT'), Buffer.alloc(32, 0xdd)]);
  const { item } = image('h.elf', bytes, 60);
  const to = join(dir, 'load-h.bin');
  const check = await stageImage({ ...item, what: 'segment', offset: 64, size: 7 }, to);
  assert.is(readFileSync(to, 'latin1'), 'SEGMENT');
  await check(Promise.resolve());
  await rejects(stageImage({ ...item, what: 'segment', offset: 64, size: 7, sha256: sha(Buffer.from('x')) }, join(dir, 'load-i.bin')), /h\.elf changed since the plan was made/);
});

test.run();
