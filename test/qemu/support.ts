// Shared by the QEMU backend's end-to-end tests: the payload cache (scripts/fetch-payloads.sh),
// temp config dirs driven through the built CLI with `--backend qemu`, the probe's facts, and the
// host's view of the QEMU processes (/proc).
import { test } from 'uvu';
import { skip } from '../helpers/skip.js';
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CLI, ROOT, cleanup, tempConfig, vman, vmanJson, type Result } from '../helpers/cli.js';
import { PAYLOAD_CACHE, probeFacts } from '../payloads/support.js';

export { probeFacts, PAYLOAD_CACHE };

/** The cache's MANIFEST (name → absolute path), or undefined when the payloads were never fetched. */
export function payloads(): Map<string, string> | undefined {
  const file = join(PAYLOAD_CACHE, 'MANIFEST');
  if (!existsSync(file)) return undefined;
  const map = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [name, , path] = line.trim().split(/\s+/);
    if (name && path && existsSync(path)) map.set(name, path);
  }
  return map;
}

/** What a QEMU suite needs from the machine: payloads from the cache, and programs on PATH. */
export interface Needs {
  /** Names in the payload cache's MANIFEST (scripts/fetch-payloads.sh). */
  readonly payloads?: readonly string[];
  /** Programs that must be on PATH (QEMU's binaries). */
  readonly tools?: readonly string[];
}

/** Debian packages of the programs the QEMU suites run, for the reason a missing one gives (`script`: a terminal). */
const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'qemu-system-aarch64': 'qemu-system-arm',
  'qemu-system-arm': 'qemu-system-arm',
  'qemu-system-riscv64': 'qemu-system-misc',
  script: 'bsdutils',
};

/** Whether `tool` is an executable file in a directory of PATH. */
function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The one place a QEMU suite decides that it cannot run here. With everything `suite` needs present,
 * returns the payloads by name. Otherwise, under CI (CI=true or CI=1: the CI machine has every tool
 * and payload) the suite fails with the reason; elsewhere it counts as skipped (test/helpers/skip.ts).
 * Either way it returns undefined and the suite registers no tests of its own.
 */
export function requireTools(suite: string, needs: Needs): Map<string, string> | undefined {
  const reasons: string[] = [];
  const missingTools = (needs.tools ?? []).filter((t) => !onPath(t));
  if (missingTools.length) {
    const packages = [...new Set(missingTools.map((t) => TOOL_PACKAGES[t] ?? t))];
    reasons.push(`no ${missingTools.join(', ')} on PATH (Debian: apt-get install ${packages.join(' ')})`);
  }
  const p = payloads();
  const missingPayloads = (needs.payloads ?? []).filter((n) => !p?.has(n));
  if (missingPayloads.length) {
    reasons.push(`no ${missingPayloads.join(', ')} in ${PAYLOAD_CACHE}; run scripts/fetch-payloads.sh to boot them`);
  }
  if (!reasons.length) return p ?? new Map();
  // One registered test that skips (test/helpers/skip.ts): counted as skipped, and a failure under CI.
  test(`${suite}: what it needs is here`, () => skip(`${suite}: ${reasons.join('; ')}`));
  return undefined;
}

export interface StatusJson {
  board: string;
  backend: string;
  partitions: {
    name: string;
    state: string;
    cpus: number[];
    memory: { base: number; size: number };
    devices: string[];
    drift: string[] | null;
    /** Restarts by `vman watch`'s restart policy. */
    restarts: number;
  }[];
  orphans: { owner: string; detail: string }[];
}
export interface PlanJson {
  changes: { partition: string; action: string; reasons: string[] }[];
  steps: { id: string; partition: string; kind: string; after: string[] }[];
}
export interface BoardJson {
  cpus: { id: number; hwid: number }[];
}

/** A temp config dir on one board with the qemu backend, and ways to run vman in it. */
export class QemuConfig {
  readonly dir = tempConfig();
  readonly state: string;

  /** `backend`: `qemu`, or a provider that serves it (`vman provider serve qemu`). */
  constructor(
    readonly board: string,
    readonly backend = 'qemu',
  ) {
    this.state = join(this.dir, '.vman');
  }

  private args(args: readonly string[]): string[] {
    return [...args, '--board', this.board, '--backend', this.backend];
  }

  run(args: readonly string[]): Result {
    return vman(this.dir, this.args(args));
  }

  json<T>(args: readonly string[]): { code: number; json: T; stderr: string } {
    return vmanJson<T>(this.dir, this.args(args));
  }

  /** Runs vman without waiting (the test watches the guests meanwhile). */
  start(
    args: readonly string[],
  ): Promise<Result & { readonly lines: { readonly at: number; readonly text: string }[] }> {
    const child = spawn(process.execPath, [CLI, ...this.args(args)], {
      cwd: this.dir,
      env: { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '' },
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: { at: number; text: string }[] = [];
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ at: Date.now(), text });
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((res) => child.on('close', (code) => res({ code: code ?? -1, stdout, stderr, lines })));
  }

