// One partition's life, call by call (R3.2, R4.1–R4.2, R5.1–R5.2, R6.1–R6.2, R7.1–R7.2, R8.1–R8.2,
// R9–R11's effects and repeats, R12, R14): each call's effect as inspect shows it, each mutating
// call repeated, and the calls on a partition that does not exist.
import { ErrorCode, METHOD_TIMEOUT_MS } from '../../../backends/provider/protocol.js';
import { RpcError } from '../../../backends/provider/rpc.js';
import { brief, CheckFailed } from '../process.js';
import { isObject, Skipped, type Run, type Session, type Suite } from '../suite.js';
import { describePartition, difference, partitionsOf, snapshot, type Snapshot } from '../snapshot.js';
import { NAMES, type Planned } from '../fixture.js';

type Json = Record<string, unknown>;

const sameSet = (a: unknown, b: readonly (number | string)[]): boolean =>
  Array.isArray(a) && a.length === b.length && [...a].map(String).sort().join() === [...b].map(String).sort().join();

/** The partition `name` as inspect shows it; fails when it is not there. */
async function shown(s: Session, name: string, when: string): Promise<Json> {
  const p = partitionsOf(await s.inspectRaw()).get(name);
  if (!p) throw new CheckFailed(`inspect does not show \`${name}\` ${when}`);
  return p;
}

/** Fails with the first field of `p` that is not as expected. */
function expectFields(p: Json, expected: Record<string, (v: unknown) => boolean>, when: string): void {
  for (const [field, ok] of Object.entries(expected))
    if (!ok(p[field]))
      throw new CheckFailed(`${when}, inspect shows ${field} ${brief(p[field])}: ${describePartition(p)}`);
}

/** What a call must leave unchanged besides the fields it sets: inspect before, and the fields that may differ. */
async function onlyChanged(s: Session, before: Snapshot, fields: readonly string[], what: string): Promise<void> {
  const after = await s.inspect();
  const strip = (x: Snapshot): Snapshot => {
    const r = JSON.parse(x) as { partitions: Json[] };
    for (const p of r.partitions) for (const f of fields) delete p[f];
    return snapshot(r);
  };
  const d = difference(strip(before), strip(after));
  if (d) throw new CheckFailed(`${what} changed more than ${fields.join(', ')}: ${d}`);
}

const loadedOf = (a: Planned) =>
  a.params.load.items.map((i) => JSON.stringify({ addr: i.addr, sha256: i.sha256, size: i.size, what: i.what }));

function sameLoaded(v: unknown, a: Planned): boolean {
  if (!Array.isArray(v)) return false;
  const got = v
    .map((i) => (isObject(i) ? JSON.stringify({ addr: i.addr, sha256: i.sha256, size: i.size, what: i.what }) : ''))
    .sort();
  return got.join('\n') === loadedOf(a).sort().join('\n');
}

/** waitReady's timeout: the step's own, plus the method's. */
export const waitTimeout = (a: Planned): number => a.params.waitReady.timeoutMs + METHOD_TIMEOUT_MS.waitReady;

