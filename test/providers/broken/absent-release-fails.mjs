#!/usr/bin/env node
// Breaks R12.1 (and so R11.2, a repeated release): stopCores, scrubMemory and releaseResources of a
// partition the monitor does not hold answer -32014 instead of succeeding.
import { proxy, error } from './proxy.mjs';

const NEGATIONS = new Set(['stopCores', 'scrubMemory', 'releaseResources']);
await proxy({
  request: async (msg, ask) => {
    if (!NEGATIONS.has(msg.method)) return undefined;
    const { partitions } = await ask('inspect', {});
    const name = msg.params?.partition;
    return partitions.some((p) => p.name === name) ? undefined : error(-32014, `no partition ${name}`);
  },
});
