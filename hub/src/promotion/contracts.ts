// The parts of promotion built beside the service (pipelines in fleet.yaml and the edits, the
// repository writer, the records and the lock, the gates), as the service sees them.
import type { ClusterSelector, FleetSpec } from "../delivery/index.js";

/** A pipeline of fleet.yaml: a bundle's stages in promotion order. */
export interface PipelineSpec {
  name: string;
  bundle: string;
  stages: readonly PipelineStageSpec[];
  line: number;
}

/** One stage of a pipeline. */
export interface PipelineStageSpec {
  name: string;
  target: string;
  /** The repository-relative folder of the target. */
  overlay: string;
  clusterSelector: ClusterSelector;
  promote: PromotableSpec;
  gates: GateSpec;
  auto: boolean;
  rollback: "manual" | "auto";
  verifyTimeoutMs: number;
  line: number;
}

/** What moves from a stage to the next. */
export interface PromotableSpec {
  images: readonly string[];
  fields: readonly { file: string; path: string }[];
  files: readonly string[];
}

/** The gates before a promotion out of a stage. */
export interface GateSpec {
  healthy: boolean;
  noDrift: boolean;
  soakMs: number;
  minClusters: number;
}

/** A YAML scalar; `undefined` is an absent key. */
export type EditValue = string | number | boolean | null;

/** One promoted value, for display. */
export interface PromotedValue {
  kind: "image" | "field" | "file";
  file: string;
  key: string;
  value: string | undefined;
}

/** A map key, a list index, or the list item whose `match` key equals `equals`. */
export type PathSegment = string | number | { match: string; equals: string };

/** One structured edit, JSON-serialisable. */
export type Edit =
  | { kind: "value"; file: string; path: readonly PathSegment[]; display: string; before: EditValue | undefined; after: EditValue | undefined }
  | { kind: "file"; file: string; before: string | undefined; after: string | undefined };

/** An edit whose current value is neither its `before` nor its `after`. */
export interface EditConflict {
  file: string;
  display: string;
  expected: EditValue | string | undefined;
  found: EditValue | string | undefined;
  message: string;
}

/** The outcome of applying edits to files. */
export interface AppliedEdits {
  changed: ReadonlyMap<string, string | null>;
  conflicts: readonly EditConflict[];
  alreadyApplied: boolean;
}

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
  fleet: FleetSpec & { pipelines: readonly PipelineSpec[] };
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

/** Gate names. */
export type GateName = "synced" | "healthy" | "no-drift" | "soak" | "min-clusters";

/** One gate's outcome. */
export interface GateResult {
  gate: GateName;
  passed: boolean;
  message: string;
  clusters: string[];
}

/** One cluster of a stage as the gates saw it. */
export interface StageClusterView {
  name: string;
  synced: boolean;
  healthy: boolean;
  drifted: number;
  stale: boolean;
  revision?: string;
  since?: string;
}

/** A stage's gates, evaluated. */
export interface GateEvaluation {
  stage: string;
  commit: string;
  passed: boolean;
  gates: GateResult[];
  clusters: StageClusterView[];
  evaluatedAt: string;
}

/** Reads a stage's clusters from the live stores and evaluates its gates. */
export interface StageStates {
  evaluate(pipeline: PipelineSpec, stage: string): GateEvaluation;
  verifyAt(pipeline: PipelineSpec, stage: string, commit: string): { done: boolean; failed?: string; evaluation: GateEvaluation };
}

/** States of a promotion record. */
export type PromotionState = "pending" | "committed" | "rolling-out" | "verified" | "failed" | "rolled-back";

/** A promotion (or rollback) as recorded in JetStream. */
export interface PromotionRecord {
  id: string;
  kind: "promotion" | "rollback";
  pipeline: string;
  bundle: string;
  from: { stage: string; commit: string };
  to: { stage: string };
  author: string;
  automatic: boolean;
  state: PromotionState;
  createdAt: string;
  updatedAt: string;
  values: PromotedValue[];
  edits: Edit[];
  diff: { file: string; diff: string }[];
  gates: GateEvaluation;
  commit?: string;
  parent?: string;
  rollbackOf?: string;
  rolledBackBy?: string;
  verification?: { deadline: string; verifiedAt?: string; message?: string; clusters?: { name: string; state: string; message?: string }[] };
  message?: string;
  transitions: { state: PromotionState; at: string; message?: string }[];
}

/** The promotion records. */
export interface PromotionStore {
  create(record: PromotionRecord): Promise<unknown>;
  /** HubError "not-found" when there is no such record. */
  get(id: string): Promise<PromotionRecord>;
  /** Newest first; at most `limit` (default 100). */
  list(filter?: { pipeline?: string; state?: PromotionState; limit?: number }): Promise<PromotionRecord[]>;
  update(id: string, mutate: (record: PromotionRecord) => PromotionRecord | undefined): Promise<unknown>;
}

/** Serialises promotions into one stage across hub replicas. */
export interface StageLock {
  withLock<T>(key: string, fn: () => Promise<T>, options?: { waitMs?: number }): Promise<T>;
}
