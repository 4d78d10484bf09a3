// `vman console NAME --follow` on a terminal: attached as `virsh console` / `xl console` are. The
// terminal goes raw, so every key (Ctrl-C and Ctrl-D too) reaches the partition's UART, and the guest's
// own echo is what shows; Ctrl-] (the escape byte, 0x1d) leaves. What the partition printed before is
// shown first, from its console log.
import type { ReadStream } from 'node:tty';
import type { Engine } from '../engine/index.js';
import type { CommandIO } from './io.js';
import { styleFor } from './render/style.js';

/** Ctrl-]: leaves the console, as in virsh and telnet. */
const ESCAPE = 0x1d;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Attaches the terminal to partition `name`'s console until Ctrl-], a signal, or the partition's end. */
export async function attach(engine: Engine, name: string, io: CommandIO): Promise<void> {
  const s = styleFor(io.errStream, io.env);
  const stdin = io.stdin as ReadStream;
  const leave = new AbortController();
  const stop = () => leave.abort();
  io.err(s.dim(`Connected to the console of \`${name}\`. Escape character is ^] (Ctrl + ]).\n`));
  const session = await engine.attachConsole(name, { write: io.out, signal: leave.signal });
  const onKeys = (chunk: Buffer) => {
    const at = chunk.indexOf(ESCAPE);
    if (at < 0) return session.send(chunk);
    if (at > 0) session.send(chunk.subarray(0, at));
    stop();
  };
  // Signals from elsewhere (a raw terminal sends none for Ctrl-C) leave the console too.
  for (const sig of SIGNALS) process.on(sig, stop);
  stdin.setRawMode(true);
  stdin.on('data', onKeys);
  stdin.resume();
  let why: 'detached' | 'ended';
  try {
    why = await session.done;
  } finally {
    stdin.off('data', onKeys);
    stdin.setRawMode(false);
    stdin.pause();
    for (const sig of SIGNALS) process.off(sig, stop);
  }
  const end = why === 'ended' ? `the QEMU of \`${name}\` ended` : `left the console of \`${name}\``;
  io.err(`\r\n${s.dim(`Disconnected: ${end}.`)}\n`);
}
