// `vman console NAME [--follow] [--previous]`: a partition's console output so far; --follow keeps
// streaming until Ctrl-C or the partition's process ends, and on a terminal attaches to the console
// (keystrokes go to the partition's UART, Ctrl-] leaves, as `virsh console`); --previous prints the
// console of its previous boot. Only backends that keep a console have one.
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { openEngine } from '../engine.js';
import { interruptible } from '../signals.js';

const consoleCommand: Command<'console'> = async (inv, io) => {
  const f = inv.flags;
  const name = inv.positionals[0] ?? '';
  if (f.previous && f.follow)
    throw new VmanError('usage', "--previous prints a finished boot's console; it cannot be followed (--follow)");
  const engine = await openEngine(f, io);
  if (f.previous) {
    const text = (await engine.console(name, { previous: true })) ?? '';
    const backend = engine.workspace.backend;
    io.out(f.json ? `${JSON.stringify({ name, backend, previous: true, console: text })}\n` : text);
    return 'ok';
  }
  if (f.follow && !f.json && io.stdin.isTTY && io.outStream.isTTY) {
    const { attach } = await import('../console-session.js');
    await attach(engine, name, io);
    return 'ok';
  }
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
