#!/usr/bin/env node
// Breaks R1.9: writes a log line on stdout before each answer to allocate.
import { proxy } from './proxy.mjs';

await proxy({
  before: (req, print) => {
    if (req.method === 'allocate') print(`allocating ${req.params?.partition}...\n`);
  },
});
