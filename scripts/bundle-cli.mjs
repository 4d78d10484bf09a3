#!/usr/bin/env node
// Build step (after tsc and gen-validators): the CLI's fast start-up.
//
// Node 20 has no compile cache for ES modules (module.enableCompileCache() arrived in Node 22), and
// `vman plan` loads ~70 modules of dist/ plus ~70 CommonJS files of `yaml`, each one resolved, read,
// compiled and its functions compiled again on first call. This script writes
//   dist/bundle/cli.js     every module a command needs (dist/ transpiled to CommonJS, and the
//                          CommonJS packages they require), each wrapped in a function, as one script,
//                          minified by esbuild;
//   dist/bundle/cli.cache  V8's code cache for it, taken after running the common commands once, so
//                          their functions start as bytecode (vm.Script `cachedData`);
//   dist/bundle/cli.json   what it was made from (each file's size and mtime) and the commands it
//                          cannot run (those that need an ES-module-only package, e.g. watch/chokidar).
// src/cli/main.cts runs it; when it is missing, stale (dist/ rebuilt since) or its cache is
// rejected, the CLI runs the ES modules of dist/ as before. Nothing here changes what a command does.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const distUrl = pathToFileURL(dist).href + '/';
const OUT = {
  bundle: join(dist, 'bundle', 'cli.js'),
  cache: join(dist, 'bundle', 'cli.cache'),
  manifest: join(dist, 'bundle', 'cli.json'),
};
const ENTRY = 'cli/run.js';
/** The CommonJS global name that stands in for `import.meta.url` inside a wrapped module. */
const META = '__vman_meta_url';
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

const posix = (p) => p.split(sep).join('/');
const warn = (s) => process.stderr.write(`bundle-cli: ${s}\n`);