export async function lifecycle(run: Run, t: Suite): Promise<void> {
  const { a } = run.fixture;
  const P = a.params;
  const dir = run.scratch('lifecycle');
  try {
    const session = run.sessionOn(dir);

    await t.check('R4.1', async () => {
      const x = await session();
      await x.empty('allocate', P.allocate);
      const p = await shown(x, a.name, 'after allocate');
      expectFields(
        p,
        {
          state: (v) => v === 'stopped',
          cpus: (v) => sameSet(v, P.allocate.cpus),
          memory: (v) => isObject(v) && v.base === P.allocate.memory.base && v.size === P.allocate.memory.size,
          devices: (v) => sameSet(v, P.allocate.devices),
          loaded: (v) => Array.isArray(v) && v.length === 0,
          bootDigest: (v) => v === undefined,
          entry: (v) => v === undefined,
        },
        'after allocate',
      );
    });
    await t.check('R4.2', async () => (await session()).repeat('allocate', P.allocate));

    // A partition that does not exist, while another one does.
    const absent = NAMES.absent;
    for (const [method, params] of [
      ['buildFdt', { ...P.buildFdt, partition: absent }],
      ['load', { ...P.load, partition: absent }],
      ['releaseCores', { ...P.releaseCores, partition: absent }],
      ['waitReady', { ...P.waitReady, partition: absent, timeoutMs: 1000 }],
    ] as const)
      await t.check(
        'R12.2',
        async () => (await session()).refused(method, params, [ErrorCode.noSuchPartition]),
        method,
      );
    for (const method of ['stopCores', 'scrubMemory', 'releaseResources'] as const)
      await t.check(
        'R12.1',
        async () => {
          const x = await session();
          const params = method === 'scrubMemory' ? { ...P.scrubMemory, partition: absent } : { partition: absent };
          await x.unchanged(`${method} of an absent partition`, async () => {
            await x.empty(method, params);
            await x.empty(method, params);
          });
        },
        method,
      );

    await t.check('R5.1', async () => {
      const x = await session();
      await x.unchanged('buildFdt', () => x.empty('buildFdt', P.buildFdt));
    });
    await t.check(
      'R3.2',
      async () => {
        const p = await shown(await session(), a.name, 'after buildFdt, with nothing loaded');
        expectFields(p, { loaded: (v) => Array.isArray(v) && v.length === 0 }, 'after buildFdt');
      },
      'after buildFdt',
    );
    await t.check('R5.2', async () => (await session()).repeat('buildFdt', P.buildFdt));
    await t.check('R14.1', async () => {
      if (!run.capabilities?.liveDtb) return new Skipped('capability liveDtb is false');
      const r = await (await session()).ok('liveDtb', { partition: a.name });
      const dtb = isObject(r) ? r.dtb : undefined;
      if (dtb !== P.buildFdt.dtb) {
        const got = typeof dtb === 'string' ? `${Buffer.from(dtb, 'base64').length} other bytes` : brief(dtb);
        throw new CheckFailed(`liveDtb answered ${got}, not the ${P.buildFdt.size} bytes buildFdt was given`);
      }
    });

    await t.check('R6.1', async () => {
      const x = await session();
      const before = await x.inspect();
      await x.empty('load', P.load);
      const p = await shown(x, a.name, 'after load');
      expectFields(
        p,
        {
          loaded: (v) => sameLoaded(v, a),
          bootDigest: (v) => v === P.load.bootDigest,
          entry: (v) => v === P.load.entry,
          state: (v) => v === 'stopped',
        },
        'after load',
      );
      await onlyChanged(x, before, ['loaded', 'bootDigest', 'entry'], 'load');
    });
    await t.check(
      'R3.2',
      async () => {
        const p = await shown(await session(), a.name, 'after load, before releaseCores');
        expectFields(p, { state: (v) => v === 'stopped' }, 'after load, before releaseCores');
      },
      'after load, before release',
    );
    await t.check('R6.2', async () => (await session()).repeat('load', P.load));

    await t.check('R7.1', async () => {
      const x = await session();
      const before = await x.inspect();
      await x.empty('releaseCores', P.releaseCores);
      const p = await shown(x, a.name, 'after releaseCores');
      expectFields(p, { state: (v) => v === 'running' }, 'after releaseCores');
      await onlyChanged(x, before, ['state'], 'releaseCores');
    });
    await t.check('R7.2', async () => (await session()).repeat('releaseCores', P.releaseCores));
    await t.check('R8.1', async () => {
      const x = await session();
      await x.unchanged('waitReady', () => x.empty('waitReady', P.waitReady, { timeoutMs: waitTimeout(a) }));
      expectFields(await shown(x, a.name, 'after waitReady'), { state: (v) => v === 'running' }, 'after waitReady');
    });
    await t.check('R8.2', async () =>
      (await session()).repeat('waitReady', P.waitReady, { timeoutMs: waitTimeout(a) }),
    );
    await t.check('R14.2', async () => {
      if (!run.capabilities?.console?.read) return new Skipped('capability console.read is false');
      const r = await (await session()).ok('consoleLog', { partition: a.name });
      const text = isObject(r) ? r.text : undefined;
      if (typeof text !== 'string' || !new RegExp(a.ready, 'm').test(text))
        throw new CheckFailed(
          `consoleLog answered ${brief(text)}, without the line ${JSON.stringify(a.ready)} waitReady matched`,
        );
    });
    await t.check('R14.3', async () => {
      if (!run.capabilities?.powerOff) return new Skipped('capability powerOff is false');
      try {
        const r = await (await session()).process.call('powerOff', { partition: a.name });
        if (!isObject(r) || Object.keys(r).length) throw new CheckFailed(`powerOff answered ${brief(r)}, not {}`);
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        const e = err;
        if (e.code !== ErrorCode.unsupported || typeof e.data.reason !== 'string')
          throw new CheckFailed(`powerOff answered error ${e.code} (${e.message}), not {} or -32013 with a reason`);
      }
    });

    await t.check('R9.1', async () => {
      const x = await session();
      const before = await x.inspect();
      await x.empty('stopCores', P.stopCores);
      const p = await shown(x, a.name, 'after stopCores');
      expectFields(p, { state: (v) => v === 'stopped', loaded: (v) => sameLoaded(v, a) }, 'after stopCores');
      await onlyChanged(x, before, ['state'], 'stopCores');
    });
    await t.check('R9.2', async () => (await session()).repeat('stopCores', P.stopCores));
    await t.check('R10.1', async () => {
      const x = await session();
      const before = await x.inspect();
      await x.empty('scrubMemory', P.scrubMemory);
      const p = await shown(x, a.name, 'after scrubMemory');
      expectFields(
        p,
        {
          loaded: (v) => Array.isArray(v) && v.length === 0,
          bootDigest: (v) => v === undefined,
          entry: (v) => v === undefined,
          state: (v) => v === 'stopped',
        },
        'after scrubMemory',
      );
      await onlyChanged(x, before, ['loaded', 'bootDigest', 'entry', 'state'], 'scrubMemory');
    });
    await t.check('R10.2', async () => (await session()).repeat('scrubMemory', P.scrubMemory));
    await t.check('R11.1', async () => {
      const x = await session();
      const before = await x.inspect();
      await x.empty('releaseResources', P.releaseResources);
      const after = await x.inspect();
      if (partitionsOf(JSON.parse(after)).has(a.name))
        throw new CheckFailed(`inspect still shows \`${a.name}\` after releaseResources`);
      const gone = JSON.parse(before) as { partitions: Json[]; orphans: unknown[] };
      gone.partitions = gone.partitions.filter((p) => p.name !== a.name);
      const d = difference(snapshot(gone), after);
      if (d) throw new CheckFailed(`releaseResources changed more than \`${a.name}\`: ${d}`);
      // What it held is free: another partition can claim exactly that, and give it back.
      const other = { ...P.allocate, partition: NAMES.b };
      await x.empty('allocate', other);
      await x.empty('releaseResources', { partition: NAMES.b });
      const end = await x.inspect();
      if (end !== after)
        throw new CheckFailed(`claiming and releasing what \`${a.name}\` held left ${difference(after, end)}`);
    });
    await t.check('R11.2', async () => (await session()).repeat('releaseResources', P.releaseResources));
  } finally {
    await run.endAll(dir);
  }
}
