#!/usr/bin/env node
// The `vman` executable (package.json `bin`): runs the CLI bundle, dist/cli/bundle.js, with V8's
// code cache for it, dist/cli/bundle.cache (scripts/build-cli.mjs makes both), so a command starts
// from bytecode rather than compiling its code again. Node 20 has no compile cache of its own
// (module.enableCompileCache() came with Node 22). V8 rejects a cache that is damaged or was made
// by another node, and the bundle then compiles as usual.
const { readFileSync } = process.getBuiltinModule('node:fs');
const { Script } = process.getBuiltinModule('node:vm');

const bundle = `${__dirname}/bundle.js`;
let code: string;
try {
  // ASCII (esbuild escapes the rest), so Latin-1 reads it as a one-byte string without decoding.
  code = readFileSync(bundle, 'latin1');
} catch {
  process.stderr.write(`vman: ${bundle} is missing; run \`npm run build\`\n`);
  process.exit(1);
}
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(`${__dirname}/bundle.cache`);
} catch {
  // no cache: compile
}
// The bundle is one CommonJS module wrapped in a function, as Node's own loader wraps modules.
const script = new Script(code, { filename: bundle, ...(cachedData && { cachedData }) });
const main = script.runInThisContext() as (e: object, r: NodeJS.Require, m: object, f: string, d: string) => void;
const mod = { exports: {} };
main(mod.exports, require, mod, bundle, __dirname);
