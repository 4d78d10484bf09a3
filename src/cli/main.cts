#!/usr/bin/env node
// The vman executable: everything happens in run() (./run.ts); this file picks how to load it and
// sets the exit code. CommonJS on purpose: with the bundle, a command never starts Node's
// ES-module loader.
//
// The fast start: dist/bundle/cli.js holds every module a command needs as one script, and
// dist/bundle/cli.cache V8's code cache for it (scripts/bundle-cli.mjs makes both at build time).
// Node 20 caches no compiled code for ES modules, so loading ~140 files was most of a short
// command's run time. When the bundle is missing or older than dist/ (a rebuild without the
// bundle step), or VMAN_NO_BUNDLE is set, the CLI runs the modules of dist/ as they are.
// It lives in this file, not a module of its own, because each CommonJS file costs a command
// about a millisecond and a half to resolve, read and compile. Builtins come from
// process.getBuiltinModule, not `require`/`import`.
const { readFileSync, statSync } = process.getBuiltinModule('node:fs');
const { createRequire } = process.getBuiltinModule('node:module');
const { Script } = process.getBuiltinModule('node:vm');
const { pathToFileURL } = process.getBuiltinModule('node:url');

/** Runs vman with argv (as ./run.js does). */
type Runner = (argv: readonly string[]) => Promise<number>;

interface BundleManifest {
  /** Commands whose modules are not in the bundle (they need an ES-module-only package). */
  readonly excludedCommands: readonly string[];
  /** The dist modules in the bundle: path under dist/, size, mtime in ms. */
  readonly files: readonly (readonly [string, number, number])[];
}

const here = pathToFileURL(`${__dirname}/../bundle/`);
const distUrl = pathToFileURL(`${__dirname}/../`);

function readManifest(): BundleManifest | undefined {
  try {
    return JSON.parse(readFileSync(new URL('cli.json', here), 'utf8')) as BundleManifest;
  } catch {
    return undefined;
  }
}

// Every module in the bundle must be the file tsc last wrote, else the bundle runs old code.
// Plain path strings: ~100 stats cost a few ms, of which URL objects were half.
function fresh(m: BundleManifest): boolean {
  const dist = `${__dirname}/../`;
  for (const [file, size, mtimeMs] of m.files) {
    const st = statSync(dist + file, { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtimeMs) return false;
  }
  return true;
}

/** The bundled runner for this command line, or undefined when the modules of dist/ must run it. */
function bundledRunner(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Runner | undefined {
  if (env.VMAN_NO_BUNDLE) return undefined;
  const m = readManifest();
  if (!m || (argv[0] !== undefined && m.excludedCommands.includes(argv[0])) || !fresh(m)) return undefined;
  const file = new URL('cli.js', here);
  let code: string;
  try {
    // The bundle is ASCII (scripts/bundle-cli.mjs escapes the rest): read as Latin-1, a one-byte string.
    code = readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(new URL('cli.cache', here));
  } catch {
    // Without its code cache the bundle still saves resolving and reading each module.
  }
  // A cache from another Node or V8 version is rejected by V8 and the script compiles as usual.
  const script = new Script(code, { filename: file.pathname, ...(cachedData ? { cachedData } : {}) });
  const load = script.runInThisContext() as (nodeRequire: (id: string) => unknown, distUrl: string) => (id: string) => unknown;
  // Builtins straight from the process; Node's CommonJS loader (a few ms to set up) only for a
  // package the bundle does not hold.
  let packages: NodeJS.Require | undefined;
  const nodeRequire = (id: string): unknown => process.getBuiltinModule(id) ?? (packages ??= createRequire(file))(id);
  const { run } = load(nodeRequire, distUrl.href)('cli/run.js') as { run: Runner };
  return run;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const run = bundledRunner(argv) ?? ((await import('./run.js')) as typeof import('./run.js')).run;
  const code = await run(argv);
  // Exit as soon as the command is done. Left to end by itself, Node tears the heap and the
  // isolate down first, ~3 ms of a short command here. Nothing is cut off: commands write
  // through synchronous writes to descriptors 1 and 2 (./io.ts), await their own files, and
  // leave only detached processes behind.
  process.exit(code);
}

// Required rather than run (by the tests and the bench, for bundledRunner), it only exports.
if (require.main === module) void main();

export = { bundledRunner };
