// The promotion record as stored (JSON) in the gitfleet_promotions bucket, and the rules of its
// state machine. A record is written before the commit (pending) and moved forward with
// compare-and-set updates by whichever replica observes the next step.
import type { Edit, PromotedValue } from "./edits/index.js";
import type { GateEvaluation } from "./gates.js";

/** Where a promotion is: `pending → committed → rolling-out → verified | failed | rolled-back`. */
export type PromotionState = "pending" | "committed" | "rolling-out" | "verified" | "failed" | "rolled-back";

/** Every state, in the order a promotion normally moves through them. */
export const promotionStates: readonly PromotionState[] = ["pending", "committed", "rolling-out", "verified", "failed", "rolled-back"];

/** One step of a record's life. */
export interface PromotionTransition {
  state: PromotionState;
  /** ISO time. */
  at: string;
  message?: string;
}

/** How verification of a promotion into its target stage went. */
export interface PromotionVerification {
  /** ISO time after which an unverified promotion fails. */
  deadline: string;
  verifiedAt?: string;
  message?: string;
  clusters?: { name: string; state: string; message?: string }[];
}

/** A promotion (or rollback) of one pipeline from one stage into the next. */
export interface PromotionRecord {
  /** `p-` + time in base 36 + random hex: sortable by creation time, KV key safe. */
  id: string;
  kind: "promotion" | "rollback";
  pipeline: string;
  bundle: string;
  /** The stage and the commit the promoted values were read at. */
  from: { stage: string; commit: string };
  to: { stage: string };
  /** The API token's name, or "gitfleet" for automatic promotions. */
  author: string;
  automatic: boolean;
  state: PromotionState;
  /** ISO times. */
  createdAt: string;
  updatedAt: string;
  /** What the target stage gets. */
  values: PromotedValue[];
  edits: Edit[];
  diff: { file: string; diff: string }[];
  /** The gate evidence at decision time. */
  gates: GateEvaluation;
  /** The commit written, and its parent. */
  commit?: string;
  parent?: string;
  /** For a rollback: the promotion it reverts. */
  rollbackOf?: string;
  /** For a promotion: the rollback that reverted it. */
  rolledBackBy?: string;
  verification?: PromotionVerification;
  /** Why it failed, or a refusal's detail. */
  message?: string;
  /** Every state it went through, oldest first; the first is its creation. */
  transitions: PromotionTransition[];
}

/**
 * What {@link PromotionStore.create} takes: a record whose id, times and transitions the store
 * fills in when absent.
 */
export type NewPromotionRecord = Omit<PromotionRecord, "id" | "createdAt" | "updatedAt" | "transitions"> &
  Partial<Pick<PromotionRecord, "id" | "createdAt" | "updatedAt" | "transitions">>;

const nextStates: Readonly<Record<PromotionState, readonly PromotionState[]>> = {
  pending: ["committed", "failed"],
  committed: ["rolling-out", "verified", "failed", "rolled-back"],
  "rolling-out": ["verified", "failed", "rolled-back"],
  verified: ["rolled-back"],
  failed: ["rolled-back"],
  "rolled-back": [],
};

/** True when a record in state `from` may move to `to` (staying in a state is always allowed). */
export function canTransition(from: PromotionState, to: PromotionState): boolean {
  return from === to || nextStates[from].includes(to);
}

/** True for the states a promotion never leaves on its own (only a rollback moves them on). */
export function isFinalState(state: PromotionState): boolean {
  return state === "verified" || state === "failed" || state === "rolled-back";
}
