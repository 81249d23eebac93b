// Health of a live object, kstatus-style (sigs.k8s.io/cli-utils/pkg/kstatus): rules every kind
// shares first, then the kind's own rules or, for kinds without any (custom resources), its
// standard conditions. The rules themselves live in ./health/.
import { HealthState } from "@gitfleet/proto";
import {
  abnormalConditionsRule,
  crdHealth,
  daemonSetHealth,
  deletionRule,
  deploymentHealth,
  generationRule,
  healthy,
  jobHealth,
  namespaceHealth,
  podHealth,
  pvcHealth,
  readyConditionRule,
  replicaSetHealth,
  serviceHealth,
  statefulSetHealth,
  viewOf,
} from "./health/index.js";
import type { HealthAssessment, ObjectView } from "./health/index.js";
import { splitApiVersion } from "./kube-objects.js";
import type { KubeObject } from "./kube-objects.js";

export type { HealthAssessment } from "./health/index.js";

// Kinds with status semantics of their own, by "group/kind" ("" is the core group).
const kindRules = new Map<string, (view: ObjectView) => HealthAssessment>([
  ["apps/Deployment", deploymentHealth],
  ["apps/StatefulSet", statefulSetHealth],
  ["apps/DaemonSet", daemonSetHealth],
  ["apps/ReplicaSet", replicaSetHealth],
  ["batch/Job", jobHealth],
  ["/Pod", podHealth],
  ["/PersistentVolumeClaim", pvcHealth],
  ["/Service", serviceHealth],
  ["/Namespace", namespaceHealth],
  ["apiextensions.k8s.io/CustomResourceDefinition", crdHealth],
]);

/**
 * Assesses a live object from its status, in kstatus order: being deleted, or a generation its
 * controller has not observed yet, is PROGRESSING; Stalled=True is DEGRADED and Reconciling=True
 * PROGRESSING; then the rules of the kind (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
 * Pod, PersistentVolumeClaim, Service, Namespace, CRD) or, for any other kind, its Ready
 * condition. An object without status semantics is HEALTHY once it exists.
 */
export function assessHealth(object: KubeObject): HealthAssessment {
  const view = viewOf(object);
  const shared = deletionRule(view) ?? generationRule(view) ?? abnormalConditionsRule(view);
  if (shared) return shared;
  const rule = kindRules.get(`${splitApiVersion(object.apiVersion).group}/${object.kind}`);
  if (rule) return rule(view);
  return readyConditionRule(view) ?? healthy();
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
