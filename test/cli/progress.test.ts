// How an apply's events read: one line per event naming its partition; on a terminal, the partitions
// in flight drawn below the lines and redrawn in place, a load's bytes as they are copied.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable } from 'node:stream';
import type { CommandIO } from '../../src/cli/io.js';
import { terminalReporter } from '../../src/cli/render/progress.js';
import type { Step } from '../../src/plan/types.js';

function io(isTTY: boolean, env: NodeJS.ProcessEnv = {}): CommandIO & { text: () => string } {
  let out = '';
  return {
    out: (s) => void (out += s),
    outBytes: () => undefined,
    err: (s) => void (out += s),
    outStream: { isTTY },
    errStream: { isTTY },
    stdin: Readable.from([]) as unknown as CommandIO['stdin'],
    env: { NO_COLOR: '1', ...env },
    cwd: '/',
    text: () => out,
  };
}

const load = (partition: string): Step => ({
  id: `${partition}/load`,
  partition,
  after: [],
  kind: 'load',
  items: [],
});

const ESC = String.fromCharCode(27);
/** "N lines up, then erase to the end of the screen", as the live view writes it. */
const ERASE = new RegExp(`(${ESC}\\[\\d+F${ESC}\\[J)`);

/** What a terminal shows once the control sequences have done their work. */
function screen(text: string): string[] {
  const lines: string[] = [];
  for (const part of text.split(ERASE)) {
    const up = new RegExp(`^${ESC}\\[(\\d+)F${ESC}\\[J$`).exec(part);
    if (up) lines.splice(lines.length - Number(up[1]));
    else lines.push(...part.split('\n').filter((l, i, all) => i < all.length - 1 || l !== ''));
  }
  return lines;
}

test('on a terminal the steps in flight are drawn below the lines, with bytes, and gone once done', () => {
  const t = io(true);
  const report = terminalReporter(t, false);
  report({ type: 'step-start', step: load('a') });
  report({ type: 'step-start', step: load('b') });
  report({ type: 'step-bytes', step: load('a'), done: 8 * 1024 * 1024, total: 32 * 1024 * 1024 });
  assert.equal(screen(t.text()), ['a: load…', 'b: load…', '  … a: load 0s 8.0 MiB / 32.0 MiB', '  … b: load 0s']);
  report({ type: 'step-done', step: load('a'), ms: 1200 });
  report({ type: 'step-done', step: load('b'), ms: 1300 });
  assert.equal(screen(t.text()), ['a: load…', 'b: load…', 'a: load done 1.20s', 'b: load done 1.30s']);
});

test('not on a terminal, under TERM=dumb, or for --json: lines only, no control sequences', () => {
  for (const t of [io(false), io(true, { TERM: 'dumb' })]) {
    const report = terminalReporter(t, false);
    report({ type: 'step-start', step: load('a') });
    report({ type: 'step-bytes', step: load('a'), done: 1, total: 2 });
    report({ type: 'step-done', step: load('a'), ms: 10 });
    assert.is(t.text(), 'a: load…\na: load done 0.01s\n');
  }
  const j = io(true);
  terminalReporter(j, true)({ type: 'step-start', step: load('a') });
  assert.is(j.text(), '');
});

test.run();
