// The suite's machinery: each check runs, is tied to its requirement, prints its line and becomes a
// CheckResult; a session is one provider process with the calls checks make (expect an answer,
// expect a refusal with a code, expect nothing to change); the run owns the scratch directories
// and every process, and ends them all whatever happened.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Board } from '../../board/model.js';
import { RpcError } from '../../backends/provider/rpc.js';
import { PROTOCOL_VERSIONS, type Capabilities } from '../../backends/provider/protocol.js';
import { vmanVersion } from '../../cli/version.js';
import type { CheckResult } from './types.js';
import { requirement, type RequirementId } from './requirements.js';
import { brief, CheckFailed, Fault, Journal, ProviderProcess } from './process.js';
import { difference, snapshot, describe, type Snapshot } from './snapshot.js';
import { killLeftovers } from './leftovers.js';
import type { Fixture } from './fixture.js';

/** A check that did not run because a capability excludes it. */
export class Skipped {
  constructor(readonly why: string) {}
}

type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const TAGS = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' } as const;

/** Runs checks and keeps their results; prints each check's line as it ends. */
export class Suite {
  readonly results: CheckResult[] = [];

  constructor(
    private readonly out: (line: string) => void,
    private readonly signal?: AbortSignal,
  ) {}

  /** Whether the run was stopped: no check starts, and one that was running is not recorded. */
  get stopped(): boolean {
    return this.signal?.aborted === true;
  }

  /**
   * Runs one check of requirement `id`; `context` says which case (a method, a kill point). Whether it
   * passed. `quiet`: a check that passes leaves no line (a precondition of other checks).
   */
  async check(
    id: RequirementId,
    run: () => Promise<void | Skipped>,
    context?: string,
    o: { readonly quiet?: boolean } = {},
  ): Promise<boolean> {
    if (this.stopped) return false;
    const started = Date.now();
    try {
      const r = await run();
      if (this.stopped) return false;
      if (r instanceof Skipped) this.record(id, 'skipped', r.why, started, context);
      else if (!o.quiet) this.record(id, 'passed', undefined, started, context);
      return true;
    } catch (err) {
      if (this.stopped) return false;
      if (err instanceof Fault) {
        const where = `${id}${context ? ` (${context})` : ''}`;
        this.record(err.requirement, 'failed', `${err.message} [in ${where}]`, started);
      } else if (err instanceof CheckFailed) {
        this.record(id, 'failed', err.message, started, context);
      } else if (err instanceof RpcError) {
        this.record(id, 'failed', `an unexpected error ${err.code}: ${err.message}`, started, context);
      } else {
        const e = err instanceof Error ? err : new Error(String(err));
        this.record(id, 'failed', `the check itself failed (${e.name}: ${e.message})`, started, context);
      }
      return false;
    }
  }

  skip(id: RequirementId, why: string, context?: string): void {
    this.record(id, 'skipped', why, Date.now(), context);
  }

  private record(
    id: RequirementId,
    outcome: CheckResult['outcome'],
    detail: string | undefined,
    started: number,
    context?: string,
  ): void {
    const title = `${requirement(id).title}${context ? ` (${context})` : ''}`;
    const result: CheckResult = {
      requirement: id,
      title,
      outcome,
      ...(detail !== undefined ? { detail } : {}),
      ms: Date.now() - started,
    };
    this.results.push(result);
    this.out(`${TAGS[outcome]} ${id} ${title}${detail !== undefined ? ` — ${detail}` : ''}`);
  }
}

/** A call's description for messages: `allocate {"partition":"conf-a",…}`. */
function callText(method: string, params: unknown): string {
  return `${method} ${brief(params, 100)}`;
}

/** One provider process and the calls checks make through it. */
export class Session {
  constructor(readonly process: ProviderProcess) {}

  /** The call must succeed; its result. */
  async ok(method: string, params: unknown, o: { timeoutMs?: number } = {}): Promise<unknown> {
    try {
      return await this.process.call(method, params, o);
    } catch (err) {
      if (err instanceof RpcError)
        throw new CheckFailed(`${callText(method, params)} answered error ${err.code}: ${err.message}`);
      throw err;
    }
  }

  /** The call must succeed with `{}`. */
  async empty(method: string, params: unknown, o: { timeoutMs?: number } = {}): Promise<void> {
    const r = await this.ok(method, params, o);
    if (!isObject(r) || Object.keys(r).length > 0)
      throw new CheckFailed(`${callText(method, params)} answered ${brief(r)}, not {}`);
  }

