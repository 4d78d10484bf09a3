// A partition's RAM file (what QEMU maps shared) and what vman writes into it: the file is gone from
// its directory at once and zeroed, the planned bytes land at their offsets, an image whose bytes are
// not the planned ones (or that is written to while it is copied) is refused, an ELF segment is cut
// out of its file, and a digest the cache vouches for is not computed again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFile, copyImage, createRam, DEFAULT_RAM_DIR, writeBytes } from '../../src/backends/qemu/ram.js';
import { VmanError } from '../../src/errors.js';
import type { LoadItem } from '../../src/plan/types.js';

const dir = mkdtempSync(join(tmpdir(), 'vman-ram-'));
const ramDir = mkdtempSync(join(existsSync(DEFAULT_RAM_DIR) ? DEFAULT_RAM_DIR : tmpdir(), 'vman-ram-test-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const KiB = 1024;

function image(name: string, bytes: Buffer): { file: string; item: LoadItem } {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return { file, item: { what: 'kernel', file, offset: 0, size: bytes.length, addr: 0x4800_0000, sha256: sha(bytes) } };
}

/** The RAM as QEMU sees it: the file opened again through the descriptor vman holds. */
const seen = (fd: number, offset: number, length: number) =>
  readFileSync(`/proc/self/fd/${fd}`).subarray(offset, offset + length);

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, VmanError);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('it was accepted');
}

test(
  'the RAM is a zeroed file of the size asked for, ' +
    'already gone from its directory, 0600, reachable through its descriptor',
  async () => {
    const ram = await createRam(ramDir, 64 * KiB);
    try {
      assert.equal(readdirSync(ramDir), [], 'unlinked at once: nothing can be left behind');
      const st = await ram.stat();
      assert.is(st.size, 64 * KiB);
      assert.is(st.mode & 0o777, 0o600);
      assert.ok(seen(ram.fd, 0, 64 * KiB).every((b) => b === 0));
      await writeBytes(ram, 4 * KiB, Buffer.from('stub'));
      assert.is(seen(ram.fd, 4 * KiB, 4).toString(), 'stub');
    } finally {
      await ram.close();
    }
  },
);

test(
  'RAM in a directory that does not exist, or without room for the partition: ' +
    'a clear error that names VMAN_RAM_DIR, and no file',
  async () => {
    await rejects(
      createRam(join(dir, 'no-such-dir'), 4 * KiB),
      /cannot create the partition's RAM in .*no-such-dir.*set VMAN_RAM_DIR to a tmpfs directory/,
    );
    await rejects(
      createRam(ramDir, 4 * KiB, 2 ** 60),
      /has \d+ MiB free, and the partition's RAM needs \d+ MiB; free some, or set VMAN_RAM_DIR to a tmpfs directory with room/,
    );
    assert.equal(readdirSync(ramDir), []);
  },
);

test(
  'an image is copied to its offset and hashed on the way; ' + 'bytes that are not the planned ones are refused',
  async () => {
    const bytes = Buffer.alloc(300 * KiB, 7);
    bytes.write('kernel header', 0);
    const { item } = image('a.img', bytes);
    const ram = await createRam(ramDir, 1024 * KiB);
    try {
      await copyImage(ram, 512 * KiB, item);
      assert.equal(seen(ram.fd, 512 * KiB, bytes.length), bytes);
      assert.ok(
        seen(ram.fd, 0, 512 * KiB).every((b) => b === 0),
        'nothing written before it',
      );
      await rejects(
        copyImage(ram, 0, { ...item, sha256: sha(Buffer.from('another kernel')) }),
        /kernel .*a\.img changed since the plan was made \(sha256 [0-9a-f]{12}…, planned [0-9a-f]{12}…\)/,
      );
    } finally {
      await ram.close();
    }
  },
);

test(
  "a digest the cache vouches for (by the file's stamp) is not computed again; " + 'a write while copying is caught',
  async () => {
    const { file, item } = image('k.img', Buffer.alloc(8 * KiB, 9));
    const ram = await createRam(ramDir, 64 * KiB);
    try {
      // The cache vouches for a digest the bytes do not have: the copy passes, so it did not hash them.
      const planned = { ...item, sha256: sha(Buffer.from('what the cache says')) };
      const asked: string[] = [];
      await copyImage(ram, 0, planned, { known: (stamp, sha256) => (asked.push(`${stamp.size} ${sha256}`), true) });
      assert.equal(asked, [`${8 * KiB} ${planned.sha256}`]);
      assert.equal(seen(ram.fd, 0, 8 * KiB), Buffer.alloc(8 * KiB, 9));
      await rejects(copyImage(ram, 0, planned, { known: () => false }), /k\.img changed since the plan was made/);
      // Someone appends to the image while it is being copied: its stamp no longer stands.
      await rejects(
        copyImage(ram, 0, item, { known: () => (appendFileSync(file, 'more'), true) }),
        /k\.img was written to while it was loaded; apply again/,
      );
    } finally {
      await ram.close();
    }
  },
);

test('an ELF segment is cut out of its file (the whole file hashed) and lands at its own offset', async () => {
  const whole = Buffer.concat([Buffer.alloc(100, 1), Buffer.from('SEGMENT-BYTES'), Buffer.alloc(5 * 1024 * 1024, 2)]);
  const { item } = image('rtos.elf', whole);
  const segment: LoadItem = { ...item, what: 'segment', offset: 100, size: 13, addr: 0x4000_2000 };
  const ram = await createRam(ramDir, 64 * KiB);
  try {
    await copyImage(ram, 0x2000, segment);
    assert.is(seen(ram.fd, 0x2000, 13).toString(), 'SEGMENT-BYTES');
    assert.ok(
      seen(ram.fd, 0x2000 + 13, 16).every((b) => b === 0),
      'not a byte past the segment',
    );
    await copyImage(ram, 0x3000, segment, { known: () => true });
    assert.is(seen(ram.fd, 0x3000, 13).toString(), 'SEGMENT-BYTES');
  } finally {
    await ram.close();
  }
});

test('an image that is gone or shorter than planned is refused; firmware is copied whole', async () => {
  const { file, item } = image('short.img', Buffer.alloc(4 * KiB, 3));
  const ram = await createRam(ramDir, 64 * KiB);
  try {
    await rejects(
      copyImage(ram, 0, { ...item, file: join(dir, 'missing.img') }),
      /cannot load kernel .*missing\.img: the file no longer exists/,
    );
    await rejects(copyImage(ram, 0, { ...item, size: 8 * KiB }), /short\.img changed since the plan was made/);
    await copyFile(ram, 16 * KiB, file);
    assert.equal(seen(ram.fd, 16 * KiB, 4 * KiB), Buffer.alloc(4 * KiB, 3));
  } finally {
    await ram.close();
  }
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(ramDir, { recursive: true, force: true });
});

test.run();
