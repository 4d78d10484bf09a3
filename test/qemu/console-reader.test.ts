// The console reader on a file written piecemeal, as QEMU's serial file is: whole lines only, CRLF
// and split UTF-8 handled, the last lines kept, a new boot's log read from its start.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleReader, quoteLines } from '../../src/backends/qemu/console.js';

const dir = mkdtempSync(join(tmpdir(), 'vman-console-'));

test(
  'lines arrive whole; a line being written waits (but is visible as pending); ' + 'CR LF and CR CR LF are stripped',
  () => {
    const f = join(dir, 'a.log');
    const r = new ConsoleReader(f);
    assert.equal(r.lines(), [], 'no file yet');
    writeFileSync(f, 'OpenSBI v1.1\r\nBoot HART ID  : 2\r');
    assert.equal(r.lines(), ['OpenSBI v1.1']);
    assert.is(r.pending(), 'Boot HART ID  : 2');
    appendFileSync(f, '\r\nVMAN-REA');
    assert.equal(r.lines(), ['Boot HART ID  : 2']);
    appendFileSync(f, 'DY\nHit any key to stop autoboot:  2 ');
    assert.equal(r.lines(), ['VMAN-READY']);
    assert.is(r.pending(), 'Hit any key to stop autoboot:  2 ');
    assert.equal(r.lastLines(), [
      'OpenSBI v1.1',
      'Boot HART ID  : 2',
      'VMAN-READY',
      'Hit any key to stop autoboot:  2 ',
    ]);
    assert.equal(r.lines(), [], 'nothing new');
  },
);

test('a UTF-8 character split across writes is decoded once whole', () => {
  const f = join(dir, 'b.log');
  const r = new ConsoleReader(f);
  const bytes = Buffer.from('température → ok\n', 'utf8');
  const cut = bytes.indexOf(0xe2) + 1; // inside the arrow's three bytes
  writeFileSync(f, bytes.subarray(0, cut));
  assert.equal(r.lines(), []);
  appendFileSync(f, bytes.subarray(cut));
  assert.equal(r.lines(), ['température → ok']);
});

test('only the last `keep` lines are kept for messages', () => {
  const f = join(dir, 'c.log');
  const r = new ConsoleReader(f, 3);
  writeFileSync(f, 'a\nb\nc\nd\ne\n');
  assert.equal(r.lines(), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(r.lastLines(), ['c', 'd', 'e']);
});

test('a log moved aside and started anew (a new boot) is read again from its start', () => {
  const f = join(dir, 'd.log');
  const r = new ConsoleReader(f);
  writeFileSync(f, 'first boot, a long line of output\n');
  assert.is(r.readNew(), 'first boot, a long line of output\n');
  renameSync(f, join(dir, 'd.prev.log'));
  writeFileSync(f, 'second boot, even longer than the first one was\n');
  assert.is(r.readNew(), 'second boot, even longer than the first one was\n');
  writeFileSync(f, 'x\n'); // truncated in place
  assert.is(r.readNew(), 'x\n');
  r.close();
  assert.is(r.readNew(), 'x\n', 'closed, it opens the file again from its start');
});

test('quoted lines for an error message: indented, control characters shown', () => {
  assert.is(quoteLines(['ok', 'bell\u0007', 'esc\u001b[0m']), '  | ok\n  | bell?\n  | esc?[0m');
  assert.is(quoteLines([]), '  (the console is empty)');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
