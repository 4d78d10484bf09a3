// argv → a command, its typed flags and positionals. Every command declares its flags here; the
// type of a command's flags is computed from that table, and the parser below guarantees it.
// Global options go before or after the command (`vman -C DIR plan`, `vman plan -C DIR`), and
// Terraform's single-dash spellings (`-out=FILE`, `-auto-approve`, `-json`) are accepted.
import { parseArgs } from 'node:util';
import { VmanError } from '../errors.js';
import { closest, didYouMean } from '../rules/suggest.js';

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** A string option that may be given without its value (`--libvirt`, `--libvirt PATH`): then ''. */
  readonly optionalValue?: boolean;
  /** The value's name in help (`FILE`, `NAME`, `DURATION`). */
  readonly value?: string;
  readonly help: string;
}
type Options = Readonly<Record<string, OptionSpec>>;

/** Flags every command takes (SPEC "Commands"). */
export const GLOBAL = {
  'config-dir': { type: 'string', short: 'C', value: 'DIR', help: 'config directory (else $VMAN_CONFIG_DIR, else .)' },
  board: { type: 'string', value: 'NAME|FILE', help: 'a built-in board or a Board YAML file' },
  'state-dir': { type: 'string', value: 'DIR', help: 'state directory (else $VMAN_STATE_DIR, else CONFIG/.vman)' },
  backend: { type: 'string', value: 'NAME', help: 'sim (default), qemu, or a provider: NAME, PATH or "CMD"' },
  'image-root': { type: 'string', value: 'DIR', help: 'confine image and overlay paths to DIR' },
  json: { type: 'boolean', help: 'machine-readable output' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies Options;

const LOCK = {
  'lock-timeout': {
    type: 'string',
    value: 'DURATION',
    help: 'how long to wait for the lock (default 30s; 0s fails at once)',
  },
  parallelism: {
    type: 'string',
    value: 'N',
    help: 'how many steps run at once (default 10; 1: one after another, in plan order)',
  },
} as const satisfies Options;
const APPROVE = { 'auto-approve': { type: 'boolean', help: 'do not ask for `yes`' } } as const satisfies Options;
const TARGET = {
  target: { type: 'string', multiple: true, value: 'NAME', help: 'only this partition and what it depends on' },
  replace: { type: 'string', multiple: true, value: 'NAME', help: 'replace this partition even if unchanged' },
} as const satisfies Options;

interface CommandSpec {
  readonly options: Options;
  /** Positionals, as help shows them. */
  readonly args: string;
  readonly min: number;
  readonly max: number;
  readonly summary: string;
}

/** Each command: its own flags, its positionals, and a one-line summary. */
export const COMMANDS = {
  validate: { options: {}, args: '', min: 0, max: 0, summary: 'check every manifest and the board' },
  plan: {
    options: {
      out: { type: 'string', value: 'FILE', help: 'save the plan for `vman apply FILE`' },
      'detailed-exitcode': { type: 'boolean', help: 'exit 2 when there are changes, 0 when none' },
      ...TARGET,
    },
    args: '',
    min: 0,
    max: 0,
    summary: 'diff desired against live state and print the ordered plan',
  },
  apply: {
    options: { ...APPROVE, ...TARGET, ...LOCK },
    args: '[PLANFILE]',
    min: 0,
    max: 1,
    summary: 'run a fresh plan (after asking), or exactly a saved plan',
  },
  show: { options: {}, args: 'PLANFILE', min: 1, max: 1, summary: 'print a saved plan' },
  status: { options: {}, args: '', min: 0, max: 0, summary: 'the live partitions and their drift from the manifests' },
  fdt: {
    options: {
      dts: { type: 'boolean', help: 'DTS text instead of DTB bytes' },
      out: { type: 'string', value: 'FILE', help: 'write to FILE' },
      planned: { type: 'boolean', help: 'the tree the next apply gives, even if the partition is live' },
    },
    args: 'NAME',
    min: 1,
    max: 1,
    summary: "a partition's device tree (DTB, or DTS text)",
  },
  destroy: {
    options: {
      cascade: {
        type: 'boolean',
        help: 'also destroy the live partitions that depend on the named ones (dependants first)',
      },
      ...APPROVE,
      ...LOCK,
    },
    args: '[NAME…]',
    min: 0,
    max: Infinity,
    summary: 'destroy the named (or all) partitions',
  },
  create: {
    options: { file: { type: 'string', short: 'f', value: 'FILE', help: 'the manifest to add' }, ...APPROVE, ...LOCK },
    args: '-f FILE',
    min: 0,
    max: 0,
    summary: 'add a manifest to partitions.d/ and reconcile that partition',
  },
  delete: {
    options: {
      cascade: {
        type: 'boolean',
        help: 'also delete the partitions whose manifests depend on it (dependants first)',
      },
      ...APPROVE,
      ...LOCK,
    },
    args: 'NAME',
    min: 1,
    max: 1,
    summary: "remove a partition's document from partitions.d/ and destroy it",
  },
  start: {
    options: { ...APPROVE, ...LOCK },
    args: 'NAME',
    min: 1,
    max: 1,
    summary: 'start a partition: spec.state: running in its manifest, then reconcile it',
  },
  stop: {
    options: { ...APPROVE, ...LOCK },
    args: 'NAME',
    min: 1,
    max: 1,
    summary: 'stop a partition: spec.state: stopped in its manifest, then reconcile it',
  },
  board: { options: {}, args: '', min: 0, max: 0, summary: 'the board: cores, memory, reservations, devices' },
  console: {
    options: {
      follow: {
        type: 'boolean',
        short: 'f',
        help: 'keep streaming until Ctrl-C; on a terminal, attach: keys go to the partition, Ctrl-] leaves',
      },
      previous: { type: 'boolean', help: "the previous boot's console (kept after a failed boot's rollback)" },
    },
    args: 'NAME',
    min: 1,
    max: 1,
    summary: "a partition's console output so far (qemu backend)",
  },
  watch: {
    options: {
      settle: { type: 'string', value: 'DURATION', help: 'how long a file must be unchanged (default 500ms)' },
      resync: { type: 'string', value: 'DURATION', help: 'how often to correct drift (default 60s; 0s: never)' },
      libvirt: {
        type: 'string',
        optionalValue: true,
        value: 'SOCKET|tcp://127.0.0.1:PORT',
        help: "also serve libvirt's RPC protocol (default socket /run/libvirt/virtvmand-sock)",
      },
      'libvirt-group': { type: 'string', value: 'GROUP', help: 'make the libvirt socket 0660 for GROUP (else 0600)' },
      ...LOCK,
    },
    args: '',
    min: 0,
    max: 0,
    summary: 'the file-drop agent: reconcile whenever partitions.d/ changes, and periodically',
  },
  agent: {
    options: {
      kubeconfig: { type: 'string', value: 'FILE', help: "the device's kubeconfig (required)" },
      node: {
        type: 'string',
        value: 'NAME',
        help: 'this device: runs the Partitions labelled vman.dev/node=NAME (required)',
      },
      namespace: {
        type: 'string',
        value: 'NS',
        help: "the device's namespace (else the kubeconfig context's, else default)",
      },
      resync: { type: 'string', value: 'DURATION', help: 'how often to relist and correct drift (default 30s)' },
      ...LOCK,
    },
    args: '',
    min: 0,
    max: 0,
    summary: "the fleet agent: run this device's Partitions from Kubernetes and report their status",
  },
  provider: {
    options: {},
    args: 'serve sim|qemu | test NAME|PATH|"CMD"',
    min: 2,
    max: 2,
    summary: 'a built-in backend over the provider protocol; the provider conformance suite',
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** The value type a flag's spec gives. */
type Value<S> = S extends { type: 'boolean' } ? boolean : S extends { multiple: true } ? string[] : string;
type FlagsOf<O> = { readonly [K in keyof O]?: Value<O[K]> };
/** The global flags, and the lock timeout that writers take. */
export type GlobalFlags = FlagsOf<typeof GLOBAL & typeof LOCK>;
/** A command's flags, typed from its table entry and the global options. */
export type Flags<C extends CommandName> = FlagsOf<typeof GLOBAL & (typeof COMMANDS)[C]['options']>;

export type Invocation = {
  [C in CommandName]: {
    readonly command: C;
    readonly flags: Flags<C>;
    readonly positionals: readonly string[];
  };
}[CommandName];

/** What argv asks for: a command, or help (for one command or all), or the version. */
export type Request =
  | Invocation
  | { readonly command: 'help'; readonly topic?: CommandName; readonly json: boolean }
  | { readonly command: 'version'; readonly json: boolean };

const isCommand = (s: string): s is CommandName => Object.hasOwn(COMMANDS, s);
const usage = (message: string) => new VmanError('usage', message);

/** A flag name spelt with one dash the way Terraform spells it (`-out=FILE`), with two. */
function doubleDash(arg: string, known: Options): string {
  const m = /^-([a-z][a-z-]+)(=.*)?$/.exec(arg);
  return m && m[1] && Object.hasOwn(known, m[1]) ? `-${arg}` : arg;
}

/** Where the command word is: the first positional after any global options (and their values). */
function findCommand(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = doubleDash(argv[i] ?? '', GLOBAL);
    if (a === '--') return -1;
    if (!a.startsWith('-') || a === '-') return i;
    const long = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
    const spec = long
      ? (GLOBAL as Options)[long ?? '']
      : Object.values(GLOBAL as Options).find((o) => o.short === a.slice(1, 2));
    if (spec?.type === 'string' && !a.includes('=') && (long || a.length === 2)) i++;
  }
  return -1;
}

/** Parses argv (without node and script). Throws a usage VmanError for anything it cannot take. */
export function parseInvocation(argv: readonly string[]): Request {
  const at = findCommand(argv);
  const word = at >= 0 ? argv[at] : undefined;
  const rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 1)] : [...argv];
  const json = rest.includes('--json') || rest.includes('-json');
  if (word === undefined || word === 'help') {
    const topic = word === 'help' ? argv[at + 1] : undefined;
    if (topic !== undefined && !isCommand(topic)) throw unknownCommand(topic);
    if (word === undefined && rest.some((a) => a === '--version' || a === '-version')) {
      return { command: 'version', json };
    }
    if (word === undefined && rest.length && !rest.every((a) => ['-h', '--help', '-help'].includes(a))) {
      // Only options and no command: say which are missing rather than print help silently.
      if (!rest.some((a) => ['-h', '--help', '-help'].includes(a))) throw usage('no command given (see `vman help`)');
    }
    return { command: 'help', ...(topic ? { topic } : {}), json };
  }
  if (word === 'version') return { command: 'version', json };
  if (!isCommand(word)) throw unknownCommand(word);
  const spec = COMMANDS[word];
  const options: Options = { ...GLOBAL, ...spec.options };
  const flags = parseFlags(
    word,
    rest.map((a) => doubleDash(a, options)),
    options,
  );
  if (flags.values.help === true) return { command: 'help', topic: word, json };
  const n = flags.positionals.length;
  if (n < spec.min || n > spec.max) {
    throw usage(`usage: ${synopsis(word)} (see \`vman ${word} --help\`)`);
  }
  return { command: word, flags: flags.values, positionals: flags.positionals } as Invocation;
}

function unknownCommand(word: string): VmanError {
  const fix = didYouMean(word, Object.keys(COMMANDS));
  return usage(`unknown command \`${word}\`${fix ? `; ${fix}` : ''} (see \`vman help\`)`);
}

// Node's tokenizer, not strict: every option token is checked here against the command's table, so
// each problem gets its own message (and a suggestion) without reading Node's error texts.
function parseFlags(command: CommandName, args: readonly string[], options: Options) {
  const config = Object.fromEntries(
    Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
  );
  for (const a of args) {
    if (a === '--') break;
    // `-outt`: a long option misspelt with one dash, not short options run together.
    const m = /^-([a-zA-Z][a-zA-Z-]+)/.exec(a);
    if (m?.[1] && !Object.values(options).some((o) => o.short === m[1]?.[0])) {
      const fix = closest(m[1], Object.keys(options));
      const hint = fix ? `; did you mean \`--${fix}\`?` : '';
      throw usage(`unknown option \`${a}\` for \`vman ${command}\`${hint} (see \`vman ${command} --help\`)`);
    }
  }
  // `--libvirt` with no value (last, or before another option): the empty value, not the next option.
  const given = args.map((a, i) => {
    const spec = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    const next = args[i + 1];
    return spec?.optionalValue && (next === undefined || next.startsWith('-')) ? `${a}=` : a;
  });
  const { tokens } = parseArgs({
    args: given,
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (!spec) {
      const fix = closest(t.name, Object.keys(options));
      const hint = fix ? `; did you mean \`--${fix}\`?` : '';
      throw usage(`unknown option \`${t.rawName}\` for \`vman ${command}\`${hint} (see \`vman ${command} --help\`)`);
    }
    if (spec.type === 'boolean') {
      if (t.inlineValue) throw usage(`option \`--${t.name}\` takes no value (\`vman ${command} --${t.name}\`)`);
      values[t.name] = true;
    } else if (t.value === undefined || (t.value === '' && !spec.optionalValue)) {
      throw usage(`option \`--${t.name}\` needs a value: \`--${t.name} ${spec.value ?? 'VALUE'}\``);
    } else if (spec.multiple) {
      const list = values[t.name];
      values[t.name] = Array.isArray(list) ? [...list, t.value] : [t.value];
    } else values[t.name] = t.value;
  }
  return { values, positionals };
}

/** `vman NAME ARGS [--flag] [--opt VALUE]…`: a command's synopsis. */
function synopsis(name: CommandName): string {
  const c: CommandSpec = COMMANDS[name];
  const flags = Object.entries(c.options).map(
    ([n, o]) => `[--${n}${o.value ? ` ${o.value}` : ''}${o.multiple ? '…' : ''}]`,
  );
  return ['vman', name, c.args, ...flags].filter((x) => x !== '').join(' ');
}

function optionLines(options: Options): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return `  ${flag.padEnd(30)} ${o.help}`;
  });
}

/** Help text: every command with its summary, or one command with its flags. */
export function helpText(topic?: CommandName): string {
  if (topic) {
    const c: CommandSpec = COMMANDS[topic];
    const own = optionLines(c.options);
    return [
      `usage: ${synopsis(topic)} [options]`,
      '',
      `${c.summary}.`,
      ...(own.length ? ['', 'options:', ...own] : []),
      '',
      'options for every command (before or after the command):',
      ...optionLines(GLOBAL),
      '',
    ].join('\n');
  }
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${`${name} ${c.args}`.padEnd(22)} ${c.summary}`);
  return [
    'vman — Physical Partition Manager',
    '',
    'usage: vman [options] COMMAND [ARGS] [options]',
    '',
    'commands:',
    ...rows,
    '',
    'options for every command:',
    ...optionLines(GLOBAL),
    '',
    "`vman COMMAND --help` shows a command's own options.",
    '',
  ].join('\n');
}
