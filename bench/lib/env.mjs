// Where the bench runs: the repository, the compiled CLI, a scratch directory, the machine.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir, release, platform, arch, loadavg } from 'node:os';
import { join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/ sits in it). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The bin of package.json, as users run it: it runs the CLI bundle with its code cache. */
export const CLI = join(ROOT, 'dist', 'cli', 'main.cjs');
/** The compiled library (everything in-process measurements import). */
export const DIST = join(ROOT, 'dist');

/** Imports a compiled module of vman by its path under dist/ (e.g. `fdt/encode.js`). */
export function dist(path) {
  return import(new URL(`../../dist/${path}`, import.meta.url).href);
}

/** A scratch directory for the whole run, removed at exit. */
export function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'vman-bench-'));
  const clean = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', clean);
  for (const sig of ['SIGINT', 'SIGTERM'])
    process.once(sig, () => {
      clean();
      process.exit(130);
    });
  return dir;
}

/** The absolute path of an executable on PATH, or undefined. */
export function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function osName() {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return `${m[1]} (${platform()} ${release()})`;
  } catch {
    // not Linux, or no os-release
  }
  return `${platform()} ${release()}`;
}

/** What the figures were measured on (the JSON's `machine`). */
export function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model?.trim() ?? 'unknown',
    cores: c.length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: osName(),
    arch: arch(),
    loadavg_1m: Math.round(loadavg()[0] * 100) / 100,
  };
}
