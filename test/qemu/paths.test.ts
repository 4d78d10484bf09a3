// State paths QEMU and unix sockets find awkward: a comma (QEMU's option separator) and a space in
// the state directory, and a path too long for a socket address (sun_path holds 108 bytes).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, tempConfig, vman, vmanJson } from '../helpers/cli.js';
import { manifest, requireTools, qemuProcessesUnder, type StatusJson } from './support.js';

const SUN_PATH = 108;
const p = requireTools('qemu/paths', {
  payloads: ['uboot-riscv64-smode', 'opensbi-fw-dynamic'],
  tools: ['qemu-system-riscv64'],
});

if (p) {
  test('a state directory with a comma and a space, deeper than a socket address allows, works end to end', () => {
    const dir = tempConfig();
    try {
      const state = join(dir, 'state, with comma', 'x'.repeat(80));
      mkdirSync(state, { recursive: true });
      assert.ok(
        Buffer.byteLength(join(state, 'qemu', 'ub', 'qmp.sock')) > SUN_PATH,
        'the QMP socket path must not fit sun_path',
      );
      const args = ['--backend', 'qemu', '--board', 'qemu-virt-riscv64', '--state-dir', state];
      writeFileSync(
        join(dir, 'partitions.d', 'ub.yaml'),
        manifest(
          'ub',
          `cpus: 1\nmemory: 32Mi\nboot:\n  image: ${p.get('uboot-riscv64-smode')}\nreadiness:\n` +
            `  console: "Hit any key to stop autoboot"\n  timeout: 20s\n`,
        ),
      );
      const r = vman(dir, ['apply', '--auto-approve', ...args]);
      assert.is(r.code, 0, r.stdout + r.stderr);
      const st = vmanJson<StatusJson>(dir, ['status', ...args]).json;
      assert.equal(
        st.partitions.map((x) => [x.name, x.state]),
        [['ub', 'running']],
      );
      assert.is(qemuProcessesUnder(state).length, 1);
      assert.match(
        vman(dir, ['console', 'ub', ...args]).stdout,
        /^Model: vman partition ub \(qemu-virt-riscv64\)\r?$/m,
      );
      assert.is(vman(dir, ['destroy', '--auto-approve', ...args]).code, 0);
      assert.equal(qemuProcessesUnder(state), []);
    } finally {
      cleanup(dir);
    }
  });
}

test.run();
