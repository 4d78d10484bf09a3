#!/usr/bin/env node
// Breaks R13 (a claim answered is durable): each process keeps the monitor's state in a directory of
// its own, so a fresh process knows nothing of what the last one did (a monitor kept in memory).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { proxy } from './proxy.mjs';

const dir = join(process.env.VMAN_STATE_DIR ?? '.', `forgetful-${process.pid}`);
mkdirSync(dir, { recursive: true });
await proxy({ env: { VMAN_STATE_DIR: dir } });
