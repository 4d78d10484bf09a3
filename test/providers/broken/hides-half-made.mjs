#!/usr/bin/env node
// Breaks R3.2 (and R4.1, R10.1, which look at such a partition): inspect leaves out every partition
// with nothing loaded — one allocated but never loaded, one whose memory was scrubbed.
import { proxy } from './proxy.mjs';

await proxy({
  answer: (msg, req) => {
    if (req.method !== 'inspect' || !msg.result) return undefined;
    const partitions = msg.result.partitions.filter((p) => p.loaded.length > 0);
    return { ...msg, result: { ...msg.result, partitions } };
  },
});
