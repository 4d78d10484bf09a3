// vman as a library: the pipeline's parts for CI pipelines and other tools.
export type { Board, Arch, MemRange } from './board/model.js';
export { builtinBoards, getBuiltinBoard, DEFAULT_BOARD } from './board/builtin/index.js';
export type { Diagnostic, Position } from './rules/diagnostic.js';
export { CODES } from './rules/codes.js';
export type { PartitionSpec } from './manifest/types.js';
export { loadManifests } from './manifest/load.js';
export { allocate } from './alloc/allocate.js';
export type { Allocation, AllocRequest, AllocResult } from './alloc/types.js';
export { makePlan } from './plan/plan.js';
export type { Plan, Change, Step, Action, StepKind } from './plan/types.js';
export * from './engine/index.js';
