// `vman console NAME [--follow]`: a partition's console output so far; --follow keeps streaming
// until Ctrl-C or the partition's process ends. Only backends that keep a console have one.
import type { Command } from '../run.js';
import { openEngine } from '../engine.js';
import { interruptible } from '../signals.js';

const consoleCommand: Command<'console'> = async (inv, io) => {
  const f = inv.flags;
  const name = inv.positionals[0] ?? '';
  const engine = await openEngine(f, io);
  if (f.follow) {
    const write = (chunk: string) => io.out(f.json ? `${JSON.stringify({ name, data: chunk })}\n` : chunk);
    // Ctrl-C ends the stream; that is how --follow is meant to stop.
    const rest = await interruptible((signal) => engine.console(name, { follow: { write, signal } }), {
      onFirst: () => undefined,
    });
    if (rest) write(rest);
    return 'ok';
  }
  const text = (await engine.console(name)) ?? '';
  io.out(f.json ? `${JSON.stringify({ name, backend: engine.workspace.backend, console: text })}\n` : text);
  return 'ok';
};

export default consoleCommand;
