// `vman create -f FILE`: writes partitions.d/NAME.yaml (relative paths rewritten as absolute),
// then reconciles that partition. If the manifest is invalid, or the change is declined, the file
// is taken back out: nothing changes.
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from '../run.js';
import { VmanError, inputError } from '../../errors.js';
import { openContext } from '../context.js';
import { readSmallFile, displayName, PARTITIONS_DIR } from '../../manifest/load.js';
import { decodeManifest, isEmptyDocument, parseYaml } from '../../manifest/source.js';
import { toPartitionSpec } from '../../manifest/partition.js';
import { getValidator } from '../../manifest/validators.js';
import { writeFileAtomic } from '../../state/files.js';
import { findDeclaration } from '../manifest-files.js';
import { planAgainst, hasChanges } from '../planning.js';
import { renderPlan, planJson, appliedLine } from '../render/plan.js';
import { styleFor } from '../render/style.js';
import { lockState, recover, approve, runPlan, applyError, freshLive } from '../writer.js';

const create: Command = async (inv, io) => {
  const ctx = await openContext(inv, io);
  const given = inv.flags.file;
  if (typeof given !== 'string') throw new VmanError('usage', 'usage: vman create -f FILE [--auto-approve]');
  const abs = resolve(ctx.cwd, given);
  const display = displayName(abs, ctx.cwd);
  const read = await readSmallFile(abs, display);
  if ('problem' in read) throw inputError([read.problem]);
  const decoded = decodeManifest(display, read.bytes);
  if ('problem' in decoded) throw inputError([decoded.problem]);
  const { source, problems } = parseYaml(display, decoded.text);
  if (problems.length) throw inputError(problems);
  const docs = source.docs.filter((d) => !isEmptyDocument(d));
  const doc = docs[0];
  if (!doc || docs.length !== 1)
    throw new VmanError('input', `${display} must hold exactly one Partition document (it has ${docs.length})`, {
      file: display,
      line: 1,
    });
  const r = toPartitionSpec(source, abs, 0, doc, await getValidator('partition'));
  if (!r.spec) throw inputError(r.problems);
  const spec = r.spec;
  const existing = await findDeclaration(ctx.configDir, spec.name);
  if (existing)
    throw new VmanError(
      'input',
      `partition \`${spec.name}\` is already declared in ${displayName(existing.file, ctx.cwd)}; edit that file, or \`vman delete ${spec.name}\` first`,
      { file: display, line: spec.source.position.line },
    );

  // Paths become absolute, so the manifest means the same thing from partitions.d/.
  const b = spec.boot;
  if (b.kind === 'kernel') {
    doc.setIn(['spec', 'boot', 'kernel'], b.kernel);
    if (b.initrd) doc.setIn(['spec', 'boot', 'initrd'], b.initrd);
  } else doc.setIn(['spec', 'boot', 'image'], b.image);
  if (b.overlays.length) doc.setIn(['spec', 'boot', 'overlays'], doc.createNode([...b.overlays], { flow: true }));
  const dir = join(ctx.configDir, PARTITIONS_DIR);
  const target = join(dir, `${spec.name}.yaml`);
  try {
    await fs.access(target);
    throw new VmanError(
      'input',
      `${displayName(target, ctx.cwd)} already exists; choose another name, or remove that file first`,
    );
  } catch (err) {
    if (err instanceof VmanError) throw err;
  }

  const lock = await lockState(ctx, 'create');
  let written = false;
  const takeBack = async () => {
    if (written) await fs.rm(target, { force: true });
    written = false;
  };
  try {
    await recover(ctx);
    await fs.mkdir(dir, { recursive: true });
    await writeFileAtomic(target, doc.toString());
    written = true;
    const live = await freshLive(ctx);
    try {
      const { plan } = await planAgainst(ctx, live.state, { targets: [spec.name] }).catch(async (err: unknown) => {
        await takeBack();
        throw err;
      });
      const s = styleFor(io.outStream);
      if (!ctx.json) io.out(`Wrote ${displayName(target, ctx.cwd)}.\n\n${renderPlan(plan, live.state, s)}`);
      if (hasChanges(plan)) {
        await approve(ctx, inv.flags['auto-approve'] === true, '\nDo you want to perform these actions?').catch(
          async (err: unknown) => {
            await takeBack();
            throw err;
          },
        );
      }
      const result = hasChanges(plan) ? await runPlan(ctx, live, plan, lock, 'create') : undefined;
      if (result && !result.ok) throw applyError(result);
      if (ctx.json)
        io.out(
          `${JSON.stringify({ ...planJson(plan), applied: true, file: displayName(target, ctx.cwd), steps_run: result?.done ?? [] })}\n`,
        );
      else if (result) io.out(`\n${s.green(s.bold('Apply complete!'))} ${appliedLine(plan)}\n`);
      return 0;
    } finally {
      await live.monitor.close();
    }
  } finally {
    await lock.release();
  }
};

export default create;
