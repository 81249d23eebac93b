// The parts of promotion the service drives, under one roof: pipelines of fleet.yaml, the edits,
// the gates, the records and the lock, and the fleet repository's reader and writer.
import type { FleetRepository } from "../delivery-contract.js";
import type { PipelineSpec } from "../delivery/index.js";
import type { AppliedEdits, Edit, PromotedValue } from "./edits/index.js";

export type { CommitRequest, CommitResult, FleetHead, FleetRepository } from "../delivery-contract.js";
export type { GateSpec, PathSegment, PipelineSpec, PipelineStageSpec, PromotableSpec } from "../delivery/index.js";
export type { AppliedEdits, Edit, EditConflict, EditValue, PromotedValue } from "./edits/index.js";
export type { GateEvaluation, GateName, GateResult, StageClusterView } from "./gates.js";
export type { PromotionRecord, PromotionState } from "./record.js";
export type { PromotionStore } from "./records.js";
export type { StageLock } from "./stage-lock.js";
export type { StageStates } from "./stage-state.js";

/** The pure edit functions the service uses. */
export interface EditEngine {
  stageValues(input: { pipeline: PipelineSpec; stage: string; files: ReadonlyMap<string, Uint8Array> }): PromotedValue[];
  promotionEdits(input: { pipeline: PipelineSpec; from: string; to: string; files: ReadonlyMap<string, Uint8Array> }): Edit[];
  applyEdits(files: ReadonlyMap<string, Uint8Array>, edits: readonly Edit[], direction?: "forward" | "reverse"): AppliedEdits;
  unifiedDiff(file: string, before: string | undefined, after: string | undefined): string;
}

/** The fleet repository's branch head, as {@link FleetRepository.head} reads it. */
export type RepositoryHead = Awaited<ReturnType<FleetRepository["head"]>>;
