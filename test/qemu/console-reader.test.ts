// The console reader on a file written piecemeal, as QEMU's serial file is: whole lines only, CRLF
// and split UTF-8 handled, the last lines kept, a new boot's log read from its start. And the
// watcher that wakes a reader when QEMU writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleChanges, ConsoleReader, quoteLines } from '../../src/backends/qemu/console.js';

const dir = mkdtempSync(join(tmpdir(), 'vman-console-'));

test('lines arrive whole; a line being written waits (but is visible as pending); CR LF and CR CR LF are stripped', async () => {
  const f = join(dir, 'a.log');
  const r = new ConsoleReader(f);
  assert.equal(await r.lines(), [], 'no file yet');
  writeFileSync(f, 'OpenSBI v1.1\r\nBoot HART ID  : 2\r');
  assert.equal(await r.lines(), ['OpenSBI v1.1']);
  assert.is(r.pending(), 'Boot HART ID  : 2');
  appendFileSync(f, '\r\nVMAN-REA');
  assert.equal(await r.lines(), ['Boot HART ID  : 2']);
  appendFileSync(f, 'DY\nHit any key to stop autoboot:  2 ');
  assert.equal(await r.lines(), ['VMAN-READY']);
  assert.is(r.pending(), 'Hit any key to stop autoboot:  2 ');
  assert.equal(r.lastLines(), ['OpenSBI v1.1', 'Boot HART ID  : 2', 'VMAN-READY', 'Hit any key to stop autoboot:  2 ']);
  assert.equal(await r.lines(), [], 'nothing new');
});

test('a UTF-8 character split across writes is decoded once whole', async () => {
  const f = join(dir, 'b.log');
  const r = new ConsoleReader(f);
  const bytes = Buffer.from('température → ok\n', 'utf8');
  const cut = bytes.indexOf(0xe2) + 1; // inside the arrow's three bytes
  writeFileSync(f, bytes.subarray(0, cut));
  assert.equal(await r.lines(), []);
  appendFileSync(f, bytes.subarray(cut));
  assert.equal(await r.lines(), ['température → ok']);
});

test('only the last `keep` lines are kept for messages', async () => {
  const f = join(dir, 'c.log');
  const r = new ConsoleReader(f, 3);
  writeFileSync(f, 'a\nb\nc\nd\ne\n');
  assert.equal(await r.lines(), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(r.lastLines(), ['c', 'd', 'e']);
});

test('a log moved aside and started anew (a new boot) is read again from its start', async () => {
  const f = join(dir, 'd.log');
  const r = new ConsoleReader(f);
  writeFileSync(f, 'first boot, a long line of output\n');
  assert.is(await r.readNew(), 'first boot, a long line of output\n');
  renameSync(f, join(dir, 'd.prev.log'));
  writeFileSync(f, 'second boot, even longer than the first one was\n');
  assert.is(await r.readNew(), 'second boot, even longer than the first one was\n');
  writeFileSync(f, 'x\n'); // truncated in place
  assert.is(await r.readNew(), 'x\n');
});

test('changes: the first wait returns at once; a write wakes a waiter long before its timer; without a write the timer does', async () => {
  const f = join(dir, 'e.log');
  writeFileSync(f, '');
  const c = new ConsoleChanges(f);
  try {
    assert.ok(c.watching, 'a regular file can be watched');
    let t = Date.now();
    await c.next(10_000);
    assert.ok(Date.now() - t < 1_000, 'nothing read yet: no wait');
    t = Date.now();
    setTimeout(() => appendFileSync(f, 'VMAN-READY\n'), 50);
    await c.next(10_000);
    assert.ok(Date.now() - t < 5_000, `woken by the write after ${Date.now() - t} ms`);
    t = Date.now();
    await c.next(150);
    assert.ok(Date.now() - t >= 140, 'no write: the timer ends the wait');
    appendFileSync(f, 'more\n');
    await new Promise((r) => setTimeout(r, 100));
    t = Date.now();
    await c.next(10_000);
    assert.ok(Date.now() - t < 1_000, 'a write while nobody waited is not lost');
  } finally {
    c.close();
  }
});

test('changes: an abort ends the wait; a file that cannot be watched leaves only the timer', async () => {
  const f = join(dir, 'f.log');
  writeFileSync(f, '');
  const c = new ConsoleChanges(f);
  await c.next(0);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t = Date.now();
  await c.next(10_000, ac.signal);
  assert.ok(Date.now() - t < 5_000, 'the abort ended it');
  c.close();
  const none = new ConsoleChanges(join(dir, 'missing', 'g.log'));
  assert.not.ok(none.watching);
  await none.next(0);
  const u = Date.now();
  await none.next(100);
  assert.ok(Date.now() - u >= 90);
  none.close();
});

test('quoted lines for an error message: indented, control characters shown', () => {
  assert.is(quoteLines(['ok', 'bell\u0007', 'esc\u001b[0m']), '  | ok\n  | bell?\n  | esc?[0m');
  assert.is(quoteLines([]), '  (the console is empty)');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
