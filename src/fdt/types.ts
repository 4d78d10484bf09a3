// The flattened device tree as data: nodes, properties and reservations, plus an optional
// record of where a decoded blob kept each part, so that re-encoding it is byte-exact.

/** A property: its name and its raw value (big-endian cells, NUL-terminated strings, …). */
export interface FdtProperty {
  name: string;
  value: Uint8Array;
}

/** A node. `name` includes the unit address (`cpu@2`); the root's name is `''`. */
export interface FdtNode {
  name: string;
  props: FdtProperty[];
  children: FdtNode[];
}

/** A memory reservation block entry (Devicetree Specification v0.4, 5.3). */
export interface FdtReservation {
  address: bigint;
  size: bigint;
}

/** A device tree: the root node, the memory reservations and the boot CPU's physical id. */
export interface Fdt {
  root: FdtNode;
  reservations: FdtReservation[];
  bootCpuidPhys: number;
  /** Filled by decodeFdt; lets encodeFdt reproduce the blob exactly. Absent: canonical layout. */
  layout?: FdtLayout;
}

/**
 * Where a decoded blob kept each part. encodeFdt writes over the original bytes as long as
 * the tree still fits them (same structure size, no new property names, same number of
 * reservations): an unchanged tree comes back byte for byte. Otherwise it lays the blocks out
 * canonically, keeping the version, the strings block (new names appended) and the total size
 * when the content fits in it; bytes past `totalsize` are then dropped. Treat it as opaque
 * and immutable; copies of a tree may share it.
 */
export interface FdtLayout {
  /** Header `version` (16 or 17) and `last_comp_version`. */
  readonly version: number;
  readonly lastCompVersion: number;
  /** Header `totalsize`; the blob given may be longer (see `original`). */
  readonly totalSize: number;
  readonly memRsvOffset: number;
  readonly structOffset: number;
  /** Bytes from the structure block's start through its FDT_END token. */
  readonly structSize: number;
  readonly stringsOffset: number;
  readonly stringsSize: number;
  /** Reservation entries before the terminating entry. */
  readonly reservationCount: number;
  /** The string-block offset each property's name had, in document order. */
  readonly nameOffsets: Uint32Array;
  /** For each FDT_NOP, the index of the token it preceded (tokens counted in document order). */
  readonly nops: Uint32Array;
  /** Non-zero alignment padding after a node name or property value, by token index. */
  readonly pads: readonly { readonly token: number; readonly bytes: Uint8Array }[];
  /** A copy of every byte decoded: gaps, free space and bytes past `totalsize` come from here. */
  readonly original: Uint8Array;
}
