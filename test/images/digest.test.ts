// The digest cache: a file is hashed once per stamp (device, inode, size, mtime), and vouches for a
// digest only for exactly that stamp, under any path (a hard link shares it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linkSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestCache, stampOf } from '../../src/images/digest.js';

const dir = mkdtempSync(join(tmpdir(), 'vman-digest-'));
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('a digest is remembered per stamp and saved; it vouches for that stamp only, under any path', async () => {
  const state = join(dir, 'state');
  mkdirSync(state);
  const file = join(dir, 'Image');
  writeFileSync(file, 'kernel bytes');
  const cache = await DigestCache.open(state);
  const stamp = await stampOf(file);
  assert.is(await cache.digest(file, stamp), sha('kernel bytes'));
  await cache.save();

  const again = await DigestCache.open(state);
  const link = join(dir, 'load-0-kernel.bin');
  linkSync(file, link);
  assert.ok(again.vouches(await stampOf(link), sha('kernel bytes')), 'the hard link has the stamp that was hashed');
  assert.not.ok(again.vouches(stamp, sha('other bytes')), 'another digest');
  writeFileSync(file, 'kernel byteZ');
  utimesSync(file, new Date(), new Date(Date.now() + 5_000));
  assert.not.ok(again.vouches(await stampOf(file), sha('kernel bytes')), 'written since: its mtime moved');
});

test.run();
