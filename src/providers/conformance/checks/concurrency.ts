// Capability `concurrent` (R14.4): two partitions brought up and torn down with each pair of calls in
// flight at once, and two allocates of one core racing, round after round: exactly one may win.
import { ErrorCode } from '../../../backends/provider/protocol.js';
import { RpcError } from '../../../backends/provider/rpc.js';
import { brief, CheckFailed } from '../process.js';
import { Skipped, type Run, type Suite } from '../suite.js';
import { describe, partitionsOf } from '../snapshot.js';
import type { Planned, StepParams } from '../fixture.js';
import { waitTimeout } from './lifecycle.js';

/** How many times two allocates of one core race. */
const RACES = 5;

const ORDER = [
  'allocate',
  'buildFdt',
  'load',
  'releaseCores',
  'waitReady',
  'stopCores',
  'scrubMemory',
  'releaseResources',
] as const satisfies readonly (keyof StepParams)[];

export async function concurrency(run: Run, t: Suite): Promise<void> {
  const { a, b } = run.fixture;
  // Each check on a state of its own: the race does not start from what a failed bring-up left.
  const dirs = [run.scratch('concurrency'), run.scratch('concurrency-race')] as const;
  const [together, race] = dirs.map((d) => run.sessionOn(d));
  const capable = (): Skipped | undefined =>
    run.capabilities?.concurrent === true ? undefined : new Skipped('capability concurrent is false');
  try {
    await t.check(
      'R14.4',
      async () => {
        const no = capable();
        if (no) return no;
        const s = await together!();
        for (const method of ORDER) {
          const o = (p: Planned) => (method === 'waitReady' ? { timeoutMs: waitTimeout(p) } : {});
          await Promise.all([a, b].map((p) => s.empty(method, p.params[method], o(p))));
          const shown = partitionsOf(await s.inspectRaw());
          const want = method === 'releaseResources' ? [] : [a.name, b.name];
          if ([...shown.keys()].sort().join() !== want.join()) {
            const seen = describe(await s.inspect());
            throw new CheckFailed(
              `after ${method} of both at once, inspect shows ${seen}, not ${want.join(' and ') || 'nothing'}`,
            );
          }
          const running = method === 'releaseCores' || method === 'waitReady';
          for (const p of shown.values())
            if ((p.state === 'running') !== running)
              throw new CheckFailed(`after ${method} of both at once, \`${String(p.name)}\` is ${String(p.state)}`);
        }
      },
      'two partitions brought up and torn down at once',
    );
    await t.check(
      'R14.4',
      async () => {
        const no = capable();
        if (no) return no;
        const s = await race!();
        const rival = { ...b.params.allocate, cpus: a.params.allocate.cpus };
        for (let round = 1; round <= RACES; round++) {
          const outcomes = await Promise.all(
            [a.params.allocate, rival].map((params) =>
              s.process.call('allocate', params).then(
                () => 'won' as const,
                (err: unknown) => {
                  if (err instanceof RpcError && err.code === ErrorCode.refused) return 'refused' as const;
                  throw err instanceof RpcError
                    ? new CheckFailed(`allocate answered ${err.code}: ${err.message}`)
                    : err;
                },
              ),
            ),
          );
          const winners = outcomes.filter((x) => x === 'won').length;
          const held = [...partitionsOf(await s.inspectRaw()).values()];
          if (winners !== 1 || held.length !== 1)
            throw new CheckFailed(
              `round ${round}: allocates of core ${brief(a.params.allocate.cpus)} for \`${a.name}\` and ` +
                `\`${b.name}\` at once: ${winners} succeeded, and inspect shows ${describe(await s.inspect())}`,
            );
          await s.empty('releaseResources', { partition: String(held[0]!.name) });
        }
      },
      'two allocates of one core at once',
    );
  } finally {
    for (const d of dirs) await run.endAll(d);
  }
}
