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

/** A field's path as a block prints it: relative to the partition's `spec`, as the manifest nests it. */
const fieldPath = (field: string) => field.replace(/^spec\./, '');

// Values print as a create block prints them: strings (paths, bootargs, digests) quoted, numbers,
// addresses, lists and states bare.
function fieldValue(path: string, value: string | undefined): string {
  if (value === undefined) return '(none)';
  const bare = !path.startsWith('boot.') || path === 'boot.load' || path === 'boot.entry';
  return bare ? value : JSON.stringify(value);
}

function targetLines(t: Target): [string, string][] {
  const rows: [string, string][] = [
    ['cpus', list(t.cpus)],
    ['memory', mem(t.memory)],
    ['devices', list(t.devices)],
  ];
  for (const [k, v] of Object.entries(t.record.boot))
    if (!k.endsWith('.sha256')) rows.push([`boot.${k}`, fieldValue(`boot.${k}`, v)]);
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

// The lines inside a change's block: each field with its symbol, names aligned.
function fieldLines(c: Change, plan: Plan, live: LiveState, s: Style): string[] {
  const col = colour(c.action, s);
  const rows = (sym: string, xs: readonly [string, string][]) => {
    const w = Math.max(...xs.map(([k]) => k.length), 1);
    return xs.map(([k, v]) => `      ${sym} ${k.padEnd(w)} = ${v}`);
  };
  if (c.action === 'create') {
    const t = plan.targets[c.partition];
    return rows(col('+'), t ? targetLines(t) : []);
  }
  if (c.action === 'delete') {
    const p = live.partitions.find((x) => x.name === c.partition);
    if (!p) return [`      ${s.dim('(resources the monitor holds with no partition)')}`];
    return rows(col('-'), liveLines(p));
  }
  const changed = c.fields.map((f) => {
    const path = fieldPath(f.field);
    const forces = f.forcesReplacement ? ` ${s.red('# forces replacement')}` : '';
    return [path, `${fieldValue(path, f.before)} -> ${fieldValue(path, f.after)}${forces}`] as [string, string];
  });
  const out = rows(s.yellow('~'), changed);
  const t = plan.targets[c.partition];
  if (t && c.action === 'replace')
    out.push(`      ${s.dim(`(new placement: cores ${list(t.cpus)}, ${mem(t.memory)})`)}`);
  return out;
}

// A change as Terraform shows a resource: a comment naming what happens and why, then the block of
// fields. A change with no field to show (a restart that corrects drift) is the header line alone.
function block(c: Change, plan: Plan, live: LiveState, s: Style): string[] {
  const out = [`  ${s.bold(`# ${c.partition}`)} will be ${VERB[c.action]}${c.drift ? ' (drift)' : ''}`];
  for (const r of c.reasons) out.push(`  ${s.dim(`#   ${r}`)}`);
  const head = `  ${colour(c.action, s)(SYMBOL[c.action])} partition "${c.partition}"`;
  const lines = fieldLines(c, plan, live, s);
  if (!lines.length) return [...out, head];
  return [...out, `${head} {`, ...lines, '    }'];
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

/**
 * The warning a plan limited by `--target` ends with, as Terraform's "Resource targeting is in
 * effect": what was left out is neither shown nor applied.
 */
export function partialPlanWarning(targets: readonly string[], s: Style): string {
  if (!targets.length) return '';
  const names = targets.map((t) => `\`${t}\``).join(', ');
  return (
    `\n${s.yellow(s.bold('Warning:'))} this plan is partial (--target ${targets.join(' ')}).\n` +
    `  Only ${names} and what ${targets.length > 1 ? 'they depend' : 'it depends'} on were compared with the ` +
    'manifests: changes to other\n  partitions are neither shown nor applied. `vman plan` without --target ' +
    'shows them all.\n'
  );
}

/** After an apply limited by `--target`: other changes may still be pending. */
export function partialApplyWarning(targets: readonly string[], s: Style): string {
  if (!targets.length) return '';
  return (
    `\n${s.yellow(s.bold('Warning:'))} applied with --target ${targets.join(' ')}: changes to other partitions ` +
    'may still be pending.\n  `vman plan` shows whether any are.\n'
  );
}

/**
 * The whole plan for a terminal; `trees` (the device trees it changes) adds their diffs, `targets`
 * (the plan's `--target` names) the warning that it is partial.
 */
export function renderPlan(
  plan: Plan,
  live: LiveState,
  s: Style,
  o: { header?: string; trees?: readonly TreeChange[]; targets?: readonly string[] } = {},
): string {
  const header = o.header;
  const warning = partialPlanWarning(o.targets ?? [], s);
  const changed = plan.changes.filter((c) => c.action !== 'noop');
  if (!changed.length) {
    const notes = plan.changes
      .filter((c) => c.reasons.length)
      .flatMap((c) => c.reasons.map((r) => `  ${s.dim(`# ${c.partition}: ${r}`)}`));
    const top = header ? `${header}\n\n` : '';
    return `${top}${notes.length ? `${notes.join('\n')}\n\n` : ''}${s.green(summaryLine(plan))}\n${warning}`;
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
  return `${lines.join('\n')}\n${warning}`;
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
