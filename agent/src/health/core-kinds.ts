// Core kinds with a status of their own: Namespaces, CustomResourceDefinitions,
// PersistentVolumeClaims, and Services of type LoadBalancer.
import { asString } from "../kube-objects.js";
import { condition, degraded, explain, healthy, progressing, recordAt } from "./assessment.js";
import type { HealthAssessment, ObjectView } from "./assessment.js";

/** Namespace: PROGRESSING while it terminates. */
export function namespaceHealth(view: ObjectView): HealthAssessment {
  return view.status?.["phase"] === "Terminating" ? progressing("namespace is terminating") : healthy();
}

/** CRD: DEGRADED when its names clash, HEALTHY once Established. */
export function crdHealth(view: ObjectView): HealthAssessment {
  const names = condition(view.status, "NamesAccepted");
  if (names?.status === "False") return degraded(`names not accepted: ${explain(names, "conflict")}`);
  const established = condition(view.status, "Established");
  if (established?.status === "True") return healthy();
  if (established?.status === "False" && established.reason !== "Installing" && established.reason !== "") {
    return degraded(`not established: ${explain(established, "")}`);
  }
  return progressing("waiting for the CRD to be established");
}

/** PersistentVolumeClaim: Bound is HEALTHY, Lost DEGRADED, Pending (or no phase yet) PROGRESSING. */
export function pvcHealth(view: ObjectView): HealthAssessment {
  const phase = asString(view.status?.["phase"]);
  if (phase === "Bound") return healthy();
  if (phase === "Lost") return degraded("claim lost: its volume no longer exists");
  return progressing(phase === "" ? "waiting for the claim to be bound" : `claim ${phase.toLowerCase()}: not bound to a volume yet`);
}

/** Service: a LoadBalancer is PROGRESSING until its load balancer reports an ingress point. */
export function serviceHealth(view: ObjectView): HealthAssessment {
  if (view.spec?.["type"] !== "LoadBalancer") return healthy();
  const ingress = recordAt(view.status, "loadBalancer")?.["ingress"];
  if (Array.isArray(ingress) && ingress.length > 0) return healthy();
  return progressing("waiting for the load balancer's ingress address");
}