  write(name: string, yaml: string): void {
    writeFileSync(join(this.dir, 'partitions.d', `${name}.yaml`), yaml);
  }

  status(): StatusJson {
    const r = this.json<StatusJson>(['status']);
    if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
    return r.json;
  }

  plan(): PlanJson {
    return this.json<PlanJson>(['plan']).json;
  }

  /** `vman apply --auto-approve`, which must succeed. */
  apply(): Result {
    const r = this.run(['apply', '--auto-approve']);
    if (r.code !== 0) throw new Error(`apply failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  /** `vman plan --detailed-exitcode` must find no changes (exit 0). */
  converged(): void {
    const r = this.run(['plan', '--detailed-exitcode']);
    if (r.code !== 0) throw new Error(`the plan is not empty (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }

  console(name: string): string {
    const r = this.run(['console', name]);
    if (r.code !== 0) throw new Error(`console ${name} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** The partition's files under STATE/qemu/NAME/. */
  file(name: string, file: string): string {
    return join(this.state, 'qemu', name, file);
  }

  /** QEMU pids by partition, from the pid files the backend keeps. */
  qemuPids(): Map<string, number> {
    const root = join(this.state, 'qemu');
    const out = new Map<string, number>();
    if (!existsSync(root)) return out;
    for (const name of readdirSync(root)) {
      const f = join(root, name, 'qemu.pid');
      if (existsSync(f)) out.set(name, Number(readFileSync(f, 'utf8').trim().split(' ')[1]));
    }
    return out;
  }

  /** Destroys whatever is left (best effort) and removes the dir. */
  dispose(): void {
    const pids = [...this.qemuPids().values()];
    if (pids.some(running)) this.run(['destroy', '--auto-approve']);
    for (const pid of pids) if (running(pid)) process.kill(pid, 'SIGKILL');
    cleanup(this.dir);
  }
}

/** Whether a process runs (a zombie does not). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** QEMU processes on the host whose command line names `dir` (the test's state dir). */
export function qemuProcessesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      // In QEMU's option lists a comma of the path is written twice.
      const named = (a: string) => a.includes(dir) || a.includes(dir.replaceAll(',', ',,'));
      if (argv[0]?.includes('qemu-system') && argv.some(named)) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Polls `check` every `everyMs` until it returns a value, or throws after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | undefined, timeoutMs: number, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A Partition manifest. */
export function manifest(name: string, spec: string): string {
  return `apiVersion: vman.dev/v1alpha1\nkind: Partition\nmetadata:\n  name: ${name}\nspec:\n${spec.replace(/^/gm, '  ').trimEnd()}\n`;
}

/** One newc entry (the kernel's initramfs format, Documentation/driver-api/early-userspace/buffer-format.rst). */
function newcEntry(name: string, mode: number, data: Uint8Array): Buffer {
  const pad = (n: number) => (4 - (n % 4)) % 4;
  const fields = [1, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0];
  const head = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}${name}\0`;
  return Buffer.concat([
    Buffer.from(head, 'latin1'),
    Buffer.alloc(pad(head.length)),
    Buffer.from(data),
    Buffer.alloc(pad(data.length)),
  ]);
}

/**
 * The cached initramfs with this tree's test/payloads/linux/init as /init: an uncompressed newc
 * archive appended after the cached one (on a 4-byte boundary), whose entries replace the earlier
 * ones as the kernel unpacks them. So a QEMU suite boots the init it reads, whatever the payload
 * cache was built from. Written into `dir`; returns its path.
 */
export function initrdWithThisInit(cached: string, dir: string): string {
  const init = readFileSync(join(ROOT, 'test', 'payloads', 'linux', 'init'));
  const base = readFileSync(cached);
  const archive = Buffer.concat([newcEntry('init', 0o100755, init), newcEntry('TRAILER!!!', 0, new Uint8Array(0))]);
  const out = join(dir, 'initramfs-this-init.cpio');
  writeFileSync(out, Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4), archive]));
  return out;
}

/** "0x2,0x3"-style hwid list for logical cores, as the probe prints them. */
export function hwidsOf(board: BoardJson, cpus: readonly number[]): string[] {
  return cpus.map((id) => {
    const c = board.cpus.find((x) => x.id === id);
    if (!c) throw new Error(`core ${id} not on the board`);
    return `0x${c.hwid.toString(16)}`;
  });
}

/** Seconds from the apply's "ready … after release" note, per partition. */
export function readyTimes(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of stdout.matchAll(/^(\S+): ready ([\d.]+)s after release/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}
