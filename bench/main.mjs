#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --json] [-- --only PREFIX]`: vman side by side with its peers.
// Prints a table (or, with --json, {"machine", "results": [{name, value, unit, peer, target}]}).
// Every ratio is against a peer timed in the same run, interleaved, median of several runs.
// Exit 0 whenever every measurement ran (a missed target is a figure, not a failure); 1 when
// the bench itself broke.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CLI, machine, scratch } from './lib/env.mjs';
import { printTable, skipped } from './lib/report.mjs';

const SUITES = {
  cli: () => import('./suites/cli.mjs'),
  fdt: () => import('./suites/fdt.mjs'),
  plan: () => import('./suites/plan.mjs'),
  images: () => import('./suites/images.mjs'),
  apply: () => import('./suites/apply.mjs'),
  watch: () => import('./suites/watch.mjs'),
  qemu: () => import('./suites/qemu.mjs'),
  fleet: () => import('./suites/fleet.mjs'),
};

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    quick: { type: 'boolean' },
    only: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(
    `usage: npm run bench [-- --quick] [-- --json] [-- --only SUITE…]\nsuites: ${Object.keys(SUITES).join(', ')}\n`,
  );
  process.exit(0);
}
if (!existsSync(CLI)) {
  process.stderr.write(`bench: ${CLI} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}

// Progress goes to stderr so that --json keeps stdout to the one document.
const log = (s) => process.stderr.write(`bench: ${s}\n`);
const ctx = { quick: values.quick === true, dir: scratch(), log };
const results = [];
let broken = 0;
for (const [name, load] of Object.entries(SUITES)) {
  if (values.only && !values.only.some((o) => name.startsWith(o))) continue;
  const started = Date.now();
  log(`${name}…`);
  const suite = await load();
  // Each measurement stands alone: one that breaks is reported (and fails the run), the rest still run.
  for (const m of suite.MEASURES) {
    try {
      for (const r of await m.run(ctx)) results.push(r);
    } catch (err) {
      broken++;
      log(`${m.names.join(', ')} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      for (const n of m.names)
        results.push(
          skipped(
            n,
            typeof m.unit === 'object' ? m.unit[n] : m.unit,
            typeof m.target === 'object' ? m.target[n] : m.target,
            `the measurement broke: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
          ),
        );
    }
  }
  log(`${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const doc = { machine: { ...machine(), mode: ctx.quick ? 'quick' : 'full' }, results };
if (values.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
else printTable(doc, (s) => process.stdout.write(s));
process.exitCode = broken ? 1 : 0;
