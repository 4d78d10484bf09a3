// `vman fdt NAME`: the partition's device tree: the live one, else (or with --planned) the one
// the next apply would give. DTB bytes, or DTS text with --dts.
import { resolve } from 'node:path';
import type { Command } from '../run.js';
import { openEngine } from '../engine.js';
import { decodeFdt } from '../../fdt/decode.js';
import { toDts } from '../../fdt/dts.js';
import { writeUserFile } from '../../state/files.js';
import { sha256Hex } from '../../images/digest.js';

const fdt: Command<'fdt'> = async (inv, io) => {
  const f = inv.flags;
  const name = inv.positionals[0] ?? '';
  const engine = await openEngine(f, io);
  const { bytes, origin } = await engine.tree(name, { planned: f.planned === true });
  const asDts = f.dts === true;
  const dts = asDts || (f.out === undefined && io.outStream.isTTY && !f.json) ? toDts(decodeFdt(bytes)) : undefined;
  if (f.json) {
    const dtb = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
    const doc = { name, source: origin, size: bytes.length, sha256: sha256Hex(bytes), dtb, ...(asDts ? { dts } : {}) };
    io.out(`${JSON.stringify(doc)}\n`);
  } else if (f.out !== undefined) {
    await writeUserFile(resolve(io.cwd, f.out), asDts ? (dts ?? '') : bytes);
    io.err(`Wrote the ${origin} tree of \`${name}\` (${bytes.length} bytes as DTB) to ${f.out}.\n`);
  } else if (dts !== undefined) io.out(dts);
  else io.outBytes(bytes);
  return 'ok';
};

export default fdt;
