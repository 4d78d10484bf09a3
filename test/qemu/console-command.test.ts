// `vman console` where there is nothing to boot: the sim backend has no console, and an unknown
// partition is named as such. (The QEMU suites read real consoles.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanup, tempConfig, vman, vmanJson, writePartition } from '../helpers/cli.js';

test('on sim, `vman console` says sim partitions have no console (exit 1), also in --json', () => {
  const dir = tempConfig();
  try {
    writePartition(dir, 'a', { cpus: [1] });
    assert.is(vman(dir, ['apply', '--auto-approve']).code, 0);
    const r = vman(dir, ['console', 'a']);
    assert.is(r.code, 1);
    assert.is(r.stdout, '');
    assert.is(
      r.stderr,
      'Error: sim partitions have no console: ' +
        'the sim backend runs no guest code. Use --backend qemu to boot partitions with a console\n',
    );
    const j = vmanJson<{ error: { message: string } }>(dir, ['console', 'a']);
    assert.is(j.code, 1);
    assert.match(j.json.error.message, /^sim partitions have no console/);
  } finally {
    cleanup(dir);
  }
});

test('on qemu, an unknown partition is refused by name (exit 1); NAME is required', () => {
  const dir = tempConfig();
  try {
    const r = vman(dir, ['console', 'nope', '--backend', 'qemu']);
    assert.is(r.code, 1);
    assert.is(r.stderr, 'Error: no live partition is called `nope`\n');
    const u = vman(dir, ['console', '--backend', 'qemu']);
    assert.is(u.code, 1);
    assert.match(u.stderr, 'usage: vman console NAME [--follow]');
  } finally {
    cleanup(dir);
  }
});

test.run();
