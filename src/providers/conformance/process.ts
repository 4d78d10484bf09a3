// One provider process as the suite runs it: spawned in a process group of its own (so SIGKILL
// reaches a provider that is a wrapper around another), spoken to through the protocol's LinePeer,
// every call bounded by its method's timeout, every answer checked against its schema, and every
// way it can go wrong kept as data for the checks (a timeout, a line that is not JSON-RPC, an exit).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { LinePeer, PeerGone, RpcError } from '../../backends/provider/rpc.js';
import { METHOD_TIMEOUT_MS, type Method } from '../../backends/provider/protocol.js';
import { checkError, checkNotification, checkResult } from '../../backends/provider/validate.js';
import type { RequirementId } from './requirements.js';
import { groupAlive } from './leftovers.js';

/** A failure that belongs to a protocol-wide requirement, whichever check met it (a hang, a stray line). */
export class Fault extends Error {
  constructor(
    readonly requirement: RequirementId,
    message: string,
  ) {
    super(message);
    this.name = 'Fault';
  }
}

/** A check's own expectation that did not hold. */
export class CheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailed';
  }
}

/** What the whole run saw of every provider process, for the protocol-wide checks at the end. */
export class Journal {
  sessions = 0;
  answers = 0;
  errors = 0;
  notifications = 0;
  /** Answers and notifications that do not match their schema. */
  readonly schema: string[] = [];
  /** Error answers without a boolean `data.retryable`. */
  readonly retryable: string[] = [];
  /** Lines on stdout that are not JSON-RPC. */
  readonly protocol: string[] = [];
  /** Methods that were not answered in time, and what happened: later calls of them fail at once. */
  readonly hung = new Map<string, string>();
  /** How long each method took to succeed, in ms (for the crash checks' kill delays). */
  readonly durations = new Map<string, number[]>();

  took(method: string, ms: number): void {
    const list = this.durations.get(method) ?? [];
    list.push(ms);
    this.durations.set(method, list);
  }

  /** The median time `method` took so far, if it ever answered. */
  typical(method: string): number | undefined {
    const list = [...(this.durations.get(method) ?? [])].sort((a, b) => a - b);
    return list.length ? list[Math.floor(list.length / 2)] : undefined;
  }
}

export interface Launch {
  readonly argv: readonly string[];
  /** The provider's working directory and VMAN_STATE_DIR: its scratch state. */
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly journal: Journal;
  /** Caps every call's timeout (ms). */
  readonly timeoutCapMs?: number;
}

