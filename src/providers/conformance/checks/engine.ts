// Through vman's engine (R15.1): the provider as `--backend` of a scratch workspace declaring one
// partition. apply, plan (empty), status (running), destroy, status (nothing): what `vman apply
// --backend PROVIDER` and the commands after it do, each opening the engine afresh as the CLI does.
import { join } from 'node:path';
import { Engine, applied } from '../../../engine/engine.js';
import { hasChanges } from '../../../engine/planning.js';
import { DEFAULT_BOARD } from '../../../board/builtin/index.js';
import { CheckFailed, Fault } from '../process.js';
import type { Run, Suite } from '../suite.js';

/** How long the whole cycle may take before the check gives up on it (ms), unless the run caps calls. */
const CYCLE_MS = 180_000;

/** How vman's client words a provider that wrote something other than JSON-RPC (rpc.ts, PeerGone). */
const PROTOCOL_BROKEN = 'broke the protocol';

/** A command line that runs `argv` from any directory (each word single-quoted). */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 1 && argv[0]!.includes('/') && !/[\s'"\\]/.test(argv[0]!)) return argv[0]!;
  return argv.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
}

export async function throughEngine(run: Run, t: Suite): Promise<void> {
  const dir = run.scratch('engine');
  const a = run.fixture.a.name;
  try {
    await t.check('R15.1', async () => {
      const hung = [...run.journal.hung.entries()][0];
      if (hung) throw new Fault('R1.10', `not run through vman's engine: ${hung[1]}`);
      const open = () =>
        Engine.open({
          cwd: dir,
          configDir: run.fixture.engineConfig,
          stateDir: join(dir, 'state'),
          board: DEFAULT_BOARD,
          backend: commandLine(run.o.argv),
          lockTimeoutMs: 5000,
        });
      const cycle = async (): Promise<void> => {
        const stage = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
          try {
            return await f();
          } catch (err) {
            if (err instanceof CheckFailed) throw err;
            const message = `${what} failed: ${err instanceof Error ? err.message : String(err)}`;
            // A fault the suite saw itself is that requirement's failure, not the engine's.
            if (run.journal.protocol.length && message.includes(PROTOCOL_BROKEN)) throw new Fault('R1.9', message);
            throw new CheckFailed(message);
          }
        };
        await stage('apply', async () => applied(await (await open()).apply()));
        const { plan } = await stage('plan after apply', async () => (await open()).plan());
        if (hasChanges(plan)) {
          const what = plan.changes
            .filter((c) => c.action !== 'noop')
            .map((c) => `${c.action} ${c.partition}: ${c.reasons.join('; ')}`);
          throw new CheckFailed(`the plan after apply is not empty: ${what.join(' | ')}`);
        }
        const up = await stage('status after apply', async () => (await open()).status());
        const p = up.partitions.find((x) => x.name === a);
        if (p?.state !== 'running')
          throw new CheckFailed(`status after apply shows \`${a}\` ${p ? p.state : 'absent'}, not running`);
        await stage('destroy', async () => applied(await (await open()).destroy([])));
        const down = await stage('status after destroy', async () => (await open()).status());
        if (down.partitions.length || down.orphans.length)
          throw new CheckFailed(
            `after destroy, status shows ${down.partitions.map((x) => `\`${x.name}\` ${x.state}`).join(', ')}` +
              `${down.orphans.length ? ` and ${down.orphans.length} orphans` : ''}`,
          );
      };
      const limit = run.o.timeoutCapMs !== undefined ? run.o.timeoutCapMs * 10 : CYCLE_MS;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Fault('R1.10', `the cycle through vman's engine did not end within ${limit / 1000} s`)),
          limit,
        );
      });
      const done = cycle();
      done.catch(() => undefined);
      try {
        await Promise.race([done, late]);
      } finally {
        clearTimeout(timer);
      }
    });
  } finally {
    await run.endAll(dir);
  }
}
