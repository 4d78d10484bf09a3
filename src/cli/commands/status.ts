// `vman status`: the live partitions, their drift from the manifests, and orphans. Exit 0 whenever
// the monitor can be read, even when the manifests are invalid (drift is then null).
import type { Command } from '../run.js';
import { openEngine } from '../engine.js';
import { diagnosticJson, renderDiagnostics } from '../render/diagnostics.js';
import { styleFor } from '../render/style.js';
import { activityJson, activityNote } from '../render/activity.js';
import { lookupSource } from '../render/source.js';
import { formatRange, formatSize } from '../../units/format.js';
import { readWatchStatus } from '../../watch/status-file.js';
import { describeWatch } from '../../watch/status.js';

const status: Command<'status'> = async (inv, io) => {
  const engine = await openEngine(inv.flags, io);
  const ws = engine.workspace;
  // A writer at work meanwhile: its partitions show half-done. Say who it is, first (never wait for it).
  const activity = await engine.activity();
  if (activity && !inv.flags.json) io.err(activityNote(activity, styleFor(io.errStream, io.env)));
  const report = await engine.status();
  const rows = report.partitions;
  const problems = report.problems;
  const known = !problems.length;
  // The file-drop agent's status file, when one ever ran on this state (`vman watch`).
  const watch = await readWatchStatus(ws.stateDir);
  if (inv.flags.json) {
    io.out(
      `${JSON.stringify({
        board: ws.board.name,
        backend: ws.backend,
        partitions: rows,
        orphans: report.orphans,
        pending: report.pending,
        ...(known ? {} : { problems: problems.map(diagnosticJson) }),
        ...(watch ? { watch: { ...watch.status, running: watch.running } } : {}),
        lock: activityJson(activity),
      })}\n`,
    );
    return 'ok';
  }
  const s = styleFor(io.outStream, io.env);
  io.out(`Board ${s.bold(ws.board.name)} on the ${ws.backend} backend (state in ${ws.stateDir})\n\n`);
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
  if (report.pending.length) io.out(`\nDeclared but not live: ${report.pending.join(', ')} (run \`vman apply\`).\n`);
  for (const o of report.orphans) io.out(`${s.yellow('Orphan:')} ${o.owner}: ${o.detail}\n`);
  if (watch) io.out(`\n${describeWatch(watch.status, watch.running).join('\n')}\n`);
  if (!known) {
    io.out(`\n${s.yellow('The manifests are invalid, so drift is unknown:')}\n`);
    io.err(renderDiagnostics(problems, styleFor(io.errStream, io.env), lookupSource));
  }
  return 'ok';
};

export default status;
