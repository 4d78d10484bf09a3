// `vman status`: the live partitions, their drift from the manifests, and orphans. Exit 0 whenever
// the monitor can be read, even when the manifests are invalid (drift is then null).
import type { Command } from '../run.js';
import { VmanError } from '../../errors.js';
import type { Change } from '../../plan/types.js';
import { openContext } from '../context.js';
import { readLive } from '../live.js';
import { planAgainst } from '../planning.js';
import { diagnosticJson, renderDiagnostics } from '../render/diagnostics.js';
import { styleFor } from '../render/style.js';
import { lookupSource } from '../render/source.js';
import { formatRange, formatSize } from '../../units/format.js';
import type { Diagnostic } from '../../rules/diagnostic.js';
import { readWatchStatus } from '../../watch/status-file.js';
import { describeWatch } from '../../watch/status.js';

function driftOf(c: Change | undefined): string[] {
  if (!c || c.action === 'noop') return [];
  const fields = c.fields.map((f) => `${f.field}: ${f.before ?? '(none)'} -> ${f.after ?? '(none)'}`);
  return [`${c.action}: ${c.reasons.join('; ')}`, ...fields];
}

const status: Command = async (inv, io) => {
  const ctx = await openContext(inv, io);
  const live = await readLive(ctx);
  await live.monitor.close();
  let changes: Map<string, Change> | undefined;
  let pending: string[] = [];
  let problems: readonly Diagnostic[] = [];
  try {
    const { plan } = await planAgainst(ctx, live.state);
    changes = new Map(plan.changes.map((c) => [c.partition, c]));
    pending = plan.changes.filter((c) => c.action === 'create').map((c) => c.partition);
  } catch (err) {
    if (!(err instanceof VmanError) || err.kind === 'backend') throw err;
    problems = err.diagnostics.length ? err.diagnostics : [{ code: 'VMAN-E100', message: err.message }];
  }
  const rows = live.state.partitions.map((p) => ({
    name: p.name,
    state: p.state,
    cpus: p.cpus,
    memory: { base: p.memory.base, size: p.memory.size },
    devices: p.devices,
    drift: changes ? driftOf(changes.get(p.name)) : null,
  }));
  // The file-drop agent's status file, when one ever ran on this state (`vman watch`).
  const watch = await readWatchStatus(ctx.stateDir);
  if (ctx.json) {
    io.out(
      `${JSON.stringify({
        board: ctx.board.name,
        backend: ctx.backend,
        partitions: rows,
        orphans: live.state.orphans,
        pending,
        ...(changes ? {} : { problems: problems.map(diagnosticJson) }),
        ...(watch ? { watch: { ...watch.status, running: watch.running } } : {}),
      })}\n`,
    );
    return 0;
  }
  const s = styleFor(io.outStream);
  io.out(`Board ${s.bold(ctx.board.name)} on the ${ctx.backend} backend (state in ${ctx.stateDir})\n\n`);
  if (!rows.length) io.out('No live partitions.\n');
  else {
    const table = [['NAME', 'STATE', 'CORES', 'MEMORY', 'DEVICES', 'DRIFT']].concat(
      rows.map((r) => [
        r.name,
        r.state,
        r.cpus.join(',') || '-',
        `${formatRange(r.memory)} (${formatSize(r.memory.size)})`,
        r.devices.join(',') || '-',
        r.drift === null ? 'unknown (manifests invalid)' : r.drift.length ? (r.drift[0] ?? '') : 'in sync',
      ]),
    );
    const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
    table.forEach((row, i) => {
      const line = row
        .map((c, k) => c.padEnd(widths[k] ?? 0))
        .join('  ')
        .trimEnd();
      io.out(`${i === 0 ? s.bold(line) : line}\n`);
    });
    for (const r of rows) for (const d of (r.drift ?? []).slice(1)) io.out(`  ${s.dim(`${r.name}: ${d}`)}\n`);
  }
  if (pending.length) io.out(`\nDeclared but not live: ${pending.join(', ')} (run \`vman apply\`).\n`);
  for (const o of live.state.orphans) io.out(`${s.yellow('Orphan:')} ${o.owner}: ${o.detail}\n`);
  if (watch) io.out(`\n${describeWatch(watch.status, watch.running).join('\n')}\n`);
  if (!changes) {
    io.out(`\n${s.yellow('The manifests are invalid, so drift is unknown:')}\n`);
    io.err(renderDiagnostics(problems, styleFor(io.errStream), lookupSource));
  }
  return 0;
};

export default status;
