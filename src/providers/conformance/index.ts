// `vman provider test NAME|PATH|"COMMAND LINE"`: the provider protocol's conformance suite. Each
// check is tied to a numbered requirement (./requirements.ts, docs/provider-protocol.md
// "Requirements") and prints one line as it ends. Every provider process runs on a fresh scratch
// state directory (its cwd and VMAN_STATE_DIR), every call has a timeout, and every process is
// killed and reaped, and the scratch removed, however the run ends.
import { locateProvider } from '../../backends/provider/locate.js';
import type { CheckResult, ConformanceOptions, ConformanceResult } from './types.js';
import { makeFixture } from './fixture.js';
import { Run, Suite } from './suite.js';
import { CheckFailed } from './process.js';
import { handshake } from './checks/handshake.js';
import { lifecycle } from './checks/lifecycle.js';
import { refusals } from './checks/refusals.js';
import { crashes } from './checks/crashes.js';
import { throughEngine } from './checks/engine.js';
import { concurrency } from './checks/concurrency.js';

export type { CheckResult, ConformanceOptions, ConformanceResult } from './types.js';
export { REQUIREMENTS, type Requirement, type RequirementId } from './requirements.js';

/** How many examples a protocol-wide failure names. */
const EXAMPLES = 3;

function examples(list: readonly string[]): string {
  const more = list.length > EXAMPLES ? ` (and ${list.length - EXAMPLES} more)` : '';
  return `${list.slice(0, EXAMPLES).join(' | ')}${more}`;
}

// The requirements no single check owns: what every message of the run showed.
async function wholeRun(run: Run, t: Suite): Promise<void> {
  const j = run.journal;
  const seen = `${j.sessions} provider processes, ${j.answers + j.errors} answers, ${j.notifications} notifications`;
  await t.check('R1.9', async () => {
    if (j.protocol.length) throw new CheckFailed(`${j.protocol.length} times: ${examples(j.protocol)}`);
  });
  await t.check('R1.10', async () => {
    const hung = [...j.hung.values()];
    if (hung.length) throw new CheckFailed(examples(hung));
  });
  await t.check('R1.11', async () => {
    if (j.retryable.length)
      throw new CheckFailed(`${j.retryable.length} of ${j.errors} errors: ${examples(j.retryable)}`);
  });
  await t.check('R2.1', async () => {
    if (j.schema.length) throw new CheckFailed(`${j.schema.length} messages of ${seen}: ${examples(j.schema)}`);
  });
}

/** Runs the suite against a provider. */
export async function runConformance(o: ConformanceOptions): Promise<ConformanceResult> {
  const command = locateProvider(o.provider, { cwd: o.cwd, env: o.env, vman: o.vman });
  const t = new Suite(o.out, o.signal);
  const fixture = await makeFixture(o.tmpDir);
  const run = new Run({
    argv: command.argv,
    env: o.env,
    fixture,
    ...(o.timeoutMs !== undefined ? { timeoutCapMs: o.timeoutMs } : {}),
  });
  // Stopping kills the providers at once: the call running fails, and no check starts after it.
  const stop = (): void => void run.endAll();
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    for (const group of [handshake, lifecycle, refusals, crashes, concurrency, throughEngine, wholeRun]) {
      if (t.stopped) break;
      await group(run, t);
    }
  } finally {
    o.signal?.removeEventListener('abort', stop);
    await run.dispose();
  }
  const count = (outcome: CheckResult['outcome']) => t.results.filter((r) => r.outcome === outcome).length;
  return {
    provider: command.spec,
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped'),
    interrupted: t.stopped,
    checks: t.results,
  };
}
