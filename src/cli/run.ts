// The one catch: parse argv, load the command lazily, map every error to a message and an exit code.
import { readFileSync } from 'node:fs';
import { VmanError } from '../errors.js';
import { helpText, parseInvocation, type CommandName, type Invocation } from './args.js';
import { styleFor } from './render/style.js';
import { processIO, type CommandIO } from './io.js';

/** A command module: runs with the parsed invocation and returns its exit code. */
export type Command = (inv: Invocation, io: CommandIO) => Promise<number>;

// Each command's module is imported only when that command runs, to keep start-up small.
const LOADERS: Record<CommandName, () => Promise<{ default: Command }>> = {
  validate: () => import('./commands/validate.js'),
  plan: () => import('./commands/plan.js'),
  apply: () => import('./commands/apply.js'),
  show: () => import('./commands/show.js'),
  status: () => import('./commands/status.js'),
  fdt: () => import('./commands/fdt.js'),
  destroy: () => import('./commands/destroy.js'),
  create: () => import('./commands/create.js'),
  delete: () => import('./commands/delete.js'),
  board: () => import('./commands/board.js'),
  console: () => import('./commands/console.js'),
  watch: () => import('./commands/watch.js'),
};

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs vman with argv (no node, no script); returns the process exit code. */
export async function run(argv: readonly string[], io: CommandIO = processIO()): Promise<number> {
  let json = argv.includes('--json');
  try {
    const inv = parseInvocation(argv);
    json = inv.flags.json === true;
    if (inv.command === 'help' || inv.flags.help === true) {
      io.out(helpText());
      return 0;
    }
    if (inv.command === 'version') {
      io.out(`vman ${version()}\n`);
      return 0;
    }
    const { default: command } = await LOADERS[inv.command]();
    return await command(inv, io);
  } catch (err) {
    return await report(err, json, io);
  }
}

// Rendering diagnostics (caret excerpts read from the files) is needed only when something failed.
async function report(err: unknown, json: boolean, io: CommandIO): Promise<number> {
  if (err instanceof VmanError) {
    if (json) {
      const e: Record<string, unknown> = { message: err.message };
      if (err.file !== undefined) e.file = err.file;
      if (err.line !== undefined) e.line = err.line;
      if (err.diagnostics.length)
        e.problems = err.diagnostics.map((d) => ({
          file: d.position?.file ?? null,
          line: d.position?.line ?? null,
          column: d.position?.column ?? null,
          code: d.code,
          message: d.message,
          ...(d.hint ? { hint: d.hint } : {}),
        }));
      io.out(`${JSON.stringify({ error: e })}\n`);
    }
    const style = styleFor(io.errStream);
    if (err.diagnostics.length) {
      const [{ renderDiagnostics }, { lookupSource }] = await Promise.all([
        import('./render/diagnostics.js'),
        import('./render/source.js'),
      ]);
      io.err(renderDiagnostics(err.diagnostics, style, lookupSource));
    } else io.err(`${style.red('Error:')} ${err.message}\n`);
    return 1;
  }
  const e = err as Error;
  const lines = [
    `vman ${version()} hit an unexpected error. This is a bug; please report it with the command you ran.`,
    `  ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`,
    `  node ${process.version}, ${process.platform}-${process.arch}`,
  ];
  if (process.env.VMAN_DEBUG) lines.push(String(e?.stack ?? ''));
  if (json) io.out(`${JSON.stringify({ error: { message: `internal error: ${e?.message ?? String(err)}` } })}\n`);
  io.err(`${lines.join('\n')}\n`);
  return 1;
}
