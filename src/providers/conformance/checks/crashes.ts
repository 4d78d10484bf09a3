// Crash safety (R13): a bring-up and a teardown of one partition, with the provider killed
// (SIGKILL, its whole process group) before, during (at once, then after a delay) and after each
// call. A clean run of the same sequence first records what inspect shows after each call; each
// fresh provider must then show the state before or after the call it was killed in, never another,
// and carrying on from there must reach the same states, and in the end nothing.
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { CheckFailed } from '../process.js';
import type { Run, Session, Suite } from '../suite.js';
import { describe, difference, type Snapshot } from '../snapshot.js';
import { lastingLeftoversUnder } from '../leftovers.js';
import { waitTimeout } from './lifecycle.js';

interface Call {
  readonly method: string;
  readonly params: unknown;
  readonly o: { readonly timeoutMs?: number };
}

const EMPTY = '{"orphans":[],"partitions":[]}';
/** The typical time of a method that never answered before (ms). */
const DEFAULT_DELAY_MS = 40;
/** When the later kills come, as fractions of the time the call typically takes. */
const DELAY_FRACTIONS = [0.25, 0.5, 0.9] as const;
const MIN_DELAY_MS = 2;
/** How long a process killed with the provider's process group may take to be gone. */
const LEFTOVER_GRACE_MS = 2000;

export async function crashes(run: Run, t: Suite): Promise<void> {
  const { a } = run.fixture;
  const P = a.params;
  const sequence: Call[] = [
    { method: 'allocate', params: P.allocate, o: {} },
    { method: 'buildFdt', params: P.buildFdt, o: {} },
    { method: 'load', params: P.load, o: {} },
    { method: 'releaseCores', params: P.releaseCores, o: {} },
    { method: 'waitReady', params: P.waitReady, o: { timeoutMs: waitTimeout(a) } },
    { method: 'stopCores', params: P.stopCores, o: {} },
    { method: 'scrubMemory', params: P.scrubMemory, o: {} },
    { method: 'releaseResources', params: P.releaseResources, o: {} },
  ];

  // What inspect shows after each call of an uninterrupted run.
  const states: Snapshot[] = [];
  const refDir = run.scratch('crash-reference');
  const reference = await t.check(
    'R13.2',
    async () => {
      const s = await run.open(refDir);
      states.push(await s.inspect());
      for (const c of sequence) {
        await s.empty(c.method, c.params, c.o).catch((err: unknown) => {
          throw err instanceof CheckFailed
            ? new CheckFailed(`the sequence failed without a kill: ${err.message}`)
            : err;
        });
        states.push(await s.inspect());
      }
    },
    'the sequence without kills',
    { quiet: true },
  );
  await run.endAll(refDir);
  if (!reference) return;

  const dir = run.scratch('crash');
  try {
    let s: Session | undefined;
    const fresh = async (): Promise<Session> => {
      if (s) await run.end(s.process);
      s = await run.open(dir);
      return s;
    };
    // Sends the call, kills the provider after `delayMs` (or as soon as the request is written), and
    // asks a fresh one what the monitor holds.
    const killDuring = async (c: Call, delayMs: number): Promise<Snapshot> => {
      const x = s ?? (await fresh());
      void x.process.send(c.method, c.params);
      await tick();
      if (delayMs > 0) await sleep(delayMs);
      return (await fresh()).inspect();
    };
    const where = (found: Snapshot, before: Snapshot, after: Snapshot): 'before' | 'after' | undefined =>
      found === before ? 'before' : found === after ? 'after' : undefined;

    let stopped = false;
    for (const [i, c] of sequence.entries()) {
      const before = states[i]!;
      const after = states[i + 1]!;
      const neither = (found: Snapshot, how: string) =>
        new CheckFailed(
          `killed ${how} during ${c.method}, a fresh provider shows ${describe(found)}: neither the state before ` +
            `(${describe(before)}) nor after (${describe(after)}) — ${difference(before, found)}`,
        );
      stopped ||= !(await t.check(
        'R13.1',
        async () => (await fresh()).expect(before, `killed before ${c.method}, a fresh provider`),
        `before ${c.method}`,
      ));
      if (stopped) break;
      let converged = false;
      await t.check(
        'R13.2',
        async () => {
          // Killed at once, then (while the call still had not taken effect) further into it.
          const kills: { readonly how: string; readonly found: Snapshot }[] = [];
          const first = await killDuring(c, 0);
          kills.push({ how: 'at once', found: first });
          const typical = run.journal.typical(c.method) ?? DEFAULT_DELAY_MS;
          for (const fraction of DELAY_FRACTIONS) {
            if (where(kills[kills.length - 1]!.found, before, after) !== 'before') break;
            const delay = Math.max(MIN_DELAY_MS, Math.round(typical * fraction));
            kills.push({ how: `${delay} ms into it`, found: await killDuring(c, delay) });
          }
          const bad = kills.find((k) => where(k.found, before, after) === undefined);
          // From the state before (or a wrong one), the call is run again; from the state after, the sequence goes on.
          const last = kills[kills.length - 1]!.found;
          let rerun: string | undefined;
          if (where(last, before, after) !== 'after')
            rerun = await (s ?? (await fresh()))
              .empty(c.method, c.params, c.o)
              .then(() => undefined)
              .catch((err: unknown) => {
                if (err instanceof CheckFailed) return err.message;
                throw err;
              });
          const now = await (s ?? (await fresh())).inspect();
          converged = now === after;
          const problems = [
            ...(bad ? [neither(bad.found, bad.how).message] : []),
            ...(rerun !== undefined ? [`running ${c.method} again then failed: ${rerun}`] : []),
            ...(!converged ? [`carrying on from there, inspect shows ${describe(now)}, not ${describe(after)}`] : []),
          ];
          if (problems.length) throw new CheckFailed(problems.join('; '));
        },
        c.method,
      );
      stopped ||= !converged;
      if (stopped) break;
      stopped ||= !(await t.check(
        'R13.3',
        async () => (await fresh()).expect(after, `killed after ${c.method} answered, a fresh provider`),
        `after ${c.method}`,
      ));
      if (stopped) break;
    }

    await t.check('R13.4', async () => {
      const x = await fresh();
      if (stopped) for (const c of sequence.slice(-3)) await x.process.call(c.method, c.params).catch(() => undefined);
      const got = await x.inspect();
      if (got !== EMPTY) throw new CheckFailed(`after the teardown inspect shows ${describe(got)}`);
      await run.end(x.process);
      s = undefined;
      const left = await lastingLeftoversUnder(dir, LEFTOVER_GRACE_MS);
      if (left.length)
        throw new CheckFailed(
          `after the teardown, processes still run under the state directory: ` +
            left.map((l) => `pid ${l.pid} (${l.command.slice(0, 120)})`).join(', '),
        );
    });
  } finally {
    await run.endAll(dir);
  }
}