/** dist module id → its CommonJS text and what it requires (literal specifiers) and references by URL. */
function transpile(id) {
  const file = join(dist, id);
  // Stamped before reading: a file rewritten while the bundle is built then makes the bundle stale.
  const st = statSync(file);
  const esm = readFileSync(file, 'utf8');
  if (/\bimport\.meta\b(?!\.url\b)/.test(esm)) throw new Error(`${id} uses import.meta beyond import.meta.url`);
  const out = ts.transpileModule(esm.replaceAll('import.meta.url', META), {
    fileName: id,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2023,
      noEmitHelpers: true,
      removeComments: true,
      esModuleInterop: true,
    },
  });
  if (out.diagnostics?.length)
    throw new Error(`${id}: ${ts.flattenDiagnosticMessageText(out.diagnostics[0].messageText, ' ')}`);
  const requires = [...out.outputText.matchAll(/\brequire\((['"])([^'"]+)\1\)/g)].map((m) => m[2]);
  // import('./x.js') becomes Promise.resolve().then(() => __importStar(require('./x.js'))): loaded only when called.
  const dynamic = new Set(
    [
      ...out.outputText.matchAll(/Promise\.resolve\(\)\.then\(\(\) => __importStar\(require\((['"])([^'"]+)\1\)\)\)/g),
    ].map((m) => m[2]),
  );
  // `import(new URL('./x.js', import.meta.url).href)`: a module found by URL (the precompiled validators).
  const byUrl = [...esm.matchAll(/new URL\((['"])(\.{1,2}\/[^'"]+\.js)\1, import\.meta\.url\)/g)].map((m) =>
    posix(join(dirname(id), m[2])),
  );
  return { text: out.outputText, requires, dynamic, byUrl, stamp: [st.size, st.mtimeMs] };
}

const resolveDist = (from, spec) => posix(join(dirname(from), spec));

// Whether a file is an ES module by Node's rules: .mjs, or .js under a package.json with "type": "module".
function isEsmFile(file) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) return JSON.parse(readFileSync(pkg, 'utf8')).type === 'module';
    if (dirname(dir) === dir) return false;
  }
}

/** Whether a package can be require()d by Node 20: it resolves to a CommonJS file (ES-module-only ones cannot). */
function requirable(spec, fromFile) {
  try {
    return !isEsmFile(createRequire(fromFile).resolve(spec));
  } catch {
    return false;
  }
}

// The CommonJS files of a package, from its entry through its literal requires. A file with a require()
// that is not a literal string, or that leads to an ES module, cannot be followed: such a package is
// left to Node's require.
function packageFiles(entryFile) {
  const files = new Map();
  const todo = [entryFile];
  while (todo.length) {
    const f = todo.pop();
    if (files.has(f)) continue;
    if (isEsmFile(f)) return undefined;
    const text = readFileSync(f, 'utf8');
    const all = (text.match(/\brequire\(/g) ?? []).length;
    const literal = [...text.matchAll(/\brequire\((['"])([^'"]+)\1\)/g)].map((m) => m[2]);
    if (all !== literal.length) return undefined;
    const deps = [];
    for (const spec of literal) {
      if (BUILTINS.has(spec)) continue;
      let dep;
      try {
        dep = createRequire(f).resolve(spec);
      } catch {
        return undefined;
      }
      if (isEsmFile(dep)) return undefined;
      deps.push([spec, dep]);
      todo.push(dep);
    }
    files.set(f, { text, deps });
  }
  return files;
}

function build() {
  const modules = new Map();
  const excluded = new Map();
  const packages = new Map();
  const external = new Set();
  const todo = [ENTRY];
  const edges = [];
  while (todo.length) {
    const id = todo.pop();
    if (modules.has(id) || excluded.has(id)) continue;
    let t;
    try {
      t = transpile(id);
    } catch (err) {
      excluded.set(id, err.message);
      continue;
    }
    const bad = t.requires.find((s) => !s.startsWith('.') && !BUILTINS.has(s) && !requirable(s, join(dist, id)));
    if (bad) {
      excluded.set(id, `imports ${bad}, an ES-module-only package`);
      continue;
    }
    modules.set(id, t);
    for (const s of t.requires) {
      if (s.startsWith('.')) {
        const dep = resolveDist(id, s);
        edges.push([id, dep, t.dynamic.has(s)]);
        todo.push(dep);
      } else if (!BUILTINS.has(s) && !packages.has(s)) {
        // A package imported only on demand (ajv's compiler, when no precompiled validators exist) stays Node's to load.
        if (t.dynamic.has(s)) {
          external.add(s);
          continue;
        }
        const files = packageFiles(createRequire(join(dist, id)).resolve(s));
        if (files) packages.set(s, files);
        else external.add(s);
      }
    }
    for (const dep of t.byUrl) todo.push(dep);
  }
  // A module that statically imports an excluded one cannot run from the bundle either.
  let changed = true;
  while (changed) {
    changed = false;
    for (const [from, to, dynamic] of edges) {
      if (!dynamic && modules.has(from) && excluded.has(to)) {
        modules.delete(from);
        excluded.set(from, `needs ${to} (${excluded.get(to)})`);
        changed = true;
      }
    }
  }
  // A dynamic import of an excluded module would fail at run time; only the entry's command loaders
  // may point at one (those commands are routed to dist/'s modules before the bundle is loaded).
  for (const [from, to, dynamic] of edges) {
    if (dynamic && modules.has(from) && excluded.has(to) && !(from === ENTRY && to.startsWith('cli/commands/'))) {
      throw new Error(`${from} imports ${to} on demand, which cannot be bundled: ${excluded.get(to)}`);
    }
  }
  if (!modules.has(ENTRY)) throw new Error(`${ENTRY} cannot be bundled: ${excluded.get(ENTRY)}`);
  const runText = modules.get(ENTRY).text;
  const commands = [
    ...runText.matchAll(
      /(\w+): \(\) => Promise\.resolve\(\)\.then\(\(\) => __importStar\(require\('\.\/commands\/([\w-]+)\.js'\)\)\)/g,
    ),
  ];
  const excludedCommands = commands.filter((m) => !modules.has(`cli/commands/${m[2]}.js`)).map((m) => m[1]);
  if (!commands.length) throw new Error(`found no command loaders in ${ENTRY}`);
  return { modules, packages, excluded, excludedCommands };
}

// The module system inside the script. Modules are numbered: the build rewrites each literal
// require of a bundled file to its number, so a require is an array lookup and no table of
// specifiers is built at each start. `require` of a dist file URL (import.meta.url-relative loads)
// finds our module by id; a bundled package by name loads its entry; anything else (node:*, other
// packages) is Node's. Default and namespace imports follow Node's ES-module rules for CommonJS
// packages (the default is module.exports), and TypeScript's for the transpiled dist modules.
const PRELUDE = `(function (__nodeRequire, __distUrl) {
"use strict";
var __fns = [], __mods = [], __pkgs = Object.create(null), __ours = new WeakSet();
var __createBinding = function (o, m, k, k2) { if (k2 === undefined) k2 = k; Object.defineProperty(o, k2, { enumerable: true, get: function () { return m[k]; } }); };
var __setModuleDefault = function (o, v) { Object.defineProperty(o, "default", { enumerable: true, value: v }); };
var __importStar = function (mod) { if (__ours.has(mod)) return mod; var r = {}; if (mod != null) for (var k of Object.getOwnPropertyNames(mod)) if (k !== "default") __createBinding(r, mod, k); __setModuleDefault(r, mod); return r; };
var __importDefault = function (mod) { return __ours.has(mod) ? mod : { default: mod }; };
var __exportStar = function (m, exports) { for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(exports, p)) __createBinding(exports, m, p); };
function __load(i) {
  var hit = __mods[i];
  if (hit) return hit.exports;
  var module = { exports: {} };
  __mods[i] = module;
  if (i < __OURS) __ours.add(module.exports);
  __fns[i].call(module.exports, module.exports, __require, module, __distUrl + __IDS[i]);
  return module.exports;
}
function __require(spec) {
  if (typeof spec === "number") return __load(spec);
  if (spec.startsWith(__distUrl)) { var i = __IDS.indexOf(spec.slice(__distUrl.length)); if (i >= 0 && i < __OURS) return __load(i); }
  if (__pkgs[spec] !== undefined) return __load(__pkgs[spec]);
  return __nodeRequire(spec);
}
`;

// Each literal require of a bundled file, replaced by that file's number.
function numberRequires(text, deps, index) {
  return text.replace(/\brequire\((['"])([^'"]+)\1\)/g, (all, _q, spec) =>
    deps[spec] === undefined ? all : `require(${index.get(deps[spec])})`,
  );
}

function write({ modules, packages }) {
  // Our modules first (numbers below __OURS), then the packages' files.
  const ids = [...modules.keys()];
  const pkgIds = new Map();
  for (const [name, files] of packages) {
    const entry = [...files.keys()][0];
    for (const f of files.keys()) pkgIds.set(f, `pkg:${name}:${posix(relative(dirname(entry), f))}`);
  }
  for (const id of pkgIds.values()) ids.push(id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const parts = [PRELUDE, `var __IDS = ${JSON.stringify(ids)}, __OURS = ${modules.size};\n`];
  const define = (id, text) =>
    parts.push(`__fns[${index.get(id)}] = function (exports, require, module, ${META}) {\n${text}\n};\n`);
  for (const [id, t] of modules) {
    const deps = {};
    for (const s of t.requires) if (s.startsWith('.')) deps[s] = resolveDist(id, s);
    define(id, numberRequires(t.text, deps, index));
  }
  for (const [name, files] of packages) {
    parts.push(`__pkgs[${JSON.stringify(name)}] = ${index.get(pkgIds.get([...files.keys()][0]))};\n`);
    for (const [f, { text, deps }] of files)
      define(
        pkgIds.get(f),
        numberRequires(text, Object.fromEntries(deps.map(([spec, dep]) => [spec, pkgIds.get(dep)])), index),
      );
  }
  parts.push(
    'return function (id) { var i = __IDS.indexOf(id); if (i < 0 || !__fns[i]) throw new Error("vman bundle: " + id + " is not in the bundle"); return __load(i); };\n})',
  );
  return toAscii(parts.join(''));
}

// The bundle minified by esbuild: local names shortened, whitespace and dead syntax gone. Half the
// bytes is half the reading and converting at each start (~2 ms of `vman plan` on a slow VM); the
// code cache is about the same size either way. esbuild keeps a top-level expression only when it
// does something, so the loader function is minified as an assignment and unwrapped again. Without
// esbuild (an install without devDependencies) the bundle stays as written.
async function minify(code) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    warn('esbuild is not installed: the bundle is not minified');
    return code;
  }
  const head = 'module.exports=';
  const out = esbuild.transformSync(`module.exports = ${code};`, {
    minify: true,
    charset: 'ascii',
    target: 'node20',
    legalComments: 'none',
  }).code;
  if (!out.startsWith(head) || !out.endsWith(';\n') || /[^\x00-\x7f]/.test(out))
    throw new Error('esbuild returned an unexpected shape');
  return `(${out.slice(head.length, -2)})`;
}

// Every character past ASCII as a \uXXXX escape, so the CLI reads the script as a one-byte string
// (src/cli/main.cts reads it as Latin-1). Outside comments, such characters only occur in string,
// template and regular-expression literals, where the escape means the same character.
function toAscii(code) {
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// Runs the common commands once inside the script, so the code cache holds their functions compiled.
// Sparkplug stays off meanwhile: V8 writes no bytecode for a function that has baseline code, so
// every function hot enough to get it (the YAML lexer's, the schema validators') would be missing
// from the cache and compiled again by each command. It is back on before the cache is made, so the
// cache carries the flags every `node` starts with (V8 rejects a cache made under other flags).
async function warm(load) {
  const tmp = mkdtempSync(join(tmpdir(), 'vman-bundle-'));
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.VMAN_CONFIG_DIR;
  delete env.VMAN_STATE_DIR;
  const io = { out() {}, outBytes() {}, err() {}, outStream: {}, errStream: {}, stdin: process.stdin, env, cwd: root };
  const { run } = load(ENTRY);
  const state = join(tmp, 'state');
  // V8 drops the bytecode of functions unused for a few GCs: the commands that matter most for start-up
  // (plan, validate, status) run last, so theirs is surely in the cache.
  const runs = [
    ['apply', '--auto-approve', '--state-dir', state],
    ['fdt', 'hello', '--state-dir', state, '--dts'],
    ['destroy', '--auto-approve', '--state-dir', state],
    // The QEMU backend's reading of live state (its steps need QEMU itself, so they compile on first use).
    ['plan', '--backend', 'qemu', '--state-dir', join(tmp, 'qemu')],
    ['status', '--backend', 'qemu', '--state-dir', join(tmp, 'qemu')],
    ['board'],
    ['board', '--json'],
    ['help'],
    ['plan', '--board', 'no-such-board'],
    ['validate'],
    ['status'],
    ['plan', '--json'],
    ['plan'],
    ['plan'],
  ];
  try {
    for (const argv of runs)
      await run(argv.includes('--state-dir') ? argv : [...argv, '--state-dir', join(tmp, 'fresh')], io);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Whether a fresh `node` takes the cache, as the CLI will load it.
function cacheAccepted() {
  const probe = `const fs = require('fs'); const { Script } = require('vm'); const s = new Script(fs.readFileSync(${JSON.stringify(OUT.bundle)}, 'latin1'), { filename: ${JSON.stringify(OUT.bundle)}, cachedData: fs.readFileSync(${JSON.stringify(OUT.cache)}) }); process.exitCode = s.cachedDataRejected ? 1 : 0;`;
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0;
}

// Each output is written beside its place and renamed over it, so a CLI starting meanwhile reads
// either the old bundle or the new one (and the manifest, last, says which files it matches).
function writeAtomic(file, data) {
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
}

async function main() {
  if (!existsSync(join(dist, ENTRY))) throw new Error(`${join(dist, ENTRY)} is missing; run tsc first`);
  const b = build();
  const code = await minify(write(b));
  mkdirSync(dirname(OUT.bundle), { recursive: true });
  writeAtomic(OUT.bundle, code);
  setFlagsFromString('--no-sparkplug');
  const script = new Script(code, { filename: OUT.bundle });
  const load = script.runInThisContext()(createRequire(join(dist, ENTRY)), distUrl);
  try {
    await warm(load);
  } finally {
    setFlagsFromString('--sparkplug');
  }
  const cache = script.createCachedData();
  writeAtomic(OUT.cache, cache);
  if (!cacheAccepted()) warn('node rejects the code cache: the CLI will compile the bundle at each start');
  const files = [...b.modules.keys()].sort().map((id) => [id, ...b.modules.get(id).stamp]);
  writeAtomic(
    OUT.manifest,
    `${JSON.stringify({ node: process.version, excludedCommands: b.excludedCommands, files }, null, 0)}\n`,
  );
  const pkgFiles = [...b.packages.values()].reduce((n, f) => n + f.size, 0);
  process.stdout.write(
    `bundle-cli: ${b.modules.size} dist modules and ${pkgFiles} files of ${[...b.packages.keys()].join(', ') || 'no packages'} in ${relative(root, OUT.bundle)} (${(code.length / 1024).toFixed(0)} KiB, code cache ${(cache.length / 1024).toFixed(0)} KiB); commands run from dist/ modules: ${b.excludedCommands.join(', ') || 'none'}\n`,
  );
}

main().catch((err) => {
  // The CLI works without the bundle (only slower to start): a failure here must not fail the build.
  for (const f of Object.values(OUT)) rmSync(f, { force: true });
  warn(`not built: ${err instanceof Error ? (process.env.VMAN_DEBUG ? err.stack : err.message) : String(err)}`);
});
