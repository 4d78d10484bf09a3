// `vman fdt NAME`: the partition's device tree: the live one, else (or with --planned) the one
// the next apply would give. DTB bytes, or DTS text with --dts.
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import { openContext } from '../context.js';
import { readLive } from '../live.js';
import { planAgainst } from '../planning.js';
import { decodeFdt } from '../../fdt/decode.js';
import { encodeFdt } from '../../fdt/encode.js';
import { toDts } from '../../fdt/dts.js';
import { writeUserFile } from '../../state/files.js';
import { sha256Hex } from '../../images/digest.js';
import { toBase64 } from '../../util/base64.js';
import { didYouMean } from '../../rules/suggest.js';

const fdt: Command = async (inv, io) => {
  const ctx = await openContext(inv, io);
  const name = inv.positionals[0] ?? '';
  const live = await readLive(ctx);
  let bytes: Uint8Array | undefined;
  let origin: 'live' | 'planned' = 'live';
  try {
    if (inv.flags.planned !== true && live.state.partitions.some((p) => p.name === name))
      bytes = await live.monitor.liveDtb(name);
    if (!bytes) {
      origin = 'planned';
      const { desired } = await planAgainst(ctx, live.state);
      const tree = desired.set.trees.get(name);
      if (!tree) {
        const names = desired.inputs.specs.map((s) => s.name);
        const fix = didYouMean(name, names);
        throw new VmanError(
          'usage',
          `no partition is called \`${name}\`${fix ? `; ${fix}` : names.length ? `; declared: ${names.join(', ')}` : ''}`,
        );
      }
      bytes = encodeFdt(tree);
    }
  } finally {
    await live.monitor.close();
  }
  const asDts = inv.flags.dts === true;
  const dts = asDts || (!inv.flags.out && io.outStream.isTTY && !ctx.json) ? toDts(decodeFdt(bytes)) : undefined;
  if (ctx.json) {
    io.out(
      `${JSON.stringify({ name, source: origin, size: bytes.length, sha256: sha256Hex(bytes), dtb: toBase64(bytes), ...(asDts ? { dts } : {}) })}\n`,
    );
  } else if (typeof inv.flags.out === 'string') {
    await writeUserFile(resolve(ctx.cwd, inv.flags.out), asDts ? (dts ?? '') : bytes);
    io.err(`Wrote the ${origin} tree of \`${name}\` (${bytes.length} bytes as DTB) to ${inv.flags.out}.\n`);
  } else if (dts !== undefined) io.out(dts);
  else io.outBytes(bytes);
  return 0;
};

export default fdt;
