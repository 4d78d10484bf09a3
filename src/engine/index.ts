// The engine as a library: one path from manifests and live state to a plan and its application,
// for the CLI and every other front end (watch, libvirt, the fleet agent, a CI pipeline's script).
export { Engine, applied } from './engine.js';
export type {
  ApplyRequest,
  EngineOptions,
  Inventory,
  PlanReview,
  Removal,
  Review,
  TreeChange,
  Validation,
  WriteOptions,
  WriteOutcome,
} from './engine.js';
export type { EngineEvent, Reporter } from './events.js';
export type { Workspace, WorkspaceOptions } from './workspace.js';
export { DEFAULT_LOCK_TIMEOUT_MS } from './workspace.js';
export type { Fingerprint, PlanRequest, Planned } from './planning.js';
export { hasChanges } from './planning.js';
export type { SavedPlan } from './saved-plan.js';
export { readSavedPlan, planOf } from './saved-plan.js';
export type { PartitionStatus, StatusReport } from './status.js';
export type { WriterActivity } from './activity.js';
export type { DependencyWarning } from './dependants.js';
export type { Holder, MemoryStretch, Occupancy } from './occupancy.js';
export { reconcileOnce, outcomeOf } from './reconcile.js';
export type { ReconcileOptions, ReconcileOutcome, RestartHooks, Summary } from './reconcile.js';
export {
  DEFAULT_RESTART_TIMING,
  RestartTracker,
  restartDelay,
  restartsAfter,
  type RestartBook,
  type RestartNotice,
  type RestartStatus,
  type RestartTiming,
} from './restarts.js';
export { readRestartBook, writeRestartBook, RESTART_BOOK_FILE } from './restart-book.js';
export type { Declaration } from './manifests.js';
export type { ConsoleSession } from '../backends/types.js';
