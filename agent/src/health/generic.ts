// Rules that hold for every kind, after kstatus (sigs.k8s.io/cli-utils/pkg/kstatus): an object
// being deleted, a spec generation its controller has not observed yet, and the standard
// conditions Stalled, Reconciling and Ready that custom resources publish.
import { condition, degraded, explain, healthy, progressing } from "./assessment.js";
import type { HealthAssessment, ObjectView } from "./assessment.js";

/** PROGRESSING while the object carries a deletion timestamp (finalizers still at work). */
export function deletionRule(view: ObjectView): HealthAssessment | undefined {
  const deleting = view.object.metadata["deletionTimestamp"];
  return typeof deleting === "string" && deleting !== "" ? progressing(`being deleted since ${deleting}`) : undefined;
}

/**
 * PROGRESSING while `status.observedGeneration` lags `metadata.generation`: whatever else the
 * status says describes an older spec. With `required`, a missing observedGeneration counts as
 * not observed (kinds whose controller always sets it, so its absence means "not seen yet").
 */
export function generationRule(view: ObjectView, required = false): HealthAssessment | undefined {
  const { generation, observedGeneration } = view;
  if (generation === undefined) return undefined;
  if (observedGeneration === undefined) {
    return required ? progressing(`waiting for the controller to observe generation ${generation}`) : undefined;
  }
  if (observedGeneration >= generation) return undefined;
  return progressing(`waiting for the controller to observe generation ${generation} (it has seen ${observedGeneration})`);
}

/** kstatus's abnormal-true conditions: Stalled=True is DEGRADED, Reconciling=True PROGRESSING. */
export function abnormalConditionsRule(view: ObjectView): HealthAssessment | undefined {
  const stalled = condition(view.status, "Stalled");
  if (stalled?.status === "True") return degraded(explain(stalled, "stalled"));
  const reconciling = condition(view.status, "Reconciling");
  if (reconciling?.status === "True") return progressing(explain(reconciling, "reconciling"));
  return undefined;
}

// Reasons that say "not ready yet" or "failed" in words controllers commonly use.
const FAILED_REASON = /fail|error|invalid|denied|forbidden|conflict|exceeded|crash|backoff/i;
const PENDING_REASON = /^(progressing|reconcil|inprogress|in_progress|pending|creating|installing|upgrading|updating|provisioning|initializ|deploying|scaling|starting|waiting|notready)/i;

/**
 * The Ready condition of a custom resource. kstatus reads only Stalled and Reconciling; Ready is
 * read the way kstatus-compliant controllers (Flux among them) mean it: True is HEALTHY; False on
 * a generation the controller has observed, with no Reconciling=True (checked before), is a
 * failure, DEGRADED; False before that, or with a reason that names work in progress
 * ("Progressing", "Installing", "Waiting…"), and Unknown are PROGRESSING. A reason that names a
 * failure is DEGRADED in any case. No Ready condition: no verdict.
 */
export function readyConditionRule(view: ObjectView): HealthAssessment | undefined {
  const ready = condition(view.status, "Ready");
  if (ready === undefined) return undefined;
  if (ready.status === "True") return healthy();
  const why = explain(ready, "not ready");
  if (ready.status !== "False") return progressing(why);
  if (FAILED_REASON.test(ready.reason)) return degraded(why);
  if (PENDING_REASON.test(ready.reason)) return progressing(why);
  const observed = ready.observedGeneration ?? view.observedGeneration;
  const settled = view.generation !== undefined && observed !== undefined && observed >= view.generation;
  return settled ? degraded(why) : progressing(why);
}
