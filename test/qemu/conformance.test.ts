// `vman provider test "vman provider serve qemu"`: the conformance suite against the QEMU backend
// behind the protocol, which really boots the suite's bare-metal images (each prints its ready line
// on its partition's UART). Every requirement passes, and no QEMU is left running.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { requireTools } from './support.js';
import { runConformance } from '../../src/providers/conformance/index.js';
import { lastingLeftoversUnder } from '../../src/providers/conformance/leftovers.js';
import { vmanCommand } from '../../src/cli/version.js';

const p = requireTools('qemu/conformance', { tools: ['qemu-system-aarch64'] });

if (p) {
  test('`vman provider serve qemu` passes every requirement; nothing is left running', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'vman-conformance-qemu-'));
    const lines: string[] = [];
    try {
      const r = await runConformance({
        provider: 'vman provider serve qemu',
        cwd: ROOT,
        env: process.env,
        vman: vmanCommand(),
        out: (line) => lines.push(line),
        tmpDir: tmp,
      });
      assert.equal(
        lines.filter((l) => l.startsWith('FAIL')),
        [],
        `${r.failed} failed`,
      );
      // QEMU boots the images: the checks that need a console or a power button ran.
      assert.equal(
        r.checks.filter((c) => c.outcome === 'skipped').map((c) => c.requirement),
        [],
      );
      assert.equal(readdirSync(tmp), []);
      assert.equal(await lastingLeftoversUnder(tmp, 2000), []);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test.run();
