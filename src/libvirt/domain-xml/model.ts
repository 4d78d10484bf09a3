// What both directions of the domain XML mapping share: the namespace, the problem shape, the
// restart-policy table and the fields a manifest is written from.
import type { Arch } from '../../board/model.js';
import type { RestartPolicy } from '../../manifest/types.js';

/** vman's namespace under <metadata>. */
export const VMAN_XMLNS = 'https://vman.dev/xmlns/libvirt/1';
/** The prefix vman writes for it (a document may use any prefix bound to VMAN_XMLNS). */
export const VMAN_PREFIX = 'vman';
/** The one domain type `define` accepts and `dumpxml` writes. */
export const DOMAIN_TYPE = 'vman';

/**
 * How a problem maps to libvirt: `xml` → VIR_ERR_XML_ERROR (not well-formed, or not a domain),
 * `unsupported` → VIR_ERR_CONFIG_UNSUPPORTED (libvirt defines it; vman cannot honour it),
 * `invalid` → VIR_ERR_INVALID_ARG (a value that is wrong: a bad name, uuid, size, path, device).
 */
export type DomainXmlCode = 'xml' | 'unsupported' | 'invalid';

/** One thing wrong with a domain XML document. */
export interface DomainXmlProblem {
  readonly code: DomainXmlCode;
  /** Where: an XPath such as `/domain/devices/disk` or `/domain/os/type/@arch` (vman's elements as `vman:…`). */
  readonly element: string;
  /** What is wrong and what to change, in one sentence or two. */
  readonly message: string;
  /** vman's diagnostic code (VMAN-E…) when the manifest check raised it. */
  readonly diagnostic?: string;
}

/** libvirt's `<type arch>` for each board architecture. */
export const LIBVIRT_ARCH: Readonly<Record<Arch, string>> = {
  aarch64: 'aarch64',
  armv7: 'armv7l',
  riscv64: 'riscv64',
};

/** What a domain does when its OS powers off, reboots or crashes (libvirt's on_* values vman honours). */
export interface LifecycleActions {
  readonly on_poweroff: 'destroy' | 'restart';
  readonly on_reboot: 'destroy' | 'restart';
  readonly on_crash: 'destroy' | 'restart';
}

/**
 * restartPolicy ↔ on_poweroff, on_reboot, on_crash. A partition cannot be reset in place: its OS resetting
 * the machine ends it, and the monitor cannot tell a reboot from a kernel panic's reset (`panic=N`), so a
 * reboot ends it as a crash does (`crashed`) and on_reboot always equals on_crash. `restart` means
 * `vman watch` starts the partition again (with backoff); `destroy` means it stays ended.
 */
export const LIFECYCLE: Readonly<Record<RestartPolicy, LifecycleActions>> = {
  Never: { on_poweroff: 'destroy', on_reboot: 'destroy', on_crash: 'destroy' },
  OnFailure: { on_poweroff: 'destroy', on_reboot: 'restart', on_crash: 'restart' },
  Always: { on_poweroff: 'restart', on_reboot: 'restart', on_crash: 'restart' },
};

/** A manifest's content as the domain gives it, before it is written as YAML. Paths are absolute. */
export interface ManifestFields {
  readonly name: string;
  /** Absent when the domain's UUID is the one derived from the name (nameUuid). */
  readonly uid?: string;
  readonly labels: readonly (readonly [string, string])[];
  readonly state: 'running' | 'stopped';
  readonly cpus: number | readonly number[];
  readonly memory: { readonly size: number; readonly base?: number };
  readonly devices: readonly string[];
  readonly boot: BootFields;
  readonly dependsOn: readonly string[];
  readonly readiness: { readonly console?: string; readonly timeoutMs?: number };
  readonly restartPolicy: RestartPolicy;
}

export interface BootFields {
  readonly kind: 'kernel' | 'image';
  /** The kernel, or the bare-metal image. */
  readonly file: string;
  readonly initrd?: string;
  readonly load?: number;
  readonly entry?: number;
  readonly bootargs?: string;
  readonly overlays: readonly string[];
  readonly sha256: Readonly<Partial<Record<'kernel' | 'initrd' | 'image', string>>>;
}
