// `vman console NAME [--follow]`: a partition's console output so far; --follow keeps streaming
// until Ctrl-C or the partition's process ends. Only backends that keep a console have one.
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { openContext } from '../context.js';
import { readLive } from '../live.js';
import { didYouMean } from '../../rules/suggest.js';

const consoleCommand: Command = async (inv, io) => {
  const ctx = await openContext(inv, io);
  const name = inv.positionals[0] ?? '';
  const live = await readLive(ctx);
  const monitor = live.monitor;
  try {
    if (!monitor.consoleLog) {
      throw new VmanError(
        'usage',
        `${ctx.backend} partitions have no console: the ${ctx.backend} backend runs no guest code. Use --backend qemu to boot partitions with a console`,
      );
    }
    if (!live.state.partitions.some((p) => p.name === name)) {
      const names = live.state.partitions.map((p) => p.name);
      const fix = didYouMean(name, names);
      throw new VmanError(
        'usage',
        `no live partition is called \`${name}\`${fix ? `; ${fix}` : names.length ? `; live: ${names.join(', ')}` : ''}`,
      );
    }
    if (inv.flags.follow === true && monitor.followConsole) {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        await monitor.followConsole(
          name,
          (chunk) => io.out(ctx.json ? `${JSON.stringify({ name, data: chunk })}\n` : chunk),
          controller.signal,
        );
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      return 0;
    }
    const text = (await monitor.consoleLog(name)) ?? '';
    io.out(ctx.json ? `${JSON.stringify({ name, backend: ctx.backend, console: text })}\n` : text);
    return 0;
  } finally {
    await monitor.close();
  }
};

export default consoleCommand;
