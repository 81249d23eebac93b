// The pipeline types of fleet.yaml that gates read, as the promotion contract fixes them, until
// the fleet file's own pipelines module exports them.
import type { ClusterSelector } from "../delivery/index.js";

/** What moves from a stage to the next. */
export interface PromotableSpec {
  readonly images: readonly string[];
  readonly fields: readonly { readonly file: string; readonly path: string }[];
  readonly files: readonly string[];
}

/** The gates a stage must pass before a promotion out of it starts. */
export interface GateSpec {
  /** Every cluster healthy at the applied revision; default true. */
  readonly healthy: boolean;
  /** No drifted object; default false. */
  readonly noDrift: boolean;
  /** How long every cluster must have run the desired state; default 0. */
  readonly soakMs: number;
  /** Fewest clusters the stage must have; default 1. */
  readonly minClusters: number;
}

/** One stage of a pipeline. */
export interface PipelineStageSpec {
  readonly name: string;
  readonly target: string;
  /** The repository-relative folder of the target. */
  readonly overlay: string;
  readonly clusterSelector: ClusterSelector;
  readonly promote: PromotableSpec;
  readonly gates: GateSpec;
  readonly auto: boolean;
  readonly rollback: "manual" | "auto";
  readonly verifyTimeoutMs: number;
  readonly line: number;
}

/** A pipeline of fleet.yaml: a bundle's stages in order. */
export interface PipelineSpec {
  readonly name: string;
  readonly bundle: string;
  readonly stages: readonly PipelineStageSpec[];
  readonly line: number;
}
