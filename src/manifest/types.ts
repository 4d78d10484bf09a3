// A partition as the manifests declare it, after schema checks and unit conversion.
import type { Position } from '../rules/diagnostic.js';

/** What a partition boots. Paths are absolute (resolved against the manifest's directory). */
export type BootSpec =
  | {
      readonly kind: 'kernel';
      readonly kernel: string;
      readonly initrd?: string;
      readonly bootargs?: string;
      readonly overlays: readonly string[];
      readonly sha256: Readonly<Partial<Record<'kernel' | 'initrd', string>>>;
    }
  | {
      readonly kind: 'image';
      readonly image: string;
      /** Byte offset in the partition's memory (raw images). */
      readonly load?: number;
      /** Byte offset in the partition's memory (raw images). */
      readonly entry?: number;
      readonly bootargs?: string;
      readonly overlays: readonly string[];
      readonly sha256: Readonly<Partial<Record<'image', string>>>;
    };

/** What `vman watch` does when a partition's OS ends by itself (SPEC "Partition"). */
export type RestartPolicy = 'Never' | 'OnFailure' | 'Always';

/** The restart policy of a manifest that names none. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = 'Never';

/** One desired partition. */
export interface PartitionSpec {
  readonly name: string;
  /** `metadata.uid`: the partition's UUID (lower-case RFC 4122 text), when the manifest gives one. */
  readonly uid?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: 'running' | 'stopped';
  readonly cpus: { readonly count: number } | { readonly ids: readonly number[] };
  readonly memory: { readonly size: number; readonly base?: number };
  readonly devices: readonly string[];
  readonly boot: BootSpec;
  readonly dependsOn: readonly string[];
  readonly readiness: { readonly console?: string; readonly timeoutMs: number };
  /**
   * `spec.restartPolicy`. The loader always sets it (DEFAULT_RESTART_POLICY when the manifest names none);
   * optional so that specs built elsewhere need not, and absent means the default.
   */
  readonly restartPolicy?: RestartPolicy;
  /** Where the document is, and where each of its fields is (keyed by dotted YAML path, e.g. "spec.memory.base"). */
  readonly source: ManifestSource;
}

/** Positions of a document and its fields, for diagnostics raised after loading. */
export interface ManifestSource {
  /** The manifest file as given to diagnostics (relative to the current directory, or absolute). */
  readonly file: string;
  /** Absolute path of the manifest file. */
  readonly absFile: string;
  /** Index of the document within its file. */
  readonly doc: number;
  readonly position: Position;
  readonly fields: Readonly<Record<string, Position>>;
}

/** Default readiness timeout when a manifest gives none. */
export const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** The YAML position of a field of a partition, falling back to the closest enclosing field, then the document. */
export function fieldPosition(spec: PartitionSpec, path: string): Position {
  let p = path;
  for (;;) {
    const hit = spec.source.fields[p];
    if (hit) return hit;
    const dot = p.lastIndexOf('.');
    if (dot < 0) return spec.source.position;
    p = p.slice(0, dot);
  }
}
