import { HealthState, SyncState } from "@gitfleet/proto";
import { messageOf } from "@gitfleet/proto/rules";
import { KubeApiError } from "./errors.js";
import { formatRef } from "./kube-objects.js";
import type { KubeObject, ObjectRef } from "./kube-objects.js";

/** The outcome for one object of a bundle in one reconcile pass. */
export interface ResourceResult {
  ref: ObjectRef;
  sync: SyncState;
  health: HealthState;
  /** Why the object is not synced or not healthy; "" when it is both. */
  message: string;
  /** Set when the pass applied the object: what it sent and what the API server answered. */
  applied?: { object: KubeObject; live: KubeObject };
}

/** The outcome of one bundle in one reconcile pass. */
export interface BundleResult {
  name: string;
  /** Digest the hub published for the bundle. */
  desiredDigest: string;
  /** Digest of the payload last applied completely; "" when none was. */
  appliedDigest: string;
  /** Commit of the applied payload (the desired one when nothing was ever applied). */
  revision: string;
  sync: SyncState;
  health: HealthState;
  /** Summary for people: the first error, or "" when synced. */
  message: string;
  resources: ResourceResult[];
  /** When `appliedDigest` was first applied completely (ISO 8601); "" when never. */
  appliedAt: string;
  /** True when every object was applied and every prune done in this pass. */
  complete: boolean;
}

/** "ConfigMap web/settings: <what the API server said>", naming the object the bundle names. */
export function describeFailure(ref: ObjectRef, error: unknown): string {
  const detail = error instanceof KubeApiError ? error.detail : messageOf(error);
  return `${formatRef(ref)}: ${detail}`;
}

/** A failed resource result. */
export function failedResource(ref: ObjectRef, message: string): ResourceResult {
  return { ref, sync: SyncState.FAILED, health: HealthState.UNKNOWN, message };
}

/** Summarizes several errors in one line: the first, and how many more there are. */
export function summarize(prefix: string, messages: readonly string[]): string {
  if (messages.length === 0) return prefix;
  const more = messages.length > 1 ? ` (and ${messages.length - 1} more)` : "";
  return `${prefix}: ${messages[0]}${more}`;
}
