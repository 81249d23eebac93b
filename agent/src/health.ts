import { HealthState } from "@gitfleet/proto";
import { asRecord, asString, isCrd, isNamespace, refOf } from "./kube-objects.js";
import type { KubeObject } from "./kube-objects.js";

/** The health of one live object and, when not healthy, why. */
export interface HealthAssessment {
  health: HealthState;
  message: string;
}

const healthy: HealthAssessment = { health: HealthState.HEALTHY, message: "" };

/**
 * Assesses a live object from its status. Namespaces, CRDs and Deployments have status
 * semantics the agent knows; any other object that exists counts as healthy for now.
 */
export function assessHealth(object: KubeObject): HealthAssessment {
  const ref = refOf(object);
  const status = asRecord(object["status"]);
  if (isNamespace(ref)) {
    return status?.["phase"] === "Terminating"
      ? { health: HealthState.PROGRESSING, message: "namespace is terminating" }
      : healthy;
  }
  if (isCrd(ref)) return crdHealth(status);
  if (ref.group === "apps" && ref.kind === "Deployment") return deploymentHealth(object, status);
  return healthy;
}

/** The worst of several health states: DEGRADED > MISSING > PROGRESSING > UNKNOWN > HEALTHY. */
export function worstHealth(states: Iterable<HealthState>): HealthState {
  const rank = (h: HealthState): number =>
    ({
      [HealthState.DEGRADED]: 5,
      [HealthState.MISSING]: 4,
      [HealthState.PROGRESSING]: 3,
      [HealthState.UNKNOWN]: 2,
      [HealthState.UNSPECIFIED]: 1,
      [HealthState.HEALTHY]: 0,
    })[h];
  let worst = HealthState.HEALTHY;
  for (const state of states) if (rank(state) > rank(worst)) worst = state;
  return worst;
}

function crdHealth(status: Record<string, unknown> | undefined): HealthAssessment {
  const names = condition(status, "NamesAccepted");
  if (names?.status === "False") {
    return { health: HealthState.DEGRADED, message: `names not accepted: ${names.message}` };
  }
  const established = condition(status, "Established");
  if (established?.status === "True") return healthy;
  return { health: HealthState.PROGRESSING, message: "waiting for the CRD to be established" };
}

function deploymentHealth(object: KubeObject, status: Record<string, unknown> | undefined): HealthAssessment {
  const generation = numberField(object.metadata["generation"]);
  const observed = numberField(status?.["observedGeneration"]);
  if (generation !== undefined && (observed === undefined || observed < generation)) {
    return { health: HealthState.PROGRESSING, message: `waiting for the controller to observe generation ${generation}` };
  }
  const progressing = condition(status, "Progressing");
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
    return { health: HealthState.DEGRADED, message: progressing.message || "progress deadline exceeded" };
  }
  const spec = asRecord(object["spec"]);
  const wanted = numberField(spec?.["replicas"]) ?? 1;
  const updated = numberField(status?.["updatedReplicas"]) ?? 0;
  const available = numberField(status?.["availableReplicas"]) ?? 0;
  if (updated < wanted || available < wanted) {
    return { health: HealthState.PROGRESSING, message: `${available} of ${wanted} replicas available, ${updated} updated` };
  }
  return healthy;
}

interface ConditionView {
  status: string;
  reason: string;
  message: string;
}

function condition(status: Record<string, unknown> | undefined, type: string): ConditionView | undefined {
  const conditions = status?.["conditions"];
  if (!Array.isArray(conditions)) return undefined;
  for (const item of conditions) {
    const c = asRecord(item);
    if (c?.["type"] === type) {
      return { status: asString(c["status"]), reason: asString(c["reason"]), message: asString(c["message"]) };
    }
  }
  return undefined;
}

function numberField(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
