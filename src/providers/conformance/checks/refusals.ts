// What a monitor must refuse, and with which code (R4.3–R4.9, R5.3, R6.3–R6.6, R7.3–R7.5, R8.3,
// R10.3, R11.3–R11.4): each refusal is checked in the state that calls for it, and must change
// nothing inspect shows.
import { ErrorCode } from '../../../backends/provider/protocol.js';
import type { Params } from '../../../backends/provider/protocol.js';
import { CheckFailed } from '../process.js';
import { Skipped, type Run, type Suite } from '../suite.js';
import { waitTimeout } from './lifecycle.js';

const REFUSED = [ErrorCode.refused];

export async function refusals(run: Run, t: Suite): Promise<void> {
  const { a, b, board, changedFile, unconfined } = run.fixture;
  const A = a.params;
  const B = b.params;
  const dir = run.scratch('refusals');
  try {
    const session = run.sessionOn(dir);
    /** A setup call: a failure fails the check that needs it. */
    const setup = async (method: string, params: unknown, o: { timeoutMs?: number } = {}): Promise<void> => {
      try {
        await (await session()).empty(method, params, o);
      } catch (err) {
        if (err instanceof CheckFailed) throw new CheckFailed(`setup: ${err.message}`);
        throw err;
      }
    };
    const refuse = async (method: string, params: unknown, codes: readonly number[] = REFUSED) =>
      (await session()).refused(method, params, codes);
    const allocB = (o: Partial<Params['allocate']>): Params['allocate'] => ({ ...B.allocate, ...o });

    // conf-a holds its cores, memory and devices; conf-b asks for some of them.
    let held = false;
    const holding = async (): Promise<void> => {
      if (held) return;
      await setup('allocate', A.allocate);
      await setup('buildFdt', A.buildFdt);
      held = true;
    };
    await t.check('R4.3', async () => {
      await holding();
      await refuse('allocate', allocB({ cpus: A.allocate.cpus }));
    });
    await t.check('R4.4', async () => {
      await holding();
      const m = A.allocate.memory;
      await refuse('allocate', allocB({ memory: { base: m.base + m.size / 2, size: B.allocate.memory.size } }));
    });
    await t.check('R4.5', async () => {
      await holding();
      if (!A.allocate.devices.length) return new Skipped(`board ${board.name} has no device to assign`);
      await refuse('allocate', allocB({ devices: A.allocate.devices }));
    });
    const reserved = board.reserved;
    await t.check('R4.6', async () => {
      const core = reserved.flatMap((r) => r.cpus)[0];
      const mem = reserved.flatMap((r) => r.memory)[0];
      const dev = reserved.flatMap((r) => r.devices)[0];
      if (core === undefined && mem === undefined && dev === undefined)
        return new Skipped(`board ${board.name} reserves nothing`);
      if (core !== undefined) await refuse('allocate', allocB({ cpus: [core] }));
      if (mem !== undefined)
        await refuse('allocate', allocB({ memory: { base: mem.base, size: B.allocate.memory.size } }));
      if (dev !== undefined) await refuse('allocate', allocB({ devices: [dev] }));
    });
    await t.check('R4.7', async () => {
      const core = Math.max(...board.cpus.map((c) => c.id)) + 1;
      const top = Math.max(...board.memory.map((m) => m.base + m.size));
      await refuse('allocate', allocB({ cpus: [core] }));
      await refuse('allocate', allocB({ memory: { base: top, size: B.allocate.memory.size } }));
      await refuse('allocate', allocB({ devices: ['conf-no-such-device'] }));
    });
    await t.check('R4.8', async () => {
      if (!unconfined) return new Skipped(`board ${board.name} has no device whose DMA is unconfined`);
      await refuse('allocate', allocB({ devices: [unconfined.name] }));
    });
    await t.check('R4.9', async () => {
      await holding();
      await refuse('allocate', { ...B.allocate, partition: a.name });
    });

    await t.check('R5.3', async () => {
      await holding();
      await refuse('buildFdt', { ...A.buildFdt, sha256: B.buildFdt.sha256 });
      await refuse('buildFdt', { ...A.buildFdt, size: A.buildFdt.size + 8 });
    });
    await t.check('R7.5', async () => {
      await holding();
      await refuse('releaseCores', A.releaseCores);
    });
    await t.check('R6.3', async () => {
      await holding();
      const m = A.allocate.memory;
      const items = A.load.items.map((i) => (i.what === 'dtb' ? i : { ...i, addr: m.base + m.size }));
      await refuse('load', { ...A.load, items });
    });
    await t.check('R6.4', async () => {
      await holding();
      const items = A.load.items.map((i) => (i.file !== undefined ? { ...i, file: changedFile } : i));
      await refuse('load', { ...A.load, items }, [ErrorCode.inputChanged]);
    });
    await t.check('R6.5', async () => {
      await holding();
      const items = A.load.items.map((i) =>
        i.what === 'dtb' ? { ...i, sha256: B.buildFdt.sha256, size: B.buildFdt.size } : i,
      );
      await refuse('load', { ...A.load, items });
    });

    // Loaded, not released.
    let loaded = false;
    const loadedA = async (): Promise<void> => {
      await holding();
      if (!loaded) await setup('load', A.load);
      loaded = true;
    };
    await t.check('R8.3', async () => {
      await loadedA();
      await refuse('waitReady', { ...A.waitReady, timeoutMs: 1000 }, [ErrorCode.notReady]);
    });
    await t.check('R7.3', async () => {
      await loadedA();
      await refuse('releaseCores', { ...A.releaseCores, entry: A.releaseCores.entry + 4 });
      await refuse('releaseCores', { ...A.releaseCores, dtbAddr: A.releaseCores.dtbAddr + 8 });
    });
    await t.check('R7.4', async () => {
      await loadedA();
      await refuse('releaseCores', { ...A.releaseCores, bootCpu: B.releaseCores.bootCpu });
    });
    await t.check('R11.4', async () => {
      await loadedA();
      await refuse('releaseResources', A.releaseResources);
    });

    // Running.
    let running = false;
    const runningA = async (): Promise<void> => {
      await loadedA();
      if (!running) {
        await setup('releaseCores', A.releaseCores);
        await setup('waitReady', A.waitReady, { timeoutMs: waitTimeout(a) });
      }
      running = true;
    };
    await t.check('R6.6', async () => {
      await runningA();
      await refuse('load', A.load);
    });
    await t.check('R10.3', async () => {
      await runningA();
      await refuse('scrubMemory', A.scrubMemory);
    });
    await t.check('R11.3', async () => {
      await runningA();
      await refuse('releaseResources', A.releaseResources);
    });
  } finally {
    await run.endAll(dir);
  }
}
