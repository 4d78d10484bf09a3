#!/usr/bin/env node
// Breaks R4.3: an allocate refused because another partition holds the core is answered {} (as if
// it took effect), so two partitions would share a core.
import { proxy } from './proxy.mjs';

await proxy({
  answer: (msg, req) =>
    req.method === 'allocate' && /core \d+ is held by partition/.test(msg.error?.message ?? '')
      ? { jsonrpc: '2.0', id: msg.id, result: {} }
      : undefined,
});
