#!/usr/bin/env node
// The vman executable: everything happens in run(); this file only picks how to load it (the
// prebuilt bundle when it is there and fresh, see ./fast-start.ts) and sets the exit code.
import { bundledRunner } from './fast-start.js';

const argv = process.argv.slice(2);
const run = bundledRunner(argv) ?? (await import('./run.js')).run;
process.exitCode = await run(argv);
