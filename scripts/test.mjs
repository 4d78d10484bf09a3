#!/usr/bin/env node
// Runs the whole test suite: build, type-check, then every test/**/*.test.ts under uvu.
// uvu prints no one-line total, so this wrapper ends with `N passed, N failed`, and outside CI
// `N passed, N failed, N skipped`: a test that skips (test/helpers/skip.ts prints a `[vman:skip]`
// line; uvu's own test.skip counts too) is skipped here, and under CI (CI=true or CI=1) a failure.
// `npm test -- PATTERN` runs only the test files whose path matches PATTERN.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pattern = process.argv[2] ? new RegExp(process.argv[2]) : null;
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let passed = 0;
let failed = 0;
let skipped = 0;
// Under CI every tool and payload is installed, so a skip means a test did not run: a failure.
const skipsFail = process.env.CI === 'true' || process.env.CI === '1';
// The line test/helpers/skip.ts prints for each skipped test (its SKIP_MARKER).
const SKIP_LINE = /^\[vman:skip\] /gm;

function step(name, args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status === 0) passed++;
  else {
    failed++;
    console.error(`✘ ${name} failed`);
  }
  return r.status === 0;
}

function* testFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'fixtures') yield* testFiles(p);
    else if (e.isFile() && e.name.endsWith('.test.ts')) yield p;
  }
}

// The whole build, as `npm ci` runs it (package.json's `prepare` and `build`), so end-to-end tests run
// what users run: the CLI bundle too. The validators first: tsc compiles the modules they generate.
const BUILD = [
  ['build: validators', ['scripts/gen-validators.mjs']],
  ['build', [tsc, '-p', 'tsconfig.json']],
  ['build: demo payloads', ['scripts/build-demo.mjs']],
  ['build: CLI bundle and code cache', ['scripts/build-cli.mjs']],
];
for (const [name, args] of BUILD) if (!step(name, args)) break;
step('typecheck', [tsc, '-p', 'tsconfig.test.json']);
// The house style: ESLint (typescript-eslint, eslint.config.js) and Prettier (.prettierrc.json), whole tree.
step('lint', [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--max-warnings', '0', '.']);
step('format', [join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '--log-level', 'warn', '.']);

const files = [...testFiles(join(root, 'test'))]
  .map((f) => relative(root, f))
  .filter((f) => !pattern || pattern.test(f));
for (const file of files) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const ran = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  // A test that called skip() returned, so uvu counts it as passed; test.skip() never ran.
  const marked = Math.min(out.match(SKIP_LINE)?.length ?? 0, Number.isFinite(ran) ? ran : 0);
  const skips = marked + Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const ok = ran - marked;
  const skipNote = skips ? `, ${skips} skipped${skipsFail ? ' (a failure under CI)' : ''}` : '';
  if (r.status === 0 && Number.isFinite(total) && !(skipsFail && skips)) {
    passed += ok;
    failed += total - ran;
    skipped += skips;
    console.log(`✔ ${file} (${ok}/${total}${skipNote}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } else {
    const f = Number.isFinite(total) && Number.isFinite(ran) ? total - ran : 0;
    passed += Number.isFinite(ran) ? ok : 0;
    failed += Math.max(f + (skipsFail ? skips : 0), 1);
    if (!skipsFail) skipped += skips;
    console.log(`✘ ${file}${skipNote}\n${out}`);
  }
}
// Under CI the last line stays exactly `N passed, N failed` (skips are failures there).
console.log(`${passed} passed, ${failed} failed${skipsFail ? '' : `, ${skipped} skipped`}`);
process.exit(failed === 0 ? 0 : 1);
