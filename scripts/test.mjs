#!/usr/bin/env node
// Runs the whole test suite: build, type-check, then every test/**/*.test.ts under uvu.
// uvu prints no one-line total, so this wrapper ends with `N passed, N failed`.
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
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  if (r.status === 0 && Number.isFinite(total)) {
    passed += ok;
    failed += total - ok;
    console.log(`✔ ${file} (${ok}/${total}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } else {
    const f = Number.isFinite(total) && Number.isFinite(ok) ? Math.max(total - ok, 1) : 1;
    passed += Number.isFinite(ok) ? ok : 0;
    failed += f;
    console.log(`✘ ${file}\n${out}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
