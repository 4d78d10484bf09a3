// `--backend` naming a provider: vman drives a program over the provider protocol through its one
// engine. Proven against `vman provider serve sim` (the simulated monitor over the protocol), a
// provider that dies mid-call (SIGKILL), and programs that are not providers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cleanup, tempConfig, vman, vmanJson, writePartition } from '../helpers/cli.js';

const SERVE_SIM = 'vman provider serve sim';
const CRASH_ONCE = join(ROOT, 'test', 'providers', 'fixtures', 'proxy.mjs');

interface StatusJson {
  backend: string;
  partitions: { name: string; state: string; cpus: number[] }[];
  orphans: unknown[];
}

function withConfig(run: (dir: string) => void): void {
  const dir = tempConfig();
  try {
    run(dir);
  } finally {
    cleanup(dir);
  }
}

test('apply, plan, status and destroy through `vman provider serve sim`; after apply the plan is empty', () =>
  withConfig((dir) => {
    writePartition(dir, 'a', { cpus: 1 });
    writePartition(dir, 'b', { cpus: 2, memory: '32Mi', dependsOn: ['a'] });
    const applied = vman(dir, ['apply', '--auto-approve', '--backend', SERVE_SIM]);
    assert.is(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(applied.stdout, /2 created/);
    const plan = vman(dir, ['plan', '--detailed-exitcode']);
    assert.is(plan.code, 0, `the plan after apply is empty:\n${plan.stdout}${plan.stderr}`);
    const st = vmanJson<StatusJson>(dir, ['status']);
    assert.is(st.json.backend, SERVE_SIM, 'later commands use the recorded provider');
    assert.equal(
      st.json.partitions.map((p) => [p.name, p.state, p.cpus.length]),
      [
        ['a', 'running', 1],
        ['b', 'running', 2],
      ],
    );
    // The DTB the provider keeps is the one vman planned.
    const live = vman(dir, ['fdt', 'a', '--dts']);
    const planned = vman(dir, ['fdt', 'a', '--dts', '--planned']);
    assert.is(live.code, 0, live.stderr);
    assert.is(live.stdout, planned.stdout);
    const destroyed = vman(dir, ['destroy', '--auto-approve']);
    assert.is(destroyed.code, 0, destroyed.stdout + destroyed.stderr);
    assert.equal(vmanJson<StatusJson>(dir, ['status']).json.partitions, []);
  }));

test('a provider killed mid-load: the step is interrupted, a fresh provider rolls it back, apply again converges', () =>
  withConfig((dir) => {
    writePartition(dir, 'a', { cpus: 1 });
    const env = { CRASH_ON: 'load' };
    const first = vman(dir, ['apply', '--auto-approve', '--backend', CRASH_ONCE], env);
    assert.is(first.code, 1, first.stdout + first.stderr);
    assert.match(
      first.stdout + first.stderr,
      /exited \(killed by SIGKILL\) during load for `a`; that call was interrupted/,
    );
    assert.ok(existsSync(join(dir, '.vman', 'crashed-once')), 'it did crash');
    const after = vmanJson<StatusJson>(dir, ['status'], env);
    assert.equal(after.json.partitions, [], 'the rollback through a fresh provider left nothing claimed');
    assert.equal(after.json.orphans, []);
    const again = vman(dir, ['apply', '--auto-approve'], env);
    assert.is(again.code, 0, again.stdout + again.stderr);
    assert.is(vman(dir, ['plan', '--detailed-exitcode'], env).code, 0);
    assert.is(vman(dir, ['destroy', '--auto-approve'], env).code, 0);
  }));

test('a --backend that names no provider is one clear message and changes nothing', () =>
  withConfig((dir) => {
    writePartition(dir, 'a');
    const cases: [string, RegExp][] = [
      [
        'nosuch',
        /^Error: unknown backend `nosuch`: built in are sim and qemu, and no vman-provider-nosuch is on PATH$/m,
      ],
      ['./missing', /^Error: --backend \.\/missing: .*\/missing is not an executable file/m],
      ['vman provider serve xen', /^Error: .*vman provider serve xen: the built-in backends are sim and qemu/m],
      ['/bin/cat', /^Error: provider \/bin\/cat broke the protocol: it sent a request \(initialize\)/m],
    ];
    for (const [backend, message] of cases) {
      const r = vman(dir, ['apply', '--auto-approve', '--backend', backend]);
      assert.is(r.code, 1, `${backend}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.not.ok(existsSync(join(dir, '.vman', 'records.json')), 'nothing recorded');
  }));

test('--backend NAME runs vman-provider-NAME from PATH, started with VMAN_STATE_DIR', () =>
  withConfig((dir) => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const script = join(bin, 'vman-provider-demo');
    writeFileSync(
      script,
      `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist', 'cli', 'main.cjs')}" provider serve sim\n`,
    );
    chmodSync(script, 0o755);
    writePartition(dir, 'a');
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
    const r = vman(dir, ['apply', '--auto-approve', '--backend', 'demo'], env);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.ok(existsSync(join(dir, '.vman', 'sim', 'monitor.json')), "the provider kept its state in vman's state dir");
    assert.is(vmanJson<StatusJson>(dir, ['status'], env).json.backend, 'demo');
    assert.is(vman(dir, ['destroy', '--auto-approve'], env).code, 0);
  }));

test.run();
