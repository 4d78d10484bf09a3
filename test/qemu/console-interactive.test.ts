// `vman console` with a real guest: Debian's arm64 kernel and the test initramfs with a shell on its
// console (`vman.after=shell`). On a terminal (`script` gives vman a pseudo-terminal), `--follow`
// attaches: a command typed there runs in the guest and its output shows, Ctrl-] leaves, and the
// console log still records everything. Without a terminal, `--follow` stays output-only. A boot that
// fails its readiness is rolled back, and what it printed stays: `vman console NAME --previous`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from '../helpers/cli.js';
import { manifest, qemuProcessesUnder, QemuConfig, requireTools, until } from './support.js';

const p = requireTools('qemu/console-interactive', {
  payloads: ['arm64-kernel', 'arm64-initrd'],
  tools: ['qemu-system-aarch64', 'script'],
});
const cfg = p ? new QemuConfig('qemu-virt-aarch64') : undefined;

/** A partition booting the Debian kernel to the initramfs's shell (or to `after`). */
function linux(name: string, readiness: string, timeout: string, after = 'shell'): string {
  const kernel = p?.get('arm64-kernel') ?? '';
  const initrd = p?.get('arm64-initrd') ?? '';
  return manifest(
    name,
    `cpus: 1\nmemory: 256Mi\nboot:\n  kernel: ${kernel}\n  initrd: ${initrd}\n` +
      `  bootargs: "console=ttyAMA0 vman.after=${after}"\n` +
      `readiness:\n  console: "${readiness}"\n  timeout: ${timeout}\n`,
  );
}

/** A process whose output is collected as it comes, with a way to wait for some of it. */
function collect(child: ReturnType<typeof spawn>) {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => void (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => void (out += d.toString()));
  const exit = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
  return {
    text: () => out,
    exit,
    seen: (what: string | RegExp, ms = 20_000) =>
      until(
        `${String(what)} in the output:\n${out}`,
        () => ((typeof what === 'string' ? out.includes(what) : what.test(out)) ? true : undefined),
        ms,
      ),
  };
}

if (p && cfg) {
  const env = { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '' };
  const vmanArgs = (args: readonly string[]) => [CLI, ...args, '--backend', 'qemu', '--board', cfg.board];

  test('on a terminal, --follow attaches: a typed command runs in the guest, Ctrl-] leaves', async () => {
    cfg.write('sh', linux('sh', '^VMAN-READY', '60s'));
    cfg.apply();
    // `script` runs vman on a pseudo-terminal: stdin and stdout are a terminal, as for a person.
    const command = [process.execPath, ...vmanArgs(['console', 'sh', '--follow'])].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: cfg.dir, env });
    const s = collect(child);
    await s.seen('Escape character is ^] (Ctrl + ]).');
    await s.seen(/^\/ # /m);
    // The shell computes the number: seeing 42 shows the line reached the guest and its answer came back.
    child.stdin?.write('echo VMAN-$((6*7))\r');
    await s.seen(/^VMAN-42\r?$/m);
    child.stdin?.write(Buffer.from([0x1d]));
    assert.is(await s.exit, 0, s.text());
    assert.match(s.text(), 'Disconnected: left the console of `sh`.');
    // The console log records all of it, the guest's echo of what was typed included.
    const log = readFileSync(cfg.file('sh', 'console.log'), 'utf8');
    assert.match(log, 'echo VMAN-$((6*7))');
    assert.match(log, /^VMAN-42\r?$/m);
    assert.is(cfg.status().partitions.find((x) => x.name === 'sh')?.state, 'running');
  });

  test('without a terminal, --follow is output-only: what comes on stdin never reaches the guest', async () => {
    const child = spawn(process.execPath, vmanArgs(['console', 'sh', '--follow']), { cwd: cfg.dir, env });
    const s = collect(child);
    await s.seen(/^VMAN-42\r?$/m);
    child.stdin?.write('echo VMAN-$((7*7))\r');
    await new Promise((r) => setTimeout(r, 1_500));
    child.kill('SIGINT');
    assert.is(await s.exit, 0, s.text());
    assert.not.match(s.text(), 'Escape character');
    assert.not.match(readFileSync(cfg.file('sh', 'console.log'), 'utf8'), 'VMAN-$((7*7))');
  });

  test('a boot that fails its readiness is rolled back; its console stays: `vman console NAME --previous`', () => {
    cfg.write('late', linux('late', '^NEVER-PRINTED', '8s', 'idle'));
    const r = cfg.run(['apply', '--auto-approve']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, 'no console line matched /^NEVER-PRINTED/');
    assert.match(r.stderr, `The whole console is kept: \`vman console late --previous\` (${cfg.file('late', '')}`);
    assert.match(r.stdout, /^late: rolled back to nothing held$/m);
    assert.equal(
      cfg.status().partitions.map((x) => x.name),
      ['sh'],
    );
    const prev = cfg.run(['console', 'late', '--previous']);
    assert.is(prev.code, 0, prev.stderr);
    assert.match(prev.stdout, 'vman-probe: model=vman partition late (qemu-virt-aarch64)');
    assert.match(prev.stdout, /^VMAN-READY\r?$/m);
    // The partition is gone: its console now is no live partition's.
    const now = cfg.run(['console', 'late']);
    assert.is(now.code, 1);
    assert.is(now.stderr, 'Error: no live partition is called `late`; live: sh\n');
    // Only sh's QEMU runs.
    assert.is(qemuProcessesUnder(cfg.state).length, 1);
  });

  test('a restart keeps the boot before as the previous console; destroy leaves no QEMU', () => {
    cfg.write('late', '');
    cfg.write('sh', linux('sh', '^VMAN-READY', '60s', 'idle'));
    cfg.apply();
    const prev = cfg.run(['console', 'sh', '--previous']);
    assert.is(prev.code, 0, prev.stderr);
    assert.match(prev.stdout, /^VMAN-42\r?$/m);
    assert.match(cfg.console('sh'), 'vman-probe: cmdline=console=ttyAMA0 vman.after=idle');
    assert.is(cfg.run(['destroy', '--auto-approve']).code, 0);
    assert.equal(qemuProcessesUnder(cfg.state), []);
  });

  test('clean up', () => cfg.dispose());
}

test.run();
