// The README's commands, run: every `vman …` command of its "Set up" and "Commands" sections (code
// spans and `sh` blocks, the command table's synopses included) runs here, in a temporary copy of the
// demo's config directory, as the README says to run it: `vman` is `node dist/cli/main.cjs` (the alias
// it gives, and what `npm run bench`'s cli suite times), the demo is `npm run demo`. A literal command
// must succeed, or exit as documented; a synopsis runs in the concrete forms listed below, each flag of
// it checked against the command's --help; a command followed by (`text`) must print that text. The
// summary lines the table quotes must be ones the runs printed. A command added to those sections
// without a way to run it here fails the test, and so does one listed here that the README dropped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cleanup, ROOT, vman, type Result } from '../helpers/cli.js';
import { skip } from '../helpers/skip.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The text of a `## TITLE` section, up to the next `## `. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${title}"`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

interface Found {
  /** The command as written (a table cell's `\|` read as `|`). */
  readonly text: string;
  /** What the README says it prints: (`text`) after it, or `: ``text``` after it. */
  readonly prints?: string;
}

/** Markdown code spans of any backtick count, outside fenced blocks, with what follows each. */
function codeSpans(text: string): { content: string; after: string }[] {
  const out: { content: string; after: string }[] = [];
  const re = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const raw = m[2] ?? '';
    const content = raw.startsWith(' ') && raw.endsWith(' ') && raw.trim() ? raw.slice(1, -1) : raw;
    out.push({ content, after: text.slice(m.index + m[0].length, m.index + m[0].length + 400) });
  }
  return out;
}

/** Every `vman …` command of a section: in code spans (`a && b` is two) and in `sh` blocks. */
function commandsOf(text: string): { commands: Found[]; blocks: string[] } {
  const blocks: string[] = [];
  const prose = text.replace(/^```sh\n([\s\S]*?)^```$/gm, (_, body: string) => {
    blocks.push(body);
    return '';
  });
  const commands: Found[] = [];
  for (const b of blocks)
    for (const line of b.split('\n'))
      for (const part of line.replace(/\s#.*$/, '').split('&&'))
        if (part.trim().startsWith('vman ')) commands.push({ text: part.trim() });
  for (const { content, after } of codeSpans(prose)) {
    const cmd = content.replaceAll('\\|', '|');
    if (!cmd.startsWith('vman ')) continue;
    const parts = cmd.split(' && ').map((c) => c.trim());
    const said = /^ \(`([^`]+)`\)/.exec(after) ?? /^: ``([^`]+(?:`[^`]+)*)``/.exec(after);
    parts.forEach((p, i) =>
      commands.push({ text: p, ...(said?.[1] && i === parts.length - 1 ? { prints: said[1] } : {}) }),
    );
  }
  return { commands, blocks };
}

const SETUP = commandsOf(section('Set up'));
const COMMANDS = commandsOf(section('Commands'));

/** How one README command runs here. */
interface Run {
  readonly args: readonly string[];
  /** The exit code the README documents (default 0). */
  readonly code?: number;
  /** A command that runs until stopped: this signal after this many ms (then exit 0, as documented). */
  readonly stopAfter?: { readonly ms: number; readonly signal: NodeJS.Signals };
}

