// Handshake and transport (R1.1–R1.8, R3.1): the first requests of a session, the codes of the
// requests a provider cannot serve, and how it ends.
import { ErrorCode, PROTOCOL_VERSIONS, STEP_KINDS } from '../../../backends/provider/protocol.js';
import { brief, CheckFailed } from '../process.js';
import { isObject, Session, type Run, type Suite } from '../suite.js';
import { describe } from '../snapshot.js';

/** How long a provider has to exit (docs/provider-protocol.md: vman kills it 5 s later). */
const EXIT_MS = 5000;

/** A version no provider speaks. */
const FUTURE_VERSION = '99';

const EMPTY = '{"orphans":[],"partitions":[]}';

export async function handshake(run: Run, t: Suite): Promise<void> {
  const dir = run.scratch('handshake');
  try {
    const p = run.spawn(dir);
    const s = new Session(p);
    await t.check('R1.3', async () => {
      await s.error('inspect', {}, [ErrorCode.notInitialized]);
    });
    let init: unknown;
    await t.check('R1.1', async () => {
      init = await s.ok('initialize', run.initializeParams());
      const v = isObject(init) ? init.protocolVersion : undefined;
      if (typeof v !== 'string' || !PROTOCOL_VERSIONS.some((x) => x === v))
        throw new CheckFailed(
          `initialize offering ${JSON.stringify(PROTOCOL_VERSIONS)} answered protocolVersion ${brief(v)}`,
        );
    });
    await t.check('R1.4', async () => {
      if (init === undefined) throw new CheckFailed('initialize did not answer');
      const c = isObject(init) ? init.capabilities : undefined;
      if (!isObject(c)) throw new CheckFailed(`initialize answered no capabilities: ${brief(init)}`);
      if (!run.capabilities) run.capabilities = c as never;
      const steps = Array.isArray(c.steps) ? c.steps : [];
      const missing = STEP_KINDS.filter((k) => !steps.includes(k));
      const problems = [
        ...(missing.length ? [`steps lacks ${missing.join(', ')}`] : []),
        ...(c.placesMemory !== 'vman' ? [`placesMemory is ${brief(c.placesMemory)}, not "vman"`] : []),
        ...(c.buildsDeviceTree !== false ? [`buildsDeviceTree is ${brief(c.buildsDeviceTree)}, not false`] : []),
      ];
      if (problems.length) throw new CheckFailed(problems.join('; '));
    });
    await t.check('R3.1', async () => {
      const got = await s.inspect();
      if (got !== EMPTY) throw new CheckFailed(`inspect of a fresh state directory shows ${describe(got)}`);
    });
    await t.check('R1.5', async () => {
      await s.error('vman.conformance.noSuchMethod', {}, [ErrorCode.methodNotFound]);
    });
    await t.check('R1.6', async () => {
      await s.refused('allocate', { partition: 'conf-a', cpus: 'all' }, [ErrorCode.invalidParams]);
    });
    await t.check('R1.7', async () => {
      const r = await s.ok('shutdown', {});
      if (!isObject(r) || Object.keys(r).length) throw new CheckFailed(`shutdown answered ${brief(r)}, not {}`);
      if (!(await p.waitExit(EXIT_MS)))
        throw new CheckFailed(`the provider still ran ${EXIT_MS / 1000} s after it answered shutdown (stdin open)`);
    });
    await run.end(p);

    await t.check('R1.2', async () => {
      const q = run.spawn(dir);
      try {
        await new Session(q).error('initialize', run.initializeParams([FUTURE_VERSION]), [ErrorCode.version]);
        if (!(await q.waitExit(EXIT_MS)))
          throw new CheckFailed(`the provider still ran ${EXIT_MS / 1000} s after it answered -32001 (stdin open)`);
      } finally {
        await run.end(q);
      }
    });

    await t.check('R1.8', async () => {
      const q = run.spawn(dir);
      try {
        await new Session(q).ok('initialize', run.initializeParams());
        q.endInput();
        if (!(await q.waitExit(EXIT_MS)))
          throw new CheckFailed(`the provider still ran ${EXIT_MS / 1000} s after its stdin ended`);
      } finally {
        await run.end(q);
      }
    });
  } finally {
    await run.endAll(dir);
  }
}
