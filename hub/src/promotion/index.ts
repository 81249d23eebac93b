// Promotion (docs/promotion.md): moving a pipeline's values from stage to stage through Git
// commits, gated on what the fleet runs, verified, rolled back by hand or automatically.
export { AUTOMATIC_AUTHOR, commitAuthor, commitMessage, describeValue, describeValues } from "./commit-message.js";
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
export type { DryRun, PromoteRequest, PromotionFilter, RollbackRequest } from "./requests.js";
export { createPromotionService } from "./service.js";
export type { PromotionService, PromotionServiceOptions } from "./service.js";
export { startAutoPromoter } from "./auto-promoter.js";
export type { AutoPromoterOptions } from "./auto-promoter.js";
export { startVerifier } from "./verifier.js";
export type { VerifierOptions } from "./verifier.js";
