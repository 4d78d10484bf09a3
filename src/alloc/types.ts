// What the allocator is asked for and what it gives back. Pure data.
import type { MemRange } from '../board/model.js';

/** One partition's needs, as the manifest states them, plus what its boot protocol requires. */
export interface AllocRequest {
  readonly name: string;
  /** A number of cores (any free ones), or exactly these logical core ids. */
  readonly cpus: { readonly count: number } | { readonly ids: readonly number[] };
  readonly memory: {
    readonly size: number;
    /** Exact base address, when the manifest gives one. */
    readonly base?: number;
    /** Alignment the base needs (the boot protocol's: 2 MiB for arm64 kernels, say); a power of two, at least 4 KiB. */
    readonly align: number;
    /** The window must contain this range (an ELF image's segments); only when `base` is absent. */
    readonly cover?: MemRange;
  };
  /** Device names, given to this partition alone. */
  readonly devices: readonly string[];
}

/** What one partition holds. */
export interface Allocation {
  readonly name: string;
  /** Logical core ids, ascending. */
  readonly cpus: readonly number[];
  readonly memory: MemRange;
  /** Device names, in the order the manifest gave them. */
  readonly devices: readonly string[];
}

/** Why a request could not be placed. */
export interface AllocFailure {
  readonly name: string;
  readonly resource: 'cpus' | 'memory' | 'devices';
  /** A sentence that explains itself, e.g. "cannot place `linux0`: needs 512 MiB contiguous; largest free block is 384 MiB at 0x58000000". */
  readonly message: string;
}

export interface AllocResult {
  readonly allocations: readonly Allocation[];
  readonly failures: readonly AllocFailure[];
}