  /** The call must fail with one of `codes`; the error. */
  async error(method: string, params: unknown, codes: readonly number[], o: { timeoutMs?: number } = {}) {
    let result: unknown;
    try {
      result = await this.process.call(method, params, o);
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      if (!codes.includes(err.code))
        throw new CheckFailed(
          `${callText(method, params)} answered error ${err.code} (${err.message}), not ${codes.join(' or ')}`,
        );
      return err;
    }
    throw new CheckFailed(
      `${callText(method, params)} succeeded (${brief(result, 60)}); expected error ${codes.join(' or ')}`,
    );
  }

  async inspect(): Promise<Snapshot> {
    return snapshot(await this.ok('inspect', {}));
  }

  async inspectRaw(): Promise<unknown> {
    return this.ok('inspect', {});
  }

  /** `act` must leave what inspect shows as it was. */
  async unchanged(what: string, act: () => Promise<unknown>): Promise<void> {
    const before = await this.inspect();
    await act();
    const after = await this.inspect();
    if (after !== before) throw new CheckFailed(`${what} changed what inspect shows: ${difference(before, after)}`);
  }

  /** The refusal must come with `codes` and change nothing. */
  async refused(method: string, params: unknown, codes: readonly number[]): Promise<void> {
    await this.unchanged(`the refused ${method}`, () => this.error(method, params, codes));
  }

  /** The call must succeed with `{}` and, as a repeat, change nothing. */
  async repeat(method: string, params: unknown, o: { timeoutMs?: number } = {}): Promise<void> {
    await this.unchanged(`${method} repeated`, () => this.empty(method, params, o));
  }

  /** The state must be `expected`. */
  async expect(expected: Snapshot, what: string): Promise<void> {
    const got = await this.inspect();
    if (got !== expected)
      throw new CheckFailed(
        `${what}: inspect shows ${describe(got)}; expected ${describe(expected)} (${difference(expected, got)})`,
      );
  }
}

export interface RunOptions {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly fixture: Fixture;
  readonly timeoutCapMs?: number;
}

/** The run: scratch directories, every process started, and what the provider said it can do. */
export class Run {
  readonly journal = new Journal();
  private readonly live = new Set<ProviderProcess>();
  private dirs = 0;
  /** From the first successful initialize. */
  capabilities: Capabilities | undefined;

  constructor(readonly o: RunOptions) {}

  get board(): Board {
    return this.o.fixture.board;
  }

  get fixture(): Fixture {
    return this.o.fixture;
  }

  /** A fresh, empty state directory. */
  scratch(label: string): string {
    const dir = join(this.o.fixture.root, `${String(++this.dirs).padStart(2, '0')}-${label}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Starts a provider on `dir`, without initializing it. */
  spawn(dir: string): ProviderProcess {
    const p = new ProviderProcess({
      argv: this.o.argv,
      dir,
      env: this.o.env,
      journal: this.journal,
      ...(this.o.timeoutCapMs !== undefined ? { timeoutCapMs: this.o.timeoutCapMs } : {}),
    });
    this.live.add(p);
    return p;
  }

  /** initialize's params, offering `versions`. */
  initializeParams(versions: readonly string[] = PROTOCOL_VERSIONS): unknown {
    return { protocolVersions: versions, client: { name: 'vman', version: vmanVersion() }, board: this.board };
  }

  /** Starts a provider on `dir` and initializes it; a provider that refuses to start fails the check. */
  async open(dir: string): Promise<Session> {
    const p = this.spawn(dir);
    const s = new Session(p);
    const r = await s.ok('initialize', this.initializeParams()).catch(async (err: unknown) => {
      await this.end(p);
      throw err;
    });
    if (!this.capabilities && isObject(r) && isObject(r.capabilities))
      this.capabilities = r.capabilities as unknown as Capabilities;
    return s;
  }

  /**
   * The session a group of checks shares on `dir`: started when first needed, started again after the
   * provider exited by itself; after a hang or a stray line, every later check fails with that fault.
   */
  sessionOn(dir: string): () => Promise<Session> {
    let s: Session | undefined;
    return async () => {
      const fatal = s?.process.fatal;
      if (fatal) throw new Fault(fatal.requirement, `not run: ${fatal.message}`);
      if (!s || s.process.hasExited) s = await this.open(dir);
      return s;
    };
  }

  /** Kills and reaps a provider. */
  async end(p: ProviderProcess): Promise<void> {
    await p.kill();
    this.live.delete(p);
  }

  /** Kills and reaps every provider, then whatever is left under `dir`. */
  async endAll(dir?: string): Promise<void> {
    for (const p of [...this.live]) await this.end(p);
    if (dir) killLeftovers(dir);
  }

  /** Ends everything and removes the scratch root. */
  async dispose(): Promise<void> {
    await this.endAll(this.o.fixture.root);
    // A QEMU killed a moment ago may still hold files: a second try, then leave the rest.
    for (let i = 0; i < 3; i++) {
      try {
        rmSync(this.o.fixture.root, { recursive: true, force: true });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}
