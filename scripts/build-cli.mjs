#!/usr/bin/env node
// Build step (after gen-validators): the CLI as one script, and V8's code cache for it.
//   dist/cli/bundle.js     esbuild's bundle of src/cli/entry.ts with every package it imports
//                          (`vman watch` included): CommonJS, so no command
//                          starts Node's ES-module loader; minified, half the bytes to read;
//   dist/cli/bundle.cache  V8's code cache for it, made after running the common commands once,
//                          so their functions start as bytecode instead of being compiled.
// src/cli/main.cts (the bin, dist/cli/main.cjs) runs the bundle with the cache. Node 20 caches no
// compiled code by itself (module.enableCompileCache() came with Node 22).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE = join(root, 'dist', 'cli', 'bundle.js');
const CACHE = join(root, 'dist', 'cli', 'bundle.cache');
/** What `import.meta.url` becomes: the bundle's own URL (it sits in dist/cli/ as src/cli/run.ts's output would). */
const META = '__vman_import_meta_url';
// One CommonJS module wrapped in a function, as Node's loader wraps one: main.cts passes what Node would.
const HEAD =
  '(function (exports, require, module, __filename, __dirname) {"use strict";' +
  `var ${META}=require("node:url").pathToFileURL(__filename).href;`;
const TAIL = '})';

// Each output is written beside its place and renamed over it: a CLI starting meanwhile reads one whole file.
function writeAtomic(file, data) {
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
}

async function bundle() {
  const r = await esbuild.build({
    entryPoints: [join(root, 'src', 'cli', 'entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    charset: 'ascii',
    legalComments: 'none',
    define: { 'import.meta.url': META },
    banner: { js: HEAD },
    footer: { js: TAIL },
    logLevel: 'warning',
    write: false,
    outfile: BUNDLE,
    // The Kubernetes client is big and only `vman agent` needs it: it loads from node_modules when that runs.
    external: ['@kubernetes/client-node'],
  });
  const code = r.outputFiles[0].text;
  // main.cts reads the bundle as Latin-1, which only ASCII survives unchanged.
  if (/[^\p{ASCII}]/u.test(code)) throw new Error('esbuild left a character past ASCII in the bundle');
  return code;
}

// The commands run before the cache is made. Their functions are compiled then and go into the cache.
function warmRuns(tmp) {
  const state = join(tmp, 'state');
  const fresh = ['--state-dir', join(tmp, 'fresh')];
  return [
    ['apply', '--auto-approve', '--state-dir', state],
    ['fdt', 'hello', '--state-dir', state, '--dts'],
    ['status', '--state-dir', state],
    ['destroy', '--auto-approve', '--state-dir', state],
    // The QEMU backend's reading of live state (its steps need QEMU itself, so they compile on first use).
    ['plan', '--backend', 'qemu', '--state-dir', join(tmp, 'qemu')],
    ['status', '--backend', 'qemu', '--state-dir', join(tmp, 'qemu')],
    ['board', ...fresh],
    ['board', '--json', ...fresh],
    ['help'],
    ['--version'],
    ['plan', '--board', 'no-such-board', ...fresh],
    ['validate', ...fresh],
    ['validate', '--json', ...fresh],
    ['status', ...fresh],
    ['plan', '--json', ...fresh],
    ['plan', ...fresh],
  ];
}

// In a child process (`--warm`), whose output is thrown away: runs the bundle once per command line
// of warmRuns, then writes the code cache. Each run calls the bundle's function again, so every
// module starts afresh, while V8 keeps the bytecode of the one script.
// Sparkplug and bytecode flushing stay off meanwhile: V8 writes no bytecode for a function that has
// baseline code, nor for one whose bytecode it flushed after a few idle GCs. Both are back on before
// the cache is made, so the cache carries the flags every `node` starts with (V8 rejects a cache
// made under other flags).
async function warm() {
  setFlagsFromString('--no-sparkplug');
  setFlagsFromString('--no-flush-bytecode');
  const script = new Script(readFileSync(BUNDLE, 'latin1'), { filename: BUNDLE });
  const main = script.runInThisContext();
  const tmp = mkdtempSync(join(tmpdir(), 'vman-build-cli-'));
  const exit = process.exit;
  try {
    for (const argv of warmRuns(tmp)) {
      process.argv = [process.execPath, BUNDLE, ...argv];
      // src/cli/entry.ts ends each run with process.exit(code): here, that ends the run only.
      const code = await new Promise((resolve) => {
        process.exit = resolve;
        const mod = { exports: {} };
        main(mod.exports, createRequire(BUNDLE), mod, BUNDLE, dirname(BUNDLE));
      });
      process.stderr.write(`warmed: vman ${argv.join(' ')} (exit ${code})\n`);
    }
  } finally {
    process.exit = exit;
    rmSync(tmp, { recursive: true, force: true });
  }
  setFlagsFromString('--sparkplug');
  setFlagsFromString('--flush-bytecode');
  writeAtomic(CACHE, script.createCachedData());
}

// Whether a fresh `node` takes the cache, as main.cts will load it.
function cacheAccepted() {
  const probe =
    "const { readFileSync: r } = require('fs'); const [, b, c] = process.argv;" +
    " const s = new (require('vm').Script)(r(b, 'latin1'), { filename: b, cachedData: r(c) });" +
    ' process.exitCode = s.cachedDataRejected ? 3 : 0;';
  return spawnSync(process.execPath, ['-e', probe, BUNDLE, CACHE], { stdio: 'ignore' }).status === 0;
}

async function main() {
  const code = await bundle();
  mkdirSync(dirname(BUNDLE), { recursive: true });
  // The old cache goes first: V8 checks only a script's length, so an old cache kept beside a new
  // bundle of the same length would run old bytecode.
  rmSync(CACHE, { force: true });
  writeAtomic(BUNDLE, code);
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.VMAN_CONFIG_DIR;
  delete env.VMAN_STATE_DIR;
  const w = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--warm'], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Without the cache the CLI still works, only slower to start: say so, and go on.
  if (w.status !== 0) {
    rmSync(CACHE, { force: true });
    process.stderr.write(`build-cli: no code cache, warming the bundle failed:\n${w.stderr}`);
  } else if (!cacheAccepted()) {
    rmSync(CACHE, { force: true });
    process.stderr.write('build-cli: node rejects the code cache, so none is kept\n');
  }
  // Nothing more to say when all went well: `npm ci` runs this, and stays quiet unless something is wrong.
}

if (process.argv[2] === '--warm') await warm();
else await main();
