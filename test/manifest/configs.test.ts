// Hand-made bad configurations (test/fixtures/configs/bad-NN-*/), as a new user writes them, run
// through the built CLI exactly as a user runs it: `vman validate --json -C DIR` with cwd = DIR.
// Each problem's code, file, line and column must match expected.json; stderr carries one
// `FILE:LINE:COL: message` line per problem, in the same order; exit code 1; never a stack trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli', 'main.cjs');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'configs');

interface Problem {
  readonly code: string;
  readonly file: string | null;
  readonly line: number | null;
  readonly column: number | null;
  readonly message?: string;
}

function validate(dir: string, json: boolean): { status: number | null; stdout: string; stderr: string } {
  const args = [CLI, 'validate', ...(json ? ['--json'] : []), '-C', dir];
  const env = { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '', VMAN_IMAGE_ROOT: '' };
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dirs = readdirSync(FIXTURES)
  .filter((d) => d.startsWith('bad-'))
  .sort();

test('there are at least a dozen bad configurations, each with expected.json', () => {
  assert.ok(dirs.length >= 12, `only ${dirs.length}`);
  for (const d of dirs) assert.ok(existsSync(join(FIXTURES, d, 'expected.json')), d);
  assert.ok(existsSync(CLI), 'run `npm run build` first');
});

for (const d of dirs) {
  test(d, () => {
    const dir = join(FIXTURES, d);
    const expected = (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { problems: Problem[] }).problems;
    assert.ok(expected.length > 0, 'a bad configuration has problems');

    const j = validate(dir, true);
    assert.is(j.status, 1, j.stderr);
    const out = JSON.parse(j.stdout) as { valid: boolean; problems: Problem[] };
    assert.is(out.valid, false);
    assert.equal(
      out.problems.map(({ code, file, line, column }) => ({ code, file, line, column })),
      expected,
    );
    for (const p of out.problems) {
      assert.match(p.code, /^VMAN-E\d{3}$/);
      assert.ok(
        typeof p.message === 'string' && p.message.length > 0 && !p.message.includes('\n'),
        `one-line message for ${p.code}`,
      );
    }

    const t = validate(dir, false);
    assert.is(t.status, 1);
    assert.is(t.stdout, '', 'problems go to stderr only');
    assert.not.match(t.stderr, /\n\s+at .+:\d+:\d+\)?\n|This is a bug|TypeError|RangeError|ReferenceError/);
    const heads = t.stderr.split('\n').filter((l) => /^[^\s].*:\d+:\d+: /.test(l));
    assert.is(heads.length, expected.length, t.stderr);
    heads.forEach((line, i) => {
      const p = out.problems[i];
      if (!p) throw new Error('unreachable');
      assert.ok(
        line.startsWith(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.code}]`),
        `${line}\n  vs ${JSON.stringify(p)}`,
      );
    });
    const n = expected.length;
    assert.ok(t.stderr.endsWith(`${n} problem${n === 1 ? '' : 's'} found.\n`), t.stderr);
    assert.not.ok(existsSync(join(dir, '.vman')), 'validate writes nothing');
  });
}

test.run();
