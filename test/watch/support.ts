// Runs the built `vman watch --json` as a child process in a temp config dir and reads its events.
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, partitionYaml, vmanJson, type PartitionOpts } from '../helpers/cli.js';
import { CliProcess } from '../helpers/cli-process.js';
import type { WatchEvent } from '../../src/watch/events.js';

export type Ev = WatchEvent & Record<string, unknown>;

/** `vman watch --json ARGS` in `dir`. */
export class Watch extends CliProcess<Ev> {
  constructor(
    readonly dir: string,
    args: readonly string[],
    env: Record<string, string> = {},
  ) {
    super('vman watch', dir, ['watch', '--json', ...args], env);
  }

  /** Waits for the agent to be ready and its startup reconcile to finish; returns the number of events so far. */
  async started(): Promise<number> {
    await this.waitFor((e) => e.event === 'ready', 'ready');
    await this.waitFor((e) => e.event === 'reconcile-finished' && e.trigger === 'startup', 'the startup reconcile');
    return this.events.length;
  }

  /** The next reconcile-finished after index `from` whose trigger is `trigger`. */
  finished(from: number, trigger = 'files', ms = 10_000): Promise<Ev> {
    return this.waitFor(
      (e) => e.event === 'reconcile-finished' && e.trigger === trigger,
      `a ${trigger} reconcile to finish`,
      ms,
      from,
    );
  }

  of(kind: string, from = 0): Ev[] {
    return this.events.slice(from).filter((e) => e.event === kind);
  }

  signal(sig: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(sig);
  }
}

export interface StatusJson {
  partitions: {
    name: string;
    state: string;
    cpus: number[];
    memory: { base: number; size: number };
    drift: string[] | null;
    restarts: number;
  }[];
  watch?: {
    running: boolean;
    state: string;
    conditions: { type: string; status: string; reason: string; message: string }[];
    problems: { code: string; file: string | null; line: number | null }[];
    restarts?: {
      partition: string;
      restarts: number;
      reason: string | null;
      ended: string | null;
      nextRestartAt: string | null;
    }[];
  };
}

export const status = (dir: string): StatusJson => vmanJson<StatusJson>(dir, ['status']).json;

/** Sets a partition's power in the simulated monitor the way another tool would: a new file renamed over the old. */
export function setPower(dir: string, name: string, power: string): void {
  const file = join(dir, '.vman', 'sim', 'monitor.json');
  const s = JSON.parse(readFileSync(file, 'utf8')) as { partitions: Record<string, { power: string }> };
  const p = s.partitions[name];
  if (!p) throw new Error(`no partition ${name} in the monitor`);
  p.power = power;
  writeFileSync(`${file}.edit`, JSON.stringify(s, null, 1));
  renameSync(`${file}.edit`, file);
}

export const live = (dir: string): Record<string, string> =>
  Object.fromEntries(status(dir).partitions.map((p) => [p.name, p.state]));

/** Writes a manifest outside partitions.d/ (in DIR/staging), then renames it in: an atomic drop. */
export function dropByRename(dir: string, file: string, text: string): void {
  mkdirSync(join(dir, 'staging'), { recursive: true });
  const tmp = join(dir, 'staging', file);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, 'partitions.d', file));
}

export const yaml = (name: string, o: PartitionOpts = {}) => partitionYaml(name, o);

/** The built-in aarch64 board as a custom board.yaml with `cores` cores (for more partitions than 7). */
export function bigBoard(cores: number): string {
  const src = readFileSync(join(ROOT, 'examples/boards/qemu-virt-aarch64.yaml'), 'utf8').replace(
    'name: qemu-virt-aarch64',
    'name: many-cores',
  );
  const last = '    - {id: 7, hwid: 7, compatible: "arm,cortex-a57"}\n';
  const more = Array.from(
    { length: cores - 8 },
    (_, i) => `    - {id: ${i + 8}, hwid: ${i + 8}, compatible: "arm,cortex-a57"}\n`,
  ).join('');
  if (!src.includes(last)) throw new Error('the example board changed shape');
  return src.replace(last, last + more);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
