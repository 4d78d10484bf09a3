#!/usr/bin/env node
// Breaks R1.1 and R1.2: answers protocol version "0" whatever vman offers (none it offered, and no
// -32001 when none is in common); so vman's engine cannot use it either (R15.1).
import { proxy } from './proxy.mjs';

const CAPABILITIES = {
  steps: [
    'allocate',
    'build-fdt',
    'load',
    'release-cores',
    'wait-ready',
    'stop-cores',
    'scrub-memory',
    'release-resources',
  ],
  placesMemory: 'vman',
  buildsDeviceTree: false,
  console: { read: false, follow: false },
  powerOff: false,
  liveDtb: true,
};
await proxy({
  request: (msg) => {
    if (msg.method !== 'initialize' || msg.params?.protocolVersions?.includes('1')) return undefined;
    return {
      result: { protocolVersion: '0', provider: { name: 'wrong-version', version: '0' }, capabilities: CAPABILITIES },
    };
  },
  answer: (msg, req) =>
    req.method === 'initialize' && msg.result ? { ...msg, result: { ...msg.result, protocolVersion: '0' } } : undefined,
});
