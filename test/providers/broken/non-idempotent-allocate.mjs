#!/usr/bin/env node
// Breaks R4.2: an allocate repeated with the same resources is refused, as if the resources were
// taken (it remembers, in memory, the claims it made).
import { proxy, error } from './proxy.mjs';

const claimed = new Map();
await proxy({
  request: (msg) => {
    const p = msg.params ?? {};
    if (msg.method === 'allocate' && claimed.get(p.partition) === JSON.stringify(p))
      return error(-32010, `allocate ${p.partition}: core ${p.cpus?.[0]} is already allocated`);
    return undefined;
  },
  answer: (msg, req) => {
    const p = req.params ?? {};
    if (req.method === 'allocate' && msg.result) claimed.set(p.partition, JSON.stringify(p));
    if (req.method === 'releaseResources' && msg.result) claimed.delete(p.partition);
    return undefined;
  },
});
