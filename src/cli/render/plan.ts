// Plans as people read them, in the manner of `terraform plan`, and as JSON (schemas/plan.schema.json).
import type { LivePartition, LiveState } from '../../backends/types.js';
import type { Action, Change, Plan, Step, Target } from '../../plan/types.js';
import { summarize } from '../../plan/types.js';
import { formatAddress, formatSize } from '../../units/format.js';
import { createTwoFilesPatch } from 'diff';
import type { TreeChange } from '../../engine/index.js';
import { decodeFdt } from '../../fdt/decode.js';
import { toDts } from '../../fdt/dts.js';
import type { Style } from './style.js';

const SYMBOL: Record<Action, string> = {
  create: '+',
  delete: '-',
  replace: '-/+',
  restart: '~',
  start: '~',
  stop: '~',
  noop: ' ',
};
const VERB: Record<Action, string> = {
  create: 'created',
  delete: 'destroyed',
  replace: 'replaced',
  restart: 'restarted',
  start: 'started',
  stop: 'stopped',
  noop: 'unchanged',
};

function colour(a: Action, s: Style): (t: string) => string {
  return a === 'create' ? s.green : a === 'delete' ? s.red : a === 'noop' ? s.dim : s.yellow;
}

const list = (xs: readonly (string | number)[]) => `[${xs.join(', ')}]`;
const mem = (m: { base: number; size: number }) => `${formatSize(m.size)} at ${formatAddress(m.base)}`;

function targetLines(t: Target): [string, string][] {
  const rows: [string, string][] = [
    ['cpus', list(t.cpus)],
    ['memory', mem(t.memory)],
    ['devices', list(t.devices)],
  ];
  for (const [k, v] of Object.entries(t.record.boot))
    if (!k.endsWith('.sha256')) rows.push([`boot.${k}`, JSON.stringify(v)]);
  rows.push(['state', t.state]);
  if (t.dependsOn.length) rows.push(['dependsOn', list(t.dependsOn)]);
  return rows;
}

function liveLines(p: LivePartition): [string, string][] {
  return [
    ['cpus', list(p.cpus)],
    ['memory', mem(p.memory)],
    ['devices', list(p.devices)],
    ['state', p.state],
  ];
}

