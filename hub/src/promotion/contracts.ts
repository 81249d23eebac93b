// The parts of promotion the service drives, under one roof: pipelines of fleet.yaml, the edits,
// the gates, the records and the lock, and the fleet repository's reader and writer.
import type { FleetSpec, PipelineSpec } from "../delivery/index.js";
import type { AppliedEdits, Edit, PromotedValue } from "./edits/index.js";

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

/** The fleet repository's branch head. */
export interface RepositoryHead {
  commit: string;
  files: ReadonlyMap<string, Uint8Array>;
  fleet: FleetSpec;
}

/** One commit to write. */
export interface CommitRequest {
  message: string;
  author: { name: string; email: string };
  change(head: { commit: string; files: ReadonlyMap<string, Uint8Array> }): ReadonlyMap<string, string | null> | Promise<ReadonlyMap<string, string | null>>;
}

/** The written commit. */
export interface CommitResult {
  commit: string;
  parent: string;
  attempts: number;
}

/** Reads and writes the fleet repository's branch. */
export interface FleetRepository {
  head(): Promise<RepositoryHead>;
  commit(request: CommitRequest): Promise<CommitResult>;
}
