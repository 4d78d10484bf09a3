// Live state for a command: the monitor's facts, with vman's records attached to each partition.
import type { LivePartition, LiveState, Monitor } from '../backends/types.js';
import type { Allocation } from '../alloc/types.js';
import { openMonitor } from '../backends/index.js';
import type { Context } from './context.js';

export interface Live {
  readonly monitor: Monitor;
  readonly state: LiveState;
}

/** Opens the context's backend and reads it. */
export async function readLive(ctx: Context): Promise<Live> {
  const monitor = await openMonitor(ctx.backend, { board: ctx.board, stateDir: ctx.stateDir });
  const raw = await monitor.read();
  const partitions: LivePartition[] = raw.partitions.map((p) => {
    const record = ctx.records.partitions[p.name];
    return record ? { ...p, record } : p;
  });
  return { monitor, state: { partitions, orphans: raw.orphans } };
}

/** What live partitions hold, as the allocator sees it. */
export function allocationsOf(state: LiveState): Allocation[] {
  return state.partitions.map((p) => ({ name: p.name, cpus: p.cpus, memory: p.memory, devices: p.devices }));
}
