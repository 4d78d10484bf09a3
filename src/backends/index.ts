// The one place that picks a backend by name. Each backend is a folder that satisfies Monitor.
import type { Monitor, MonitorOptions } from './types.js';
import { VmanError } from '../errors.js';

/** Backend names and their modules, imported only when used. */
const BACKENDS: Record<string, () => Promise<{ open: (o: MonitorOptions) => Monitor | Promise<Monitor> }>> = {
  sim: async () => ({ open: (await import('./sim/monitor.js')).openSim }),
  qemu: async () => ({ open: (await import('./qemu/monitor.js')).openQemu }),
};

export const BACKEND_NAMES = Object.keys(BACKENDS);

/** Opens the named backend's monitor. */
export async function openMonitor(name: string, o: MonitorOptions): Promise<Monitor> {
  const load = BACKENDS[name];
  if (!load) throw new VmanError('usage', `unknown backend \`${name}\`; backends are ${BACKEND_NAMES.join(', ')}`);
  return (await load()).open(o);
}
