// The one place that picks a backend by name. Each built-in backend is a folder that satisfies
// Monitor; any other `--backend` value names a provider (./provider/), a program speaking the
// provider protocol.
import type { Monitor, MonitorOptions } from './types.js';

/** Built-in backends and their modules, imported only when used. */
const BACKENDS: Record<string, () => Promise<{ open: (o: MonitorOptions) => Monitor | Promise<Monitor> }>> = {
  sim: async () => ({ open: (await import('./sim/monitor.js')).openSim }),
  qemu: async () => ({ open: (await import('./qemu/monitor.js')).openQemu }),
};

export const BACKEND_NAMES = Object.keys(BACKENDS);

/** Opens the named backend's monitor, or starts the provider the name stands for. */
export async function openMonitor(name: string, o: MonitorOptions): Promise<Monitor> {
  const load = BACKENDS[name];
  if (load) return (await load()).open(o);
  const { openProvider } = await import('./provider/monitor.js');
  return openProvider(name, o);
}
