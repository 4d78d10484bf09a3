// The engine as a command opens it: flags, then the environment (SPEC "Files"), then defaults.
import type { Diagnostic } from '../rules/diagnostic.js';
import { VmanError } from '../errors.js';
import { parseDuration } from '../manifest/units.js';
import {
  DEFAULT_RESTART_TIMING,
  Engine,
  type EngineOptions,
  type Reporter,
  type RestartTiming,
} from '../engine/index.js';
import type { GlobalFlags } from './args.js';
import type { CommandIO } from './io.js';

const given = (v: string | undefined): string | undefined => (v !== undefined && v !== '' ? v : undefined);

/** A duration flag in milliseconds (`500ms`, `30s`, `1m`), or `fallback` when it was not given. */
export function durationFlag(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const d = parseDuration(value, flag);
  if (!d.ok) throw new VmanError('usage', `${d.message}${d.hint ? `; ${d.hint}` : ''}`);
  return d.value;
}

/** A count flag: a whole number ≥ 1. */
export function countFlag(value: string, flag: string): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new VmanError('usage', `${flag} ${value}: give a whole number ≥ 1`);
  return n;
}

/** The engine's options from a command's flags and the process environment. */
export function engineOptions(
  flags: GlobalFlags,
  io: CommandIO,
  extra: { report?: Reporter; collectBoardProblems?: Diagnostic[]; readOnly?: boolean } = {},
): EngineOptions {
  const env = io.env;
  const configDir = given(flags['config-dir']) ?? given(env.VMAN_CONFIG_DIR);
  const stateDir = given(flags['state-dir']) ?? given(env.VMAN_STATE_DIR);
  const board = given(flags.board);
  const backend = given(flags.backend);
  const imageRoot = given(flags['image-root']) ?? given(env.VMAN_IMAGE_ROOT);
  const lock = given(flags['lock-timeout']);
  const parallelism = given(flags.parallelism);
  return {
    cwd: io.cwd,
    ...(configDir ? { configDir } : {}),
    ...(stateDir ? { stateDir } : {}),
    ...(board ? { board } : {}),
    ...(backend ? { backend } : {}),
    ...(imageRoot ? { imageRoot } : {}),
    ...(lock ? { lockTimeoutMs: durationFlag(lock, '--lock-timeout', 0) } : {}),
    ...(parallelism ? { parallelism: countFlag(parallelism, '--parallelism') } : {}),
    ...extra,
  };
}

/** Opens the engine for a command. */
export function openEngine(
  flags: GlobalFlags,
  io: CommandIO,
  extra: Parameters<typeof engineOptions>[2] = {},
): Promise<Engine> {
  return Engine.open(engineOptions(flags, io, extra));
}

/**
 * The restart policy's backoff: Kubernetes' values, or (a testing switch, so that tests need not wait
 * 10 s and more) `VMAN_RESTART_BACKOFF=FIRST,CAP,HEALTHY` as durations, e.g. `200ms,1s,3s`.
 */
export function restartTiming(env: NodeJS.ProcessEnv): RestartTiming {
  const v = env.VMAN_RESTART_BACKOFF;
  if (!v) return DEFAULT_RESTART_TIMING;
  const parts = v.split(',').map((x) => x.trim());
  const [first, cap, healthy] = parts.map((x) => durationFlag(x, 'VMAN_RESTART_BACKOFF', 0));
  if (parts.length !== 3 || first === undefined || cap === undefined || healthy === undefined || first > cap)
    throw new VmanError(
      'usage',
      `VMAN_RESTART_BACKOFF=${v}: give FIRST,CAP,HEALTHY durations, FIRST ≤ CAP (200ms,1s,3s)`,
    );
  return { firstMs: first, capMs: cap, healthyMs: healthy };
}
