// The CLI's own output (src/cli/io.ts): straight to file descriptors 1 and 2, complete on pipes,
// quiet when the reader goes away, and colour only where a terminal is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/cli.js';

const IO = pathToFileURL(join(ROOT, 'dist', 'cli', 'io.js')).href;

// A process that writes `chunks` × 100 kB through processIO, then a last line on stderr.
const writer = (chunks: number) =>
  `const { processIO } = await import(${JSON.stringify(IO)}); const io = processIO(); ` +
  `for (let i = 0; i < ${chunks}; i++) io.out(String(i % 10).repeat(100000)); io.err('wrote all\\n');`;

test('everything written reaches a pipe, in order, however large', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', writer(40)], {
    encoding: 'latin1',
    maxBuffer: 64 * 2 ** 20,
  });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.length, 40 * 100000);
  for (let i = 0; i < 40; i++) assert.is(r.stdout[i * 100000], String(i % 10));
  assert.is(r.stderr, 'wrote all\n');
});

test('a reader that goes away ends the output quietly: exit 0, only what the command says on stderr', async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', writer(100)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  // Read the first chunk, then close our end (as `vman plan | head -1` does).
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.is(code, 0, err);
  assert.is(err, 'wrote all\n');
});

test('a pipe and a file are no terminal', () => {
  const probe =
    `const { processIO } = await import(${JSON.stringify(IO)}); const io = processIO(); ` +
    'process.stderr.write(JSON.stringify([io.outStream.isTTY, io.errStream.isTTY]));';
  // stdout to a file, stderr to a pipe.
  const dir = mkdtempSync(join(tmpdir(), 'vman-io-'));
  const out = openSync(join(dir, 'out'), 'w');
  try {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
      encoding: 'utf8',
      stdio: ['ignore', out, 'pipe'],
    });
    assert.is(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stderr), [false, false]);
  } finally {
    closeSync(out);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
