#!/usr/bin/env node
// The vman executable: everything happens in run(); this file only picks how to load it (the
// prebuilt bundle when it is there and fresh, see ./fast-start.cts) and sets the exit code.
// CommonJS on purpose: with the bundle, a command never starts Node's ES-module loader.
import fastStart = require('./fast-start.cjs');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const run = fastStart.bundledRunner(argv) ?? ((await import('./run.js')) as typeof import('./run.js')).run;
  process.exitCode = await run(argv);
}

void main();
