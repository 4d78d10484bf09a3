// Test harness for end-to-end runs of the built CLI in temporary config dirs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The bin of package.json: src/cli/main.cts, which runs the CLI bundle (scripts/build-cli.mjs). */
export const CLI = join(ROOT, 'dist', 'cli', 'main.cjs');

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `vman ARGS` with cwd = dir; NO_COLOR set; no terminal. */
export function vman(dir: string, args: readonly string[], env: Record<string, string> = {}): Result {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '', ...env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and parses stdout as JSON. */
export function vmanJson<T = Record<string, unknown>>(
  dir: string,
  args: readonly string[],
  env: Record<string, string> = {},
): { code: number; json: T; stderr: string } {
  const r = vman(dir, [...args, '--json'], env);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** A fresh config dir with partitions.d/ and a 64 KiB raw image `img.bin`. */
export function tempConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vman-test-'));
  mkdirSync(join(dir, 'partitions.d'));
  const img = new Uint8Array(64 * 1024);
  for (let i = 0; i < img.length; i++) img[i] = (i * 7 + 3) & 0xff;
  writeFileSync(join(dir, 'img.bin'), img);
  return dir;
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A minimal arm64 Image (64-byte header, Documentation/arch/arm64/booting.rst) of `size` bytes. */
export function arm64Image(size = 128 * 1024, seed = 1): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 64; i < size; i++) b[i] = (i * seed) & 0xff;
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x14000010, true); // b +64
  v.setBigUint64(16, BigInt(size), true);
  v.setBigUint64(24, 0xan, true);
  v.setUint32(56, 0x644d5241, true);
  return b;
}

export interface PartitionOpts {
  cpus?: number | number[];
  memory?: string;
  devices?: string[];
  image?: string;
  kernel?: string;
  bootargs?: string;
  dependsOn?: string[];
  state?: 'running' | 'stopped';
  extra?: string;
}

/** The YAML of a Partition document. */
export function partitionYaml(name: string, o: PartitionOpts = {}): string {
  const lines = [
    'apiVersion: vman.dev/v1alpha1',
    'kind: Partition',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  cpus: ${JSON.stringify(o.cpus ?? 1)}`,
    `  memory: ${o.memory ?? '16Mi'}`,
  ];
  if (o.state) lines.push(`  state: ${o.state}`);
  if (o.devices) lines.push(`  devices: ${JSON.stringify(o.devices)}`);
  lines.push('  boot:');
  if (o.kernel) lines.push(`    kernel: ${o.kernel}`);
  else lines.push(`    image: ${o.image ?? '../img.bin'}`);
  if (o.bootargs !== undefined) lines.push(`    bootargs: ${JSON.stringify(o.bootargs)}`);
  if (o.dependsOn) lines.push(`  dependsOn: ${JSON.stringify(o.dependsOn)}`);
  if (o.extra) lines.push(o.extra);
  return `${lines.join('\n')}\n`;
}

export function writePartition(dir: string, name: string, o: PartitionOpts = {}, file = `${name}.yaml`): void {
  writeFileSync(join(dir, 'partitions.d', file), partitionYaml(name, o));
}

export function readJsonFile<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
