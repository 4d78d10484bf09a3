#!/usr/bin/env node
// Breaks R1.10: never answers load (it neither carries it out nor says no).
import { proxy, HANG } from './proxy.mjs';

await proxy({ request: (msg) => (msg.method === 'load' ? HANG : undefined) });