function block(c: Change, plan: Plan, live: LiveState, s: Style): string[] {
  const col = colour(c.action, s);
  const sym = SYMBOL[c.action];
  const out = [`  ${s.bold(`# ${c.partition}`)} will be ${VERB[c.action]}${c.drift ? ' (drift)' : ''}`];
  for (const r of c.reasons) out.push(`  ${s.dim(`#   ${r}`)}`);
  out.push(`  ${col(sym)} partition "${c.partition}" {`);
  const pad = (k: string, w: number) => k.padEnd(w);
  if (c.action === 'create') {
    const t = plan.targets[c.partition];
    const rows = t ? targetLines(t) : [];
    const w = Math.max(...rows.map(([k]) => k.length), 1);
    for (const [k, v] of rows) out.push(`      ${col('+')} ${pad(k, w)} = ${v}`);
  } else if (c.action === 'delete') {
    const p = live.partitions.find((x) => x.name === c.partition);
    const rows = p ? liveLines(p) : [];
    const w = Math.max(...rows.map(([k]) => k.length), 1);
    for (const [k, v] of rows) out.push(`      ${col('-')} ${pad(k, w)} = ${v}`);
    if (!p) out.push(`      ${s.dim('(resources the monitor holds with no partition)')}`);
  } else {
    const w = Math.max(...c.fields.map((f) => f.field.length), 1);
    for (const f of c.fields) {
      const forces = f.forcesReplacement ? ` ${s.red('# forces replacement')}` : '';
      const before = f.before === undefined ? '(none)' : f.before;
      const after = f.after === undefined ? '(none)' : f.after;
      out.push(`      ${s.yellow('~')} ${pad(f.field, w)} = ${before} -> ${after}${forces}`);
    }
    const t = plan.targets[c.partition];
    if (t && c.action === 'replace')
      out.push(`      ${s.dim(`(new placement: cores ${list(t.cpus)}, ${mem(t.memory)})`)}`);
  }
  out.push('    }');
  return out;
}

function stepDetail(st: Step): string {
  switch (st.kind) {
    case 'allocate':
      return `cores ${list(st.cpus)}, ${mem(st.memory)}${st.devices.length ? `, devices ${list(st.devices)}` : ''}`;
    case 'build-fdt':
      return `${st.size} bytes`;
    case 'load':
      return st.items.map((i) => `${i.what} @ ${formatAddress(i.addr)}`).join(', ');
    case 'release-cores':
      return `core ${st.bootCpu} at ${formatAddress(st.entry)}, DTB ${formatAddress(st.dtbAddr)}`;
    case 'wait-ready':
      return st.console !== undefined ? `console /${st.console}/ within ${st.timeoutMs / 1000}s` : 'cores released';
    case 'scrub-memory':
      return st.memory.size ? mem(st.memory) : '';
    default:
      return '';
  }
}

/** The summary line (SPEC: `Plan: N to create, N to replace, N to restart, N to destroy.` or `No changes.`). */
export function summaryLine(plan: Plan): string {
  const n = summarize(plan);
  const changed = plan.changes.some((c) => c.action !== 'noop');
  if (!changed) return 'No changes. Live partitions match the manifests.';
  const main = `Plan: ${n.create} to create, ${n.replace} to replace, ${n.restart} to restart, ${n.delete} to destroy.`;
  return n.start || n.stop ? `${main}\nPower: ${n.start} to start, ${n.stop} to stop.` : main;
}

// A unified diff of each device tree the plan changes, live against planned, as DTS: what a restart
// changes in a partition's hardware view (bootargs, an overlay's nodes) is then visible before it runs.
function treeDiffLines(trees: readonly TreeChange[], s: Style): string[] {
  const lines: string[] = [];
  for (const t of trees) {
    if (!t.before) continue;
    const patch = createTwoFilesPatch(
      `${t.partition}.dts`,
      `${t.partition}.dts`,
      toDts(decodeFdt(t.before)),
      toDts(decodeFdt(t.after)),
      'live',
      'planned',
      { context: 2 },
    );
    const body = patch
      .split('\n')
      .slice(2)
      .filter((l) => l !== '');
    if (!body.length) continue;
    lines.push(s.bold(`Device tree of \`${t.partition}\`:`));
    for (const l of body) {
      const c = l.startsWith('+')
        ? s.green
        : l.startsWith('-')
          ? s.red
          : l.startsWith('@@')
            ? s.cyan
            : (x: string) => x;
      lines.push(`  ${c(l)}`);
    }
    lines.push('');
  }
  return lines;
}

/** The whole plan for a terminal; `trees` (the device trees it changes) adds their diffs. */
export function renderPlan(
  plan: Plan,
  live: LiveState,
  s: Style,
  o: { header?: string; trees?: readonly TreeChange[] } = {},
): string {
  const header = o.header;
  const changed = plan.changes.filter((c) => c.action !== 'noop');
  if (!changed.length) {
    const notes = plan.changes
      .filter((c) => c.reasons.length)
      .flatMap((c) => c.reasons.map((r) => `  ${s.dim(`# ${c.partition}: ${r}`)}`));
    return `${notes.length ? `${notes.join('\n')}\n\n` : ''}${s.green(summaryLine(plan))}\n`;
  }
  const lines: string[] = [];
  if (header) lines.push(header, '');
  lines.push('vman will perform the following actions:', '');
  for (const c of changed) lines.push(...block(c, plan, live, s), '');
  lines.push(...treeDiffLines(o.trees ?? [], s));
  lines.push(s.bold('Steps, in order:'));
  plan.steps.forEach((st, i) => {
    const d = stepDetail(st);
    lines.push(`  ${String(i + 1).padStart(3)}. ${st.id}${d ? s.dim(`  (${d})`) : ''}`);
  });
  lines.push('', s.bold(summaryLine(plan)));
  return `${lines.join('\n')}\n`;
}

/** The plan as SPEC's `plan --json` document. */
export function planJson(plan: Plan): { format_version: '1'; changes: unknown[]; steps: unknown[] } {
  return {
    format_version: '1',
    changes: plan.changes.map((c) => ({
      partition: c.partition,
      action: c.action,
      reasons: c.reasons,
      fields: c.fields,
      drift: c.drift,
    })),
    steps: plan.steps.map((s) => ({ ...s })),
  };
}

/** What an apply did, for its last line: `2 created, 0 replaced, 1 restarted, 0 destroyed.` */
export function appliedLine(plan: Plan): string {
  const n = summarize(plan);
  const power = n.start || n.stop ? `, ${n.start} started, ${n.stop} stopped` : '';
  return `${n.create} created, ${n.replace} replaced, ${n.restart} restarted, ${n.delete} destroyed${power}.`;
}
