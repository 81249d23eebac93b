// Promotion (docs/promotion.md): moving a pipeline's values from stage to stage through Git
// commits, gated on what the fleet runs, verified, rolled back by hand or automatically.
export { AUTOMATIC_AUTHOR, commitAuthor, commitMessage, describeValue, describeValues } from "./commit-message.js";
export { evaluateGates, shortCommit, stageGates } from "./gates.js";
export type { GateInput, GateName, GateResult, StageClusterState, StageClusterView, UnhealthyResource } from "./gates.js";
export { createStageStates, unhealthyResources } from "./stage-state.js";
export type { CommitAncestry, SinceSource, StageStatesOptions, Verification } from "./stage-state.js";
export { canTransition, isFinalState, promotionStates } from "./record.js";
export type { NewPromotionRecord, PromotionTransition, PromotionVerification } from "./record.js";
export { createPromotionStore, isPromotionId, newPromotionId, openPromotionsBucket } from "./records.js";
export type { PromotionFilter, PromotionStoreOptions } from "./records.js";
export { createStageLock, openLocksBucket } from "./stage-lock.js";
export { createGitWriter } from "./git-writer.js";
export type { GitWriter, GitWriterOptions } from "./git-writer.js";
export type { StageLockOptions, StageLockValue, WithLockOptions } from "./stage-lock.js";
export type {
  AppliedEdits,
  CommitRequest,
  CommitResult,
  Edit,
  EditEngine,
  FleetRepository,
  GateEvaluation,
  PipelineSpec,
  PipelineStageSpec,
  PromotedValue,
  PromotionRecord,
  PromotionState,
  PromotionStore,
  RepositoryHead,
  StageLock,
  StageStates,
} from "./contracts.js";
export { createHeadCache } from "./head-cache.js";
export type { HeadCache } from "./head-cache.js";
export { createPipelineHolds } from "./holds.js";
export type { HoldsKv, PipelineHold, PipelineHolds, PipelineHoldsOptions } from "./holds.js";
export type { BackgroundLoop } from "./loop.js";
export { createPipelineViews } from "./pipeline-view.js";
export type { PipelineSummary, PipelineView, PipelineViews, PipelineViewsOptions, StageView } from "./pipeline-view.js";
export type { PromotionEvent } from "./record-writer.js";
export type { DryRun, PromoteRequest, RollbackRequest } from "./requests.js";
export { createPromotionService, promotionEditEngine } from "./service.js";
export type { PromotionService, PromotionServiceOptions } from "./service.js";
export { startAutoPromoter } from "./auto-promoter.js";
export type { AutoPromoterOptions } from "./auto-promoter.js";
export { startVerifier } from "./verifier.js";
export type { VerifierOptions } from "./verifier.js";
