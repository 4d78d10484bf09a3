// A long-running `vman … --json` command (`watch`, `agent`) as a child process: its JSON-lines events
// collected as they arrive, waited for by predicate, and the process stopped as a user stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from './cli.js';

export class CliProcess<E extends { readonly event: string }> {
  readonly events: E[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  protected readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  /** Runs `vman ARGS` in `cwd`; `name` says which command in messages (`vman watch`). */
  constructor(
    private readonly name: string,
    cwd: string,
    args: readonly string[],
    env: Record<string, string> = {},
  ) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', VMAN_CONFIG_DIR: '', VMAN_STATE_DIR: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = this.child.stdout;
    if (!stdout) throw new Error('no stdout');
    createInterface({ input: stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as E);
      } catch {
        this.events.push({ event: 'error', message: `not JSON: ${line}`, time: '' } as unknown as E);
      }
      this.wake();
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        resolve({ code, signal });
        this.wake();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The first event at index >= `from` that matches, within `ms`. */
  async waitFor(match: (e: E) => boolean, what: string, ms = 10_000, from = 0): Promise<E> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.events.slice(from).find(match);
      if (hit) return hit;
      if (!this.alive) throw new Error(`${this.name} exited while waiting for ${what}\n${this.dump()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} from ${this.name}\n${this.dump()}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** SIGTERM and wait for the exit (the command finishes its running step first). */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.child.kill('SIGTERM');
    return this.exited;
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  dump(): string {
    return `events:\n${this.events.map((e) => JSON.stringify(e)).join('\n')}\nstderr:\n${this.stderr}`;
  }
}
