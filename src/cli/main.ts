#!/usr/bin/env node
// The vman executable: everything happens in run(); this file only sets the exit code.
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2));
