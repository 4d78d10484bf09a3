// argv → a command name, its options and positionals. Every command declares its flags here.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { VmanError } from '../errors.js';
import { didYouMean } from '../rules/suggest.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes (SPEC "Commands"). */
const COMMON = {
  'config-dir': { type: 'string', short: 'C' },
  board: { type: 'string' },
  'state-dir': { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  'image-root': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const LOCK = { 'lock-timeout': { type: 'string' } } as const satisfies Options;

/** Each command: its own flags, its positionals (for help and checks), and a one-line summary. */
export const COMMANDS = {
  validate: { options: {}, args: '', min: 0, max: 0, summary: 'check every manifest and the board' },
  plan: {
    options: {
      out: { type: 'string' },
      'detailed-exitcode': { type: 'boolean' },
      target: { type: 'string', multiple: true },
      replace: { type: 'string', multiple: true },
    },
    args: '[--out FILE] [--detailed-exitcode] [--target NAME…] [--replace NAME…]',
    min: 0,
    max: 0,
    summary: 'diff desired against live state and print the ordered plan',
  },
  apply: {
    options: {
      'auto-approve': { type: 'boolean' },
      target: { type: 'string', multiple: true },
      replace: { type: 'string', multiple: true },
      ...LOCK,
    },
    args: '[PLANFILE] [--auto-approve] [--replace NAME…] [--target NAME…]',
    min: 0,
    max: 1,
    summary: 'run a fresh plan (after asking), or exactly a saved plan',
  },
  show: { options: {}, args: 'PLANFILE', min: 1, max: 1, summary: 'print a saved plan' },
  status: { options: {}, args: '', min: 0, max: 0, summary: 'the live partitions and their drift from the manifests' },
  fdt: {
    options: { dts: { type: 'boolean' }, out: { type: 'string' }, planned: { type: 'boolean' } },
    args: 'NAME [--dts] [--out FILE] [--planned]',
    min: 1,
    max: 1,
    summary: "a partition's device tree (DTB, or DTS text)",
  },
  destroy: {
    options: { 'auto-approve': { type: 'boolean' }, ...LOCK },
    args: '[NAME…] [--auto-approve]',
    min: 0,
    max: Infinity,
    summary: 'destroy the named (or all) partitions',
  },
  create: {
    options: { file: { type: 'string', short: 'f' }, 'auto-approve': { type: 'boolean' }, ...LOCK },
    args: '-f FILE [--auto-approve]',
    min: 0,
    max: 0,
    summary: 'add a manifest to partitions.d/ and reconcile that partition',
  },
  delete: {
    options: { 'auto-approve': { type: 'boolean' }, ...LOCK },
    args: 'NAME [--auto-approve]',
    min: 1,
    max: 1,
    summary: "remove a partition's document from partitions.d/ and destroy it",
  },
  board: {
    options: {},
    args: '',
    min: 0,
    max: 0,
    summary: 'the board: cores, memory, reservations, assignable devices',
  },
  console: {
    options: { follow: { type: 'boolean', short: 'f' } },
    args: 'NAME [--follow]',
    min: 1,
    max: 1,
    summary: "a partition's console output so far (qemu backend); --follow keeps streaming",
  },
  watch: {
    options: { settle: { type: 'string' }, resync: { type: 'string' }, ...LOCK },
    args: '[--settle DURATION] [--resync DURATION]',
    min: 0,
    max: 0,
    summary: 'the file-drop agent: reconcile whenever partitions.d/ changes, and periodically',
  },
} as const satisfies Record<string, { options: Options; args: string; min: number; max: number; summary: string }>;

export type CommandName = keyof typeof COMMANDS;

/** Parsed flags: strings, booleans and string lists by long name. */
export type Flags = Readonly<Record<string, string | boolean | string[] | undefined>>;

export interface Invocation {
  readonly command: CommandName | 'help' | 'version';
  readonly flags: Flags;
  readonly positionals: readonly string[];
}

/** Parses argv (without node and script). Throws a usage VmanError on unknown commands or flags. */
export function parseInvocation(argv: readonly string[]): Invocation {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h')
    return { command: 'help', flags: {}, positionals: argv.slice(1) };
  if (first === '--version' || first === 'version') return { command: 'version', flags: {}, positionals: [] };
  if (!(first in COMMANDS)) {
    const fix = didYouMean(first, Object.keys(COMMANDS));
    throw new VmanError('usage', `unknown command \`${first}\`${fix ? `; ${fix}` : ''} (see \`vman help\`)`);
  }
  const command = first as CommandName;
  const spec = COMMANDS[command];
  const options: Options = { ...COMMON, ...spec.options };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv.slice(1)], options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = (err as Error).message;
    const flag = /'(-{1,2}[^']+)'/.exec(msg)?.[1];
    if (flag && /Unknown option/.test(msg)) {
      const fix = didYouMean(flag.replace(/^-+/, ''), Object.keys(options));
      throw new VmanError(
        'usage',
        `unknown option \`${flag}\` for \`vman ${command}\`${fix ? `; ${fix.replace('`', '`--')}` : ''}`,
      );
    }
    throw new VmanError('usage', `vman ${command}: ${msg.replace(/\. To specify.*$/s, '')}`);
  }
  const positionals = parsed.positionals;
  if (positionals.length < spec.min || positionals.length > spec.max) {
    throw new VmanError('usage', `usage: vman ${command} ${spec.args}`.trimEnd());
  }
  return { command, flags: parsed.values as Flags, positionals };
}

/** Help text: every command with its summary. */
export function helpText(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${`${name} ${c.args}`.padEnd(72)} ${c.summary}`);
  return [
    'vman — Physical Partition Manager',
    '',
    'usage: vman COMMAND [options]',
    '',
    'commands:',
    ...rows,
    '',
    'options for every command:',
    '  -C DIR              config directory (else $VMAN_CONFIG_DIR, else .)',
    '  --board NAME|FILE   a built-in board or a Board YAML file',
    '  --state-dir DIR     state directory (else $VMAN_STATE_DIR, else DIR/.vman)',
    '  --backend NAME      sim (default) or qemu',
    '  --image-root DIR    confine image and overlay paths to DIR',
    '  --json              machine-readable output',
    '  --lock-timeout D    writers: how long to wait for the lock (e.g. 30s; 0s fails at once)',
    '',
  ].join('\n');
}
