// Shared by the manifest and rules tests: config directories in a temp dir, a valid manifest to
// mutate, and small synthetic boot files (an arm64 Image header, an ARMv7 zImage header).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Diagnostic } from '../../src/rules/diagnostic.js';
import { loadManifests } from '../../src/manifest/load.js';

/** A valid Partition manifest; line numbers matter to the tests that edit it. */
export const VALID = [
  'apiVersion: vman.dev/v1alpha1', //  1
  'kind: Partition', //                 2
  'metadata:', //                       3
  '  name: web', //                     4
  'spec:', //                           5
  '  cpus: 2', //                       6
  '  memory: 256Mi', //                 7
  '  boot:', //                         8
  '    kernel: ../images/Image', //     9
  '',
].join('\n');

/** A config directory with the given files (paths relative to it); removed by `cleanup`. */
export interface TempConfig {
  readonly dir: string;
  readonly path: (rel: string) => string;
  readonly write: (rel: string, content: string | Uint8Array) => string;
  readonly cleanup: () => void;
}

export function tempConfig(files: Record<string, string | Uint8Array> = {}): TempConfig {
  const dir = mkdtempSync(join(tmpdir(), 'vman-cfg-'));
  const path = (rel: string) => join(dir, rel);
  const write = (rel: string, content: string | Uint8Array) => {
    const p = path(rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
    return p;
  };
  mkdirSync(path('partitions.d'));
  for (const [rel, content] of Object.entries(files)) write(rel, content);
  return { dir, path, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `fn` with a temp config and always removes it. */
export async function withConfig<T>(
  files: Record<string, string | Uint8Array>,
  fn: (c: TempConfig) => Promise<T>,
): Promise<T> {
  const c = tempConfig(files);
  try {
    return await fn(c);
  } finally {
    c.cleanup();
  }
}

/** Loads one manifest text as partitions.d/x.yaml (cwd = the config dir, so files read `partitions.d/x.yaml`). */
export async function loadText(text: string | Uint8Array) {
  return withConfig({ 'partitions.d/x.yaml': text }, (c) => loadManifests(c.dir, c.dir));
}

/** `VALID` with line `n` (1-based) replaced by `lines` (none: deleted). */
export function editLine(n: number, ...lines: string[]): string {
  const all = VALID.split('\n');
  all.splice(n - 1, 1, ...lines);
  return all.join('\n');
}

/** `VALID` with `lines` inserted after line `n`. */
export function insertAfter(n: number, ...lines: string[]): string {
  const all = VALID.split('\n');
  all.splice(n, 0, ...lines);
  return all.join('\n');
}

/** The comparable part of a diagnostic: code and where. */
export function where(d: Diagnostic): {
  code: string;
  line?: number;
  column?: number;
  path?: readonly (string | number)[];
} {
  const p = d.position;
  return { code: d.code, ...(p ? { line: p.line, column: p.column } : {}), ...(p?.path ? { path: p.path } : {}) };
}

const MiB = 1024 * 1024;

/**
 * An arm64 Image (Documentation/arch/arm64/booting.rst §4): the 64-byte header (text_offset u64 LE
 * at 8, image_size at 16, flags at 24, magic "ARM\x64" at 56), then zeros up to `fileSize`.
 */
export function arm64Image(
  o: { fileSize?: number; imageSize?: number; textOffset?: number; flags?: number } = {},
): Uint8Array {
  const bytes = new Uint8Array(o.fileSize ?? 4096);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(8, BigInt(o.textOffset ?? 0), true);
  view.setBigUint64(16, BigInt(o.imageSize ?? 2 * MiB), true);
  // Flags 0xa: little-endian, 4 KiB pages, placeable anywhere in RAM.
  view.setBigUint64(24, BigInt(o.flags ?? 0xa), true);
  bytes.set([0x41, 0x52, 0x4d, 0x64], 56);
  return bytes;
}

/**
 * An ARMv7 zImage header (arch/arm/boot/compressed/head.S): magic at 0x24, start/end at 0x28/0x2c, LE marker at 0x30.
 */
export function armZImage(size = 8192): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 0x24; i += 4) view.setUint32(i, 0xe1a00000, true); // mov r0, r0
  view.setUint32(0x24, 0x016f2818, true);
  view.setUint32(0x28, 0, true);
  view.setUint32(0x2c, size, true);
  view.setUint32(0x30, 0x04030201, true);
  return bytes;
}

/** A Partition manifest from parts (for the rules tests, where positions are read from the result). */
export function partition(
  name: string,
  spec: { cpus?: string; memory?: string; devices?: string; boot?: string[]; dependsOn?: string; extra?: string[] },
): string {
  return [
    'apiVersion: vman.dev/v1alpha1',
    'kind: Partition',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  cpus: ${spec.cpus ?? '1'}`,
    `  memory: ${spec.memory ?? '64Mi'}`,
    ...(spec.devices ? [`  devices: ${spec.devices}`] : []),
    ...(spec.dependsOn ? [`  dependsOn: ${spec.dependsOn}`] : []),
    '  boot:',
    ...(spec.boot ?? ['    kernel: ../images/Image']).map((l) => l),
    ...(spec.extra ?? []),
    '',
  ].join('\n');
}