/** A synopsis (placeholders, optional parts) rather than a command to run as written. */
const isSynopsis = (c: string) => /[[|]|\b[A-Z]{2,}/.test(c);

const tmp = () => mkdtempSync(join(tmpdir(), 'vman-readme-'));

/** A copy of the demo's config directory (its manifests name ../.cache/demo/…, copied alongside). */
function demoCopy(): string {
  const dir = tmp();
  cpSync(join(ROOT, 'partitions.d'), join(dir, 'partitions.d'), { recursive: true });
  cpSync(join(ROOT, '.cache', 'demo'), join(dir, '.cache', 'demo'), { recursive: true });
  return dir;
}

/** `vman ARGS`, as the alias runs it; with `stopAfter`, stopped by that signal. */
async function run(dir: string, r: Run): Promise<Result> {
  if (!r.stopAfter) return vman(dir, r.args);
  const stop = r.stopAfter;
  const child = spawn(process.execPath, [CLI, ...r.args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill(stop.signal), stop.ms);
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

// Everything the runs printed, for the summary lines the README quotes.
const printed: string[] = [];

async function check(dir: string, what: string, r: Run, prints?: string): Promise<Result> {
  const out = await run(dir, r);
  printed.push(out.stdout);
  const shown = `vman ${r.args.join(' ')} (for \`${what}\`): exit ${out.code}\n${out.stdout}\n${out.stderr}`;
  assert.is(out.code, r.code ?? 0, shown);
  if (prints) assert.ok(`${out.stdout}${out.stderr}`.includes(prints), `${shown}\ndoes not print \`${prints}\``);
  return out;
}

/** The words of a literal command, after `vman`. */
const words = (c: string) => c.split(/\s+/).slice(1);

/** Flags of a synopsis (`--out`, `-f`), each with the value name it takes, if any. */
function synopsisFlags(s: string): [string, string | undefined][] {
  const flag = /(?:^|[\s[])(--?[a-z][a-z-]*)(?: ([A-Z][A-Za-z|.:/0-9…-]*|\[[A-Z][^\]]*\]))?/g;
  return [...s.matchAll(flag)].map((m) => [m[1] ?? '', m[2]?.replace(/^\[|\]$/g, '').replace(/…$/, '')]);
}

/** Each flag of a synopsis is one the command takes, with the value name its --help gives. */
function checkSynopsis(synopsis: string, runs: readonly Run[]): void {
  const command = synopsis.split(' ')[1] ?? '';
  const help = vman(ROOT, [command, '--help']);
  assert.is(help.code, 0, help.stderr);
  const flags = synopsisFlags(synopsis);
  for (const [flag, value] of flags) {
    const line = help.stdout.split('\n').find((l) => new RegExp(`(^|[\\s,])${flag}([\\s,]|$)`).test(l));
    assert.ok(line, `\`${synopsis}\`: vman ${command} --help has no ${flag}`);
    if (value && flag.startsWith('--'))
      assert.match(line ?? '', ` ${flag} ${value}`, `\`${synopsis}\`: ${flag} takes ${value}`);
  }
  for (const r of runs)
    for (const a of r.args)
      if (a.startsWith('-') && !flags.some(([f]) => f === a))
        assert.unreachable(`a run of \`${synopsis}\` uses ${a}, which the synopsis does not show`);
}

// ---------------------------------------------------------------------------------------------
// How each command of the two sections runs. Phase `qemu` commands need QEMU (the Set up's QEMU
// boot); the others run on the sim backend.

const NAMES = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();

/** The command table's synopses (and the prose's COMMAND forms), in concrete forms. */
const SYNOPSES: Readonly<
  Record<string, { readonly runs: readonly Run[]; readonly phase?: 'qemu'; readonly notRun?: string }>
> = {
  'vman COMMAND --help': { runs: [] },
  'vman help COMMAND': { runs: [] },
  'vman plan [--out FILE] [--detailed-exitcode] [--target NAME…] [--replace NAME…]': {
    runs: [
      { args: ['plan'] },
      // Changes found (the forced replace): exit 2, as documented.
      {
        args: ['plan', '--out', 'hello.plan', '--detailed-exitcode', '--target', 'hello', '--replace', 'hello'],
        code: 2,
      },
    ],
  },
  'vman apply [PLANFILE] [--auto-approve] [--target NAME…] [--replace NAME…]': {
    runs: [
      { args: ['apply', 'hello.plan'] },
      { args: ['apply', '--auto-approve', '--target', 'rtos0', '--replace', 'rtos0'] },
    ],
  },
  'vman show PLANFILE': { runs: [{ args: ['show', 'hello.plan'] }] },
  'vman fdt NAME [--dts] [--out FILE] [--planned]': {
    runs: [{ args: ['fdt', 'hello'] }, { args: ['fdt', 'hello', '--dts', '--out', 'hello.dts', '--planned'] }],
  },
  'vman destroy [NAME…] [--cascade] [--auto-approve]': {
    // Applied again between the forms, so that each has something to destroy.
    runs: [
      { args: ['destroy', 'hello', 'rtos0', '--auto-approve'] },
      { args: ['apply', '--auto-approve'] },
      // hello depends on rtos0: --cascade takes it too.
      { args: ['destroy', 'rtos0', '--cascade', '--auto-approve'] },
      { args: ['apply', '--auto-approve'] },
      { args: ['destroy', '--auto-approve'] },
    ],
  },
  'vman create -f FILE [--auto-approve]': { runs: [{ args: ['create', '-f', 'extra.yaml', '--auto-approve'] }] },
  'vman delete NAME [--cascade] [--auto-approve]': {
    runs: [{ args: ['delete', 'extra', '--cascade', '--auto-approve'] }],
  },
  'vman stop NAME [--auto-approve]': { runs: [{ args: ['stop', 'hello', '--auto-approve'] }] },
  'vman start NAME [--auto-approve]': { runs: [{ args: ['start', 'hello', '--auto-approve'] }] },
  'vman watch [--settle DURATION] [--resync DURATION] [--libvirt [SOCKET|tcp://127.0.0.1:PORT]] [--libvirt-group GROUP]':
    {
      runs: [
        {
          args: ['watch', '--settle', '100ms', '--resync', '1s', '--libvirt', 'libvirt.sock', '--libvirt-group', NAMES],
          stopAfter: { ms: 2_000, signal: 'SIGTERM' },
        },
      ],
    },
  'vman console NAME [--follow] [--previous]': {
    phase: 'qemu',
    runs: [
      { args: ['console', 'hello'] },
      { args: ['console', 'hello', '--follow'], stopAfter: { ms: 1_000, signal: 'SIGINT' } },
    ],
  },
  'vman provider serve sim|qemu': {
    runs: [{ args: ['provider', 'serve', 'sim'] }, { args: ['provider', 'serve', 'qemu'] }],
  },
  'vman provider test NAME|PATH|"CMD"': {
    runs: [],
    notRun:
      'the conformance suite (kill -9 at every point of every call) runs in test/providers/; ' +
      'its synopsis is checked here',
  },
  'vman agent --kubeconfig FILE --node NAME [--namespace NS] [--resync DURATION]': {
    runs: [],
    notRun:
      'the fleet agent needs a Kubernetes API server: test/fleet/ runs it against a real one ' +
      '(scripts/fleet-env); its synopsis is checked here',
  },
};

/** Literal commands that exit as documented rather than with 0. */
const EXITS: Readonly<Record<string, number>> = { 'vman plan -outt': 1 };
/** Paths of a device in the README's examples, and what stands for them here. */
const devicePaths = (c: string, dir: string) => c.replaceAll('/etc/vman', dir);

test('the README sets up with `npm ci && npm run demo` and `npm ci && npm test`; vman is what the bench times', () => {
  const blocks = SETUP.blocks.map((b) => b.trim());
  assert.ok(blocks.includes('npm ci && npm run demo'), 'the set-up command for the demo');
  assert.ok(blocks.includes('npm ci && npm test'), 'the set-up command for the tests');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    bin: Record<string, string>;
  };
  assert.is(pkg.scripts.demo, 'node dist/cli/main.cjs apply --auto-approve');
  assert.is(pkg.bin.vman, 'dist/cli/main.cjs');
  // `vman` as the README defines it, the very file the tests and the bench run.
  assert.ok(
    blocks.includes('alias vman="node $PWD/dist/cli/main.cjs"'),
    'the alias that makes dist/cli/main.cjs `vman`',
  );
  assert.is(CLI, join(ROOT, pkg.bin.vman ?? ''));
  const bench = readFileSync(join(ROOT, 'bench', 'suites', 'cli.mjs'), 'utf8');
  assert.match(
    readFileSync(join(ROOT, 'bench', 'lib', 'env.mjs'), 'utf8'),
    "export const CLI = join(ROOT, 'dist', 'cli', 'main.cjs');",
  );
  assert.match(bench, "runTimed(node, [CLI, 'plan', '-C', cfg, '--state-dir', state]");
  assert.match(bench, "['run', '--silent', 'demo', '--', '--state-dir', fresh()]");
  assert.not.match(README, /npx vman [a-z]/, 'the README runs vman without npx');
});

test('Set up: `npm run demo`, then every command of the section (the QEMU ones with QEMU)', async () => {
  const dir = demoCopy();
  try {
    // npm runs the script in the package's root: the config dir is given as the environment's.
    const demo = spawnSync('npm', ['run', '--silent', 'demo'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: dir, VMAN_STATE_DIR: '' },
    });
    assert.is(demo.status, 0, `${demo.stdout}\n${demo.stderr}`);
    assert.match(demo.stdout, 'Apply complete! 2 created, 0 replaced, 0 restarted, 0 destroyed.');
    printed.push(demo.stdout);
    const qemu = SETUP.commands.some((c) => / --backend qemu\b/.test(c.text));
    const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-aarch64'], { encoding: 'utf8' }).status === 0;
    let onQemu = false;
    for (const c of SETUP.commands) {
      assert.not.ok(isSynopsis(c.text), `Set up: \`${c.text}\` is not a command to run as written`);
      onQemu ||= c.text.includes('--backend qemu');
      if (onQemu && !hasQemu) {
        skip(`README Set up: \`${c.text}\` needs qemu-system-aarch64 (Debian: apt-get install qemu-system-arm)`);
        continue;
      }
      await check(dir, c.text, { args: words(c.text), ...(EXITS[c.text] ? { code: EXITS[c.text] } : {}) }, c.prints);
    }
    assert.ok(qemu, 'the Set up boots the demo under QEMU');
    if (hasQemu) {
      // The table's console forms, on the partitions the Set up booted; then nothing is left running.
      for (const [synopsis, s] of Object.entries(SYNOPSES))
        if (s.phase === 'qemu') for (const r of s.runs) await check(dir, synopsis, r);
      await check(dir, 'clean-up', { args: ['destroy', '--auto-approve'] });
      await check(
        dir,
        'the console of a partition that is gone',
        { args: ['console', 'hello', '--previous'] },
        'hello from',
      );
    }
  } finally {
    cleanup(dir);
  }
});

test('Commands: every command and synopsis of the section runs as documented', async () => {
  const dir = demoCopy();
  try {
    writeFileSync(
      join(dir, 'extra.yaml'),
      'apiVersion: vman.dev/v1alpha1\nkind: Partition\nmetadata: {name: extra}\n' +
        'spec:\n  cpus: 1\n  memory: 16Mi\n  boot: {image: .cache/demo/rtos-arm64.bin}\n',
    );
    await check(dir, 'the demo', { args: ['apply', '--auto-approve'] });
    const found = new Set(COMMANDS.commands.map((c) => c.text));
    for (const c of COMMANDS.commands) {
      if (!isSynopsis(c.text)) {
        const args = words(devicePaths(c.text, dir));
        await check(dir, c.text, { args, ...(EXITS[c.text] ? { code: EXITS[c.text] } : {}) }, c.prints);
        continue;
      }
      const s = SYNOPSES[c.text];
      assert.ok(s, `README Commands: \`${c.text}\` has no runs in test/cli/readme.test.ts; add them`);
      if (!s) continue;
      if (c.text.includes('COMMAND')) {
        const list = vman(dir, ['help']).stdout;
        const names = [...list.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1] ?? '');
        assert.ok(names.length >= 15, list);
        for (const name of names) {
          const args = c.text.replace('COMMAND', name).split(' ').slice(1);
          const out = await check(dir, c.text, { args });
          assert.match(out.stdout, `usage: vman ${name}`);
        }
        continue;
      }
      checkSynopsis(c.text, s.runs);
      if (s.phase !== 'qemu') for (const r of s.runs) await check(dir, c.text, r, c.prints);
    }
    for (const key of Object.keys(SYNOPSES))
      assert.ok(found.has(key), `\`${key}\` is no longer in README's Commands: drop it from test/cli/readme.test.ts`);
    assert.is(vman(dir, ['plan', '--detailed-exitcode']).code, 0, 'the runs leave the demo converged');
  } finally {
    cleanup(dir);
  }
});

test('the plan summary lines the command table quotes are the ones vman prints', () => {
  const table = section('Commands');
  const quoted = codeSpans(table)
    .map((s) => s.content)
    .filter((t) => /^(Plan: |Power: |No changes\.|Apply complete!|…, N destroyed)/.test(t));
  assert.ok(quoted.length >= 5, `quoted summary lines: ${quoted.join(' | ')}`);
  const lines = printed.join('\n').split('\n');
  for (const q of quoted) {
    const re = new RegExp(
      `${q
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\bN\b/g, '\\d+')
        .replace('…', '.*')}$`,
    );
    assert.ok(
      lines.some((l) => re.test(l)),
      `README quotes \`${q}\`, which no run printed`,
    );
  }
});

test.run();
