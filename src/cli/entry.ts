// The `vman` command: esbuild bundles the CLI from here (scripts/build-cli.mjs); ./main.cts runs the
// bundle. The only place that sets the exit code.
import { run } from './run.js';

// Exits as soon as the command is done. Left to end by itself, Node tears the heap and the isolate
// down first, ~3 ms of a short command. Nothing is cut off: commands write through synchronous
// writes to descriptors 1 and 2 (./io.ts), await their own files, and leave only detached
// processes behind.
void run(process.argv.slice(2)).then((code) => process.exit(code));