/** The part of a provider's stderr kept for messages. */
const STDERR_KEEP = 2048;
/** How long a killed provider may take to be reaped. */
const REAP_MS = 2000;
/** The timeout of a method the protocol does not define (the suite's probes). */
const OTHER_TIMEOUT_MS = 10_000;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A short, printable form of a value, for messages. */
export function brief(v: unknown, max = 120): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** How a process ended, for messages. */
function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit status ${code}`;
}

export class ProviderProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly peer: LinePeer;
  private ids = 0;
  /** Every answer as it came, by id (LinePeer keeps only what the client needs). */
  private readonly raw = new Map<number, Json>();
  private partial = '';
  private stderr = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private spawnError: Error | undefined;
  /** The line that broke the protocol, once one did. */
  private broken: string | undefined;
  private killedByUs = false;
  /** The fault that ended this process (a hang, a stray line): every later call fails with it. */
  fatal: Fault | undefined;

  constructor(private readonly l: Launch) {
    const [program = '', ...args] = l.argv;
    l.journal.sessions++;
    this.child = spawn(program, args, {
      cwd: l.dir,
      env: { ...l.env, VMAN_STATE_DIR: l.dir },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
    this.child.once('error', (err) => {
      this.spawnError = err;
      this.peer.end(new PeerGone(`the provider could not be started: ${err.message}`, 'closed'));
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    this.peer = new LinePeer(
      this.child.stdout,
      this.child.stdin,
      {
        notification: (method, params) => this.notified(method, params),
        broken: (why) => {
          this.broken = why;
          l.journal.protocol.push(why);
          void this.kill();
        },
      },
      'the provider',
      true,
    );
    this.child.stdout.on('data', (chunk: Buffer) => this.tap(chunk));
    this.child.once('close', (code, signal) =>
      this.peer.end(new PeerGone(`the provider exited (${exitText(code, signal)})`, 'closed')),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  // Keeps each answer's raw form: LinePeer reduces an error's data to what vman uses.
  private tap(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        continue; // LinePeer reports it
      }
      if (isObject(msg) && typeof msg.id === 'number' && msg.method === undefined) this.raw.set(msg.id, msg);
    }
  }

  private notified(method: string, params: unknown): void {
    this.l.journal.notifications++;
    const problem = checkNotification(method, params);
    if (problem !== undefined) this.l.journal.schema.push(`notification ${method} ${brief(params, 80)}: ${problem}`);
  }

  /** The end of what the provider wrote on stderr, for messages. */
  stderrTail(): string {
    const lines = this.stderr.trim().split('\n').slice(-3).join(' | ');
    return lines ? `; its stderr ends: ${brief(lines, 300)}` : '';
  }

  /** Sends a request and waits for its answer; errors come back as RpcError, the rest as Fault or CheckFailed. */
  async call(method: string, params: unknown, o: { timeoutMs?: number } = {}): Promise<unknown> {
    const hung = this.l.journal.hung.get(method);
    if (hung !== undefined) throw new Fault('R1.10', `${method} was not called again: ${hung}`);
    if (this.fatal) throw new Fault(this.fatal.requirement, `not run: ${this.fatal.message}`);
    const known = method in METHOD_TIMEOUT_MS;
    const base = o.timeoutMs ?? (known ? METHOD_TIMEOUT_MS[method as Method] : OTHER_TIMEOUT_MS);
    const timeoutMs = Math.min(base, this.l.timeoutCapMs ?? Infinity);
    const id = ++this.ids;
    const started = Date.now();
    try {
      const result = await this.peer.request(method, params, { timeoutMs });
      this.l.journal.answers++;
      this.l.journal.took(method, Date.now() - started);
      if (known) {
        const problem = checkResult(method as Method, result);
        if (problem !== undefined) this.l.journal.schema.push(`${method} answered ${brief(result, 80)}: ${problem}`);
      }
      return result;
    } catch (err) {
      if (err instanceof RpcError) {
        this.l.journal.errors++;
        const raw = this.raw.get(id)?.error;
        const data = isObject(raw) ? raw.data : undefined;
        if (!isObject(data) || typeof data.retryable !== 'boolean')
          this.l.journal.retryable.push(`${method} answered the error ${brief(raw, 160)}`);
        const problem = checkError(raw);
        if (problem !== undefined)
          this.l.journal.schema.push(`${method} answered the error ${brief(raw, 80)}: ${problem}`);
        throw err;
      }
      throw await this.gone(err, method, timeoutMs);
    } finally {
      this.raw.delete(id);
    }
  }

  // What a call that got no answer means: a hang (R1.10), a stray line (R1.9), or an exit.
  private async gone(err: unknown, method: string, timeoutMs: number): Promise<Error> {
    if (!(err instanceof PeerGone)) return err instanceof Error ? err : new Error(String(err));
    if (err.why === 'timeout') {
      const why = `the provider did not answer ${method} within ${timeoutMs / 1000} s (it was killed)`;
      this.l.journal.hung.set(method, why);
      await this.kill();
      this.fatal = new Fault('R1.10', why);
      return this.fatal;
    }
    if (this.broken !== undefined) return (this.fatal = new Fault('R1.9', this.broken));
    if (this.spawnError) return new CheckFailed(err.message);
    await this.waitExit(REAP_MS);
    const how = this.exit ? exitText(this.exit.code, this.exit.signal) : 'closed its stdout';
    const by = this.killedByUs ? ' (by the suite)' : '';
    return new CheckFailed(`the provider exited during ${method} (${how}${by})${this.stderrTail()}`);
  }

  /** Sends a request without waiting (the crash checks kill the provider meanwhile). */
  send(method: string, params: unknown): Promise<unknown> {
    const p = this.call(method, params);
    p.catch(() => undefined);
    return p;
  }

  /** Closes the provider's stdin. */
  endInput(): void {
    this.child.stdin.end();
  }

  /** Whether the process exits within `ms`. */
  async waitExit(ms: number): Promise<boolean> {
    if (this.exit) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const done = await Promise.race([this.exited.then(() => true as const), late]);
    clearTimeout(timer);
    return done;
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  /** SIGKILL to its process group, then reaped, and waited for until nothing of the group is alive. */
  async kill(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && !this.exit) {
      this.killedByUs = true;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        this.child.kill('SIGKILL');
      }
    }
    await this.waitExit(REAP_MS);
    // The whole group: a provider that is a wrapper has children that must not act after this.
    for (const deadline = Date.now() + REAP_MS; pid !== undefined && groupAlive(pid) && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 10));
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
  }
}
