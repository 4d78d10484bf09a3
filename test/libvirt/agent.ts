// A real `vman watch --libvirt SOCKET` in a temporary config directory, for the end-to-end tests: it
// is started as users start it (the built CLI), and the tests drive it with stock virsh and
// libvirt-python through the socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, cleanup, tempConfig, vman, vmanJson } from '../helpers/cli.js';

export interface WatchEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

export class LibvirtAgent {
  readonly dir = tempConfig();
  readonly socket: string;
  readonly events: WatchEvent[] = [];
  private child: ChildProcess | undefined;
  private stderr = '';

  constructor(
    private readonly extra: readonly string[] = [],
    private readonly env: Readonly<Record<string, string>> = {},
  ) {
    this.socket = join(this.dir, 'vman.sock');
  }

  /** Starts the agent and waits until its socket listens. */
  async start(): Promise<void> {
    const args = [CLI, 'watch', '--json', '--libvirt', this.socket, '--resync', '2s', ...this.extra];
    const child = spawn(process.execPath, args, {
      cwd: this.dir,
      env: { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let partial = '';
    child.stdout?.on('data', (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) this.events.push(JSON.parse(l) as WatchEvent);
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    await this.until('the libvirt socket to listen', () =>
      this.events.some((e) => e.event === 'libvirt' && e.what === 'listening'),
    );
  }

  /** Waits for `cond`, failing with the agent's output after `timeoutMs`. */
  async until<T>(what: string, cond: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = cond();
      if (v) return v;
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(`the agent exited (${this.child.exitCode}) waiting for ${what}: ${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `vman status --json` in the agent's config. */
  status(): { partitions: { name: string; state: string; cpus: number[]; memory: { size: number } }[] } {
    return vmanJson<ReturnType<LibvirtAgent['status']>>(this.dir, ['status']).json;
  }

  /** The manifests in partitions.d/, by file name, with their text. */
  manifests(): Record<string, string> {
    const d = join(this.dir, 'partitions.d');
    return Object.fromEntries(readdirSync(d).map((f) => [f, readFileSync(join(d, f), 'utf8')]));
  }

  /** A raw image file in the config dir (what a bare-metal partition boots). */
  image(name = 'img.bin'): string {
    const p = join(this.dir, name);
    if (!existsSync(p))
      writeFileSync(
        p,
        new Uint8Array(64 * 1024).map((_, i) => (i * 13) & 0xff),
      );
    return p;
  }

  write(file: string, text: string): void {
    mkdirSync(join(this.dir, 'partitions.d'), { recursive: true });
    writeFileSync(join(this.dir, file), text);
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  /**
   * Stops the agent (SIGTERM), destroys what it left live (QEMU processes outlive the agent, and a
   * failed test must not leave them running), and removes the directory.
   */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const done = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await done;
    }
    const backend = this.extra.filter(
      (a, i) => ['--backend', '--board'].includes(a) || ['--backend', '--board'].includes(this.extra[i - 1] ?? ''),
    );
    vman(this.dir, ['destroy', '--auto-approve', '--lock-timeout', '60s', ...backend]);
    cleanup(this.dir);
  }
}

/** Domain XML for a bare-metal partition booting `image`. */
export function domainXml(
  name: string,
  image: string,
  o: { memoryMiB?: number; vcpu?: number; pins?: number[]; devices?: string[] } = {},
): string {
  const pins = o.pins ?? [];
  const devices = (o.devices ?? []).map((d) => `<vman:device name='${d}'/>`).join('');
  return [
    "<domain type='vman'>",
    `  <name>${name}</name>`,
    "  <metadata><vman:partition xmlns:vman='https://vman.dev/xmlns/libvirt/1'>",
    `    <vman:image/>${devices ? `<vman:devices>${devices}</vman:devices>` : ''}`,
    '  </vman:partition></metadata>',
    `  <memory unit='MiB'>${o.memoryMiB ?? 16}</memory>`,
    `  <vcpu>${pins.length || o.vcpu || 1}</vcpu>`,
    ...(pins.length
      ? ['  <cputune>', ...pins.map((c, i) => `    <vcpupin vcpu='${i}' cpuset='${c}'/>`), '  </cputune>']
      : []),
    '  <os>',
    "    <type arch='aarch64' machine='qemu-virt-aarch64'>hvm</type>",
    `    <kernel>${image}</kernel>`,
    '  </os>',
    '</domain>',
    '',
  ].join('\n');
}
