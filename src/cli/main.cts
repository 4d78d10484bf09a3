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
const { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } = process.getBuiltinModule('node:fs');
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

const bundleDir = `${__dirname}/../bundle/`;
const distUrl = pathToFileURL(`${__dirname}/../`);

function readManifest(): BundleManifest | undefined {
  try {
    return JSON.parse(readFileSync(`${bundleDir}cli.json`, 'utf8')) as BundleManifest;
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

/** Reads up to `size` bytes from the start of a file; returns how many it read. */
function readAll(fd: number, buf: Buffer, size: number): number {
  let got = 0;
  for (let n = -1; got < size && n !== 0; got += n) n = readSync(fd, buf, got, size - got, got);
  return got;
}

// The bundle and its code cache, read through one buffer: the script is copied out of it as a
// string, then the cache is read over it. Each page a process touches first costs ~10 µs on a VM
// like the bench's (more when the host has just taken memory back), and one buffer for both files
// touches 0.6 MiB less than one for each. The bundle is ASCII (scripts/bundle-cli.mjs escapes the
// rest), so Latin-1 makes it a one-byte string. Without a readable code cache the bundle still
// saves resolving and reading each module.
function readBundle(scriptPath: string, cachePath: string): { code: string; cachedData?: Buffer } | undefined {
  const open = (path: string): number | undefined => {
    try {
      return openSync(path, 'r');
    } catch {
      return undefined;
    }
  };
  const script = open(scriptPath);
  if (script === undefined) return undefined;
  const cache = open(cachePath);
  try {
    const scriptSize = fstatSync(script).size;
    const cacheSize = cache === undefined ? 0 : fstatSync(cache).size;
    const buf = Buffer.allocUnsafeSlow(Math.max(scriptSize, cacheSize));
    if (readAll(script, buf, scriptSize) !== scriptSize) return undefined;
    const code = buf.toString('latin1', 0, scriptSize);
    if (cache === undefined || readAll(cache, buf, cacheSize) !== cacheSize) return { code };
    return { code, cachedData: buf.subarray(0, cacheSize) };
  } catch {
    return undefined;
  } finally {
    closeSync(script);
    if (cache !== undefined) closeSync(cache);
  }
}

/** The bundled runner for this command line, or undefined when the modules of dist/ must run it. */
function bundledRunner(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Runner | undefined {
  if (env.VMAN_NO_BUNDLE) return undefined;
  const m = readManifest();
  if (!m || (argv[0] !== undefined && m.excludedCommands.includes(argv[0])) || !fresh(m)) return undefined;
  const file = `${bundleDir}cli.js`;
  const read = readBundle(file, `${bundleDir}cli.cache`);
  if (!read) return undefined;
  const { code, cachedData } = read;
  // A cache from another Node or V8 version is rejected by V8 and the script compiles as usual.
  const script = new Script(code, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const load = script.runInThisContext() as (
    nodeRequire: (id: string) => unknown,
    distUrl: string,
  ) => (id: string) => unknown;
  // Builtins straight from the process; node:module and Node's CommonJS loader (a few ms to set up)
  // only for a package the bundle does not hold.
  let packages: NodeJS.Require | undefined;
  const nodeRequire = (id: string): unknown =>
    process.getBuiltinModule(id) ?? (packages ??= process.getBuiltinModule('node:module').createRequire(file))(id);
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
