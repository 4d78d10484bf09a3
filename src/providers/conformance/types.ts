// What `vman provider test` takes and gives back.

export interface ConformanceOptions {
  /** The provider as the user named it: NAME (vman-provider-NAME on PATH), a PATH, or a "COMMAND LINE". */
  readonly provider: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** The command that runs this vman (node and its launcher), for `vman …` command lines. */
  readonly vman: readonly string[];
  /** Each check's line as it finishes. */
  readonly out: (line: string) => void;
  /**
   * Caps every call's timeout (ms), below the protocol's (a load may take 300 s): for proving that a
   * provider that hangs fails the suite without waiting that long.
   */
  readonly timeoutMs?: number;
  /** Where the run's scratch directory is made (default: the system's temporary directory). */
  readonly tmpDir?: string;
  /** Aborting it ends the run: the providers are killed, and the checks that finished are the result. */
  readonly signal?: AbortSignal;
}

/** One check: the numbered requirement it tests, and how it went. */
export interface CheckResult {
  /** The requirement's number, e.g. "R4.2". */
  readonly requirement: string;
  readonly title: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  /** Why it failed, or which capability excluded it. */
  readonly detail?: string;
  readonly ms: number;
}

export interface ConformanceResult {
  readonly provider: string;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** The run was stopped (ConformanceOptions.signal) before every check ran. */
  readonly interrupted: boolean;
  readonly checks: readonly CheckResult[];
}
