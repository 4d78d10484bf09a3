// The plan: what changes, why, and the ordered steps that carry it out. Pure data, saved as JSON.
import type { MemRange } from '../board/model.js';
import type { RestartPolicy } from '../manifest/types.js';

/** What happens to one partition (SPEC "Actions and their steps"). */
export type Action = 'create' | 'delete' | 'replace' | 'restart' | 'start' | 'stop' | 'noop';

/** The step kinds, in the vocabulary of SPEC. */
export type StepKind =
  | 'allocate'
  | 'build-fdt'
  | 'load'
  | 'release-cores'
  | 'wait-ready'
  | 'stop-cores'
  | 'scrub-memory'
  | 'release-resources';

/** One field that differs between live and desired, for the human rendering. */
export interface FieldChange {
  /** Dotted manifest path, e.g. "spec.memory" or "spec.boot.bootargs". */
  readonly field: string;
  readonly before?: string;
  readonly after?: string;
  /** This difference alone forces a replace. */
  readonly forcesReplacement?: boolean;
}

export interface Change {
  readonly partition: string;
  readonly action: Action;
  /** Sentences naming what changed (or, for noop, what was ignored). */
  readonly reasons: readonly string[];
  readonly fields: readonly FieldChange[];
  /** The change corrects drift (something changed behind vman's back), not a manifest edit. */
  readonly drift: boolean;
}

/** One thing to put into a partition's memory. `sha256` is checked again when the bytes are loaded. */
export interface LoadItem {
  readonly what: 'kernel' | 'initrd' | 'dtb' | 'image' | 'segment';
  /** The file the bytes come from (absent for the DTB, which travels in the plan). */
  readonly file?: string;
  /** Byte range within the file. */
  readonly offset: number;
  readonly size: number;
  /** Physical address. */
  readonly addr: number;
  /** Bytes to zero after the file's bytes (ELF .bss). */
  readonly zero?: number;
  /** Digest of the whole file (or of the DTB). */
  readonly sha256: string;
}

/** What a partition will hold and run once applied: everything the steps need, fixed at plan time. */
export interface Target {
  readonly name: string;
  readonly state: 'running' | 'stopped';
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  readonly devices: readonly string[];
  /** Logical id of the core released at `entry`. */
  readonly bootCpu: number;
  readonly entry: number;
  readonly dtbAddr: number;
  /** The partition's DTB (base64 in a saved plan's JSON). */
  readonly dtb: Uint8Array;
  readonly dtbSize: number;
  readonly dtbSha256: string;
  readonly loads: readonly LoadItem[];
  /** A digest over everything loaded and where: equal digests mean an identical boot. */
  readonly bootDigest: string;
  readonly readiness: { readonly console?: string; readonly timeoutMs: number };
  readonly dependsOn: readonly string[];
  /** What the manifest said, recorded with the live partition so later plans can name changed fields. */
  readonly record: AppliedRecord;
}

/** The manifest fields vman remembers for each live partition (for field-level diffs and drift). */
export interface AppliedRecord {
  readonly cpus: number | readonly number[];
  readonly memory: { readonly size: number; readonly base?: number };
  readonly devices: readonly string[];
  readonly state: 'running' | 'stopped';
  readonly boot: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly dependsOn: readonly string[];
  readonly readiness: { readonly console?: string; readonly timeoutMs: number };
  /** `metadata.uid`, when the manifest gives one. */
  readonly uid?: string;
  /** `spec.restartPolicy` (absent in records written before vman had it: Never). */
  readonly restartPolicy?: RestartPolicy;
}

interface StepBase {
  /** `PARTITION/KIND`, unique within a plan. */
  readonly id: string;
  readonly partition: string;
  /** Ids of steps that must finish first. */
  readonly after: readonly string[];
}

/** A step, discriminated on `kind`. Bring-up steps name the target they build. */
export type Step =
  | (StepBase & {
      readonly kind: 'allocate';
      readonly cpus: readonly number[];
      readonly memory: MemRange;
      readonly devices: readonly string[];
    })
  | (StepBase & { readonly kind: 'build-fdt'; readonly dtbSha256: string; readonly size: number })
  | (StepBase & { readonly kind: 'load'; readonly items: readonly LoadItem[] })
  | (StepBase & {
      readonly kind: 'release-cores';
      readonly bootCpu: number;
      readonly entry: number;
      readonly dtbAddr: number;
    })
  | (StepBase & { readonly kind: 'wait-ready'; readonly console?: string; readonly timeoutMs: number })
  | (StepBase & { readonly kind: 'stop-cores' })
  | (StepBase & { readonly kind: 'scrub-memory'; readonly memory: MemRange })
  | (StepBase & { readonly kind: 'release-resources' });

/** A whole plan. `targets` holds the desired partitions that have bring-up steps. */
export interface Plan {
  readonly changes: readonly Change[];
  readonly steps: readonly Step[];
  readonly targets: Readonly<Record<string, Target>>;
}

/** Counts for the summary line. */
export function summarize(plan: Plan): Record<Action, number> {
  const n: Record<Action, number> = { create: 0, delete: 0, replace: 0, restart: 0, start: 0, stop: 0, noop: 0 };
  for (const c of plan.changes) n[c.action]++;
  return n;
}
