// vman/fdt: the flattened device tree library — an exact DTB codec, a DTS printer, overlays
// and typed helpers. Pure: no I/O.
export type { Fdt, FdtLayout, FdtNode, FdtProperty, FdtReservation } from './types.js';
export { FdtError, type FdtErrorCode, type FdtErrorDetails } from './errors.js';
export { decodeFdt } from './decode.js';
export { encodeFdt } from './encode.js';
export { toDts } from './dts.js';
export { applyOverlay } from './overlay.js';
export {
  bytes,
  cells,
  cellSizes,
  decodeReg,
  empty,
  encodeReg,
  getCells,
  getProp,
  getReg,
  getString,
  getStrings,
  getU32,
  getU64,
  phandleRef,
  reg,
  str,
  strs,
  u32,
  u64,
  DEFAULT_ADDRESS_CELLS,
  DEFAULT_SIZE_CELLS,
  type CellSizes,
  type RegEntry,
} from './props.js';
export {
  addChild,
  allocatePhandle,
  cloneFdt,
  cloneNode,
  createFdt,
  deleteChild,
  deleteProp,
  findByLabel,
  findByPhandle,
  findNode,
  forEachNode,
  getChild,
  getPhandle,
  maxPhandle,
  node,
  pathOfNode,
  setProp,
} from './tree.js';
