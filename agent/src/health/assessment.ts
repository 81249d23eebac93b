// What a health rule returns, and the readers the rules share: conditions, counts and fields of
// a live object's status, all tolerant of missing or mistyped values (a live object is untrusted).
import { HealthState } from "@gitfleet/proto";
import { asRecord, asString } from "../kube-objects.js";
import type { KubeObject } from "../kube-objects.js";

/** The health of one live object and, when not healthy, why. */
export interface HealthAssessment {
  health: HealthState;
  message: string;
}

/** HEALTHY, with an optional note (e.g. "job suspended" is not a problem). */
export function healthy(message = ""): HealthAssessment {
  return { health: HealthState.HEALTHY, message };
}

/** PROGRESSING: the object is on its way, `message` says to what. */
export function progressing(message: string): HealthAssessment {
  return { health: HealthState.PROGRESSING, message };
}

/** DEGRADED: the object failed or is stuck, `message` says how. */
export function degraded(message: string): HealthAssessment {
  return { health: HealthState.DEGRADED, message };
}

/** One entry of `status.conditions`, with the fields the rules read. */
export interface ConditionView {
  type: string;
  /** "True", "False", "Unknown", or "" when missing. */
  status: string;
  reason: string;
  message: string;
  /** The condition's own observedGeneration, when it carries one (metav1.Condition). */
  observedGeneration: number | undefined;
}

/** The status and spec of a live object, read once for the rules. */
export interface ObjectView {
  object: KubeObject;
  spec: Record<string, unknown> | undefined;
  status: Record<string, unknown> | undefined;
  /** `metadata.generation`, when set. */
  generation: number | undefined;
  /** `status.observedGeneration`, when set. */
  observedGeneration: number | undefined;
}

/** Reads the parts of `object` the rules share. */
export function viewOf(object: KubeObject): ObjectView {
  const status = asRecord(object["status"]);
  return {
    object,
    spec: asRecord(object["spec"]),
    status,
    generation: int(object.metadata["generation"]),
    observedGeneration: int(status?.["observedGeneration"]),
  };
}

/** The condition of `type` in `status.conditions`, if present. */
export function condition(status: Record<string, unknown> | undefined, type: string): ConditionView | undefined {
  const conditions = status?.["conditions"];
  if (!Array.isArray(conditions)) return undefined;
  for (const item of conditions) {
    const c = asRecord(item);
    if (c?.["type"] !== type) continue;
    return {
      type,
      status: asString(c["status"]),
      reason: asString(c["reason"]),
      message: asString(c["message"]),
      observedGeneration: int(c["observedGeneration"]),
    };
  }
  return undefined;
}

/** The value when it is a finite number; counts in status are omitted when zero. */
export function int(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A nested record, following `path` through records only. */
export function recordAt(root: Record<string, unknown> | undefined, ...path: string[]): Record<string, unknown> | undefined {
  let current = root;
  for (const key of path) current = asRecord(current?.[key]);
  return current;
}

/** "reason: message", "reason" or "message", whichever parts a condition has; `fallback` when none. */
export function explain(c: Pick<ConditionView, "reason" | "message"> | undefined, fallback: string): string {
  if (c === undefined || (c.reason === "" && c.message === "")) return fallback;
  if (c.reason === "" || c.message === "") return c.reason || c.message;
  return `${c.reason}: ${c.message}`;
}
