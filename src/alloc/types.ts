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
  /**
   * A sentence that explains itself, e.g. "cannot place `linux0`: needs
   * 512 MiB contiguous; largest free block is 384 MiB at 0x58000000".
   */
  readonly message: string;
}

/** How the planner may treat existing allocations beyond what the requests say. */
export interface AllocOptions {
  /**
   * Existing allocations with no request that stay held (partitions outside a `--target`, say).
   * Without this, an existing allocation with no request is released (its partition is being deleted).
   * A name that also has a request is governed by its request.
   */
  readonly keep?: readonly string[];
  /** Requests placed anew even when their existing allocation still satisfies them (`--replace NAME`). */
  readonly replace?: readonly string[];
}

/** How a request's allocation came about: what the planner needs to order teardown before bring-up. */
export interface Placement {
  readonly name: string;
  /**
   * `kept`: the existing allocation satisfies the request and stays exactly where it is.
   * `new`: there was no existing allocation (a create).
   * `moved`: the existing allocation was released and this one placed anew (a replace); see `reason`.
   */
  readonly kind: 'kept' | 'new' | 'moved';
  /** For `moved`: why the existing allocation could not stay, e.g. "memory size changed from 256 MiB to 512 MiB". */
  readonly reason?: string;
  /**
   * Released partitions (see AllocResult.released) that held a core, a byte of memory or a device this
   * allocation now uses, sorted by name: their teardown must finish before this partition is brought up.
   * A `moved` partition may name itself. Always empty for `kept`.
   */
  readonly handover: readonly string[];
}

export interface AllocResult {
  /** One per request that could be placed, sorted by name. */
  readonly allocations: readonly Allocation[];
  /** Per request that could not be placed: every problem found, sorted by name (stable within a name). */
  readonly failures: readonly AllocFailure[];
  /** Parallel to `allocations`: how each came about. */
  readonly placements: readonly Placement[];
  /**
   * Existing allocations whose resources are released, sorted: those with no request (not in
   * `keep`), and those of requests that were moved or failed.
   */
  readonly released: readonly string[];
}
