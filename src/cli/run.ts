// The one catch: parse argv, load the command lazily, and map every result and error to an exit
// code and one message. Nothing else in vman decides an exit code.
import { VmanError } from '../errors.js';
import { diagnosticJson } from '../rules/diagnostic.js';
import { helpText, parseInvocation, type CommandName, type Invocation } from './args.js';
import { styleFor } from './render/style.js';
import { processIO, type CommandIO } from './io.js';
import { EXIT, exitCode, type CommandResult } from './exit.js';
import { vmanVersion } from './version.js';

/** A command module: runs with its parsed invocation; returns its result or throws a VmanError. */
export type Command<C extends CommandName> = (
  inv: Extract<Invocation, { command: C }>,
  io: CommandIO,
) => Promise<CommandResult>;

type Loaders = { [C in CommandName]: () => Promise<{ default: Command<C> }> };

// Each command's module is imported only when that command runs, to keep start-up small.
const LOADERS: Loaders = {
  validate: () => import('./commands/validate.js'),
  plan: () => import('./commands/plan.js'),
  apply: () => import('./commands/apply.js'),
  show: () => import('./commands/show.js'),
  status: () => import('./commands/status.js'),
  fdt: () => import('./commands/fdt.js'),
  destroy: () => import('./commands/destroy.js'),
  create: () => import('./commands/create.js'),
  delete: () => import('./commands/delete.js'),
  start: () => import('./commands/start.js'),
  stop: () => import('./commands/stop.js'),
  board: () => import('./commands/board.js'),
  console: () => import('./commands/console.js'),
  watch: () => import('./commands/watch.js'),
  provider: () => import('./commands/provider.js'),
  agent: () => import('./commands/agent.js'),
};

async function dispatch<C extends CommandName>(inv: Extract<Invocation, { command: C }>, io: CommandIO) {
  const load = LOADERS[inv.command as C] as () => Promise<{ default: Command<C> }>;
  return (await load()).default(inv, io);
}

/** Runs vman with argv (no node, no script); returns the process exit code. */
export async function run(argv: readonly string[], io: CommandIO = processIO()): Promise<number> {
  let json = argv.includes('--json') || argv.includes('-json');
  try {
    const req = parseInvocation(argv);
    if (req.command === 'help') {
      io.out(helpText(req.topic));
      return EXIT.ok;
    }
    if (req.command === 'version') {
      io.out(req.json ? `${JSON.stringify({ version: vmanVersion() })}\n` : `vman ${vmanVersion()}\n`);
      return EXIT.ok;
    }
    json = req.flags.json === true;
    return exitCode(await dispatch(req, io));
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
      if (err.diagnostics.length) e.problems = err.diagnostics.map(diagnosticJson);
      io.out(`${JSON.stringify({ error: e })}\n`);
    }
    const style = styleFor(io.errStream, io.env);
    if (err.diagnostics.length) {
      const [{ renderDiagnostics }, { lookupSource }] = await Promise.all([
        import('./render/diagnostics.js'),
        import('./render/source.js'),
      ]);
      io.err(renderDiagnostics(err.diagnostics, style, lookupSource));
    } else io.err(`${style.red('Error:')} ${err.message}\n`);
    return EXIT.error;
  }
  const e = err as Error;
  const lines = [
    `vman ${vmanVersion()} hit an unexpected error. This is a bug; please report it with the command you ran.`,
    `  ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`,
    `  node ${process.version}, ${process.platform}-${process.arch}`,
  ];
  if (process.env.VMAN_DEBUG) lines.push(String(e?.stack ?? ''));
  if (json) io.out(`${JSON.stringify({ error: { message: `internal error: ${e?.message ?? String(err)}` } })}\n`);
  io.err(`${lines.join('\n')}\n`);
  return EXIT.error;
}
