// What callers ask of the promotion service and what a dry run answers.
import type { Edit, GateEvaluation, PromotedValue } from "./contracts.js";
import type { FileDiff } from "./snapshot-files.js";

/** A request to promote. */
export interface PromoteRequest {
  pipeline: string;
  from: string;
  to: string;
  dryRun?: boolean | undefined;
  /** The caller's token name; "gitfleet" for automatic promotions. */
  author: string;
  automatic?: boolean | undefined;
}

/** A dry run's answer: what a promotion or rollback would do; nothing was written. */
export interface DryRun {
  dryRun: true;
  gates: GateEvaluation;
  values: PromotedValue[];
  edits: Edit[];
  diff: FileDiff[];
}

/** A request to roll a promotion back. */
export interface RollbackRequest {
  id: string;
  dryRun?: boolean | undefined;
  author: string;
  automatic?: boolean | undefined;
}

/** The lock key of promotions into a stage. */
export function stageLockKey(pipeline: string, stage: string): string {
  return `${pipeline}.${stage}`;
}

