// Rollouts of the apps/v1 workloads, after kstatus: a Deployment, StatefulSet, DaemonSet or
// ReplicaSet is healthy only once its controller has observed the current generation and every
// replica runs that generation's pod template and is ready; pods of an older template still
// present mean the rollout is still in progress, never healthy at the new revision.
import { condition, degraded, explain, healthy, int, progressing, recordAt } from "./assessment.js";
import type { HealthAssessment, ObjectView } from "./assessment.js";
import { generationRule } from "./generic.js";

/** Deployment: progress deadline, then updated, old, available and ready replicas, then its conditions. */
export function deploymentHealth(view: ObjectView): HealthAssessment {
  const unobserved = generationRule(view, true);
  if (unobserved) return unobserved;
  const { spec, status } = view;
  const progressingCondition = condition(status, "Progressing");
  if (progressingCondition?.reason === "ProgressDeadlineExceeded") {
    return degraded(explain(progressingCondition, "progress deadline exceeded"));
  }
  const paused = spec?.["paused"] === true ? " (rollout paused)" : "";
  const wanted = int(spec?.["replicas"]) ?? 1;
  const total = int(status?.["replicas"]) ?? 0;
  const updated = int(status?.["updatedReplicas"]) ?? 0;
  const available = int(status?.["availableReplicas"]) ?? 0;
  const ready = int(status?.["readyReplicas"]) ?? 0;
  if (updated < wanted) return progressing(`${updated} of ${wanted} replicas updated${paused}`);
  if (total > updated) return progressing(`${total - updated} old replicas pending termination${paused}`);
  if (total > wanted) return progressing(`${total - wanted} extra replicas pending termination`);
  if (available < updated) return progressing(`${available} of ${updated} updated replicas available`);
  if (ready < wanted) return progressing(`${ready} of ${wanted} replicas ready`);
  const failure = condition(status, "ReplicaFailure");
  if (failure?.status === "True") return progressing(explain(failure, "replica failure"));
  const availableCondition = condition(status, "Available");
  if (availableCondition?.status === "False") return progressing(explain(availableCondition, "not available"));
  // Without a progress deadline the controller sets no Progressing condition at all.
  if (progressingCondition !== undefined && progressingCondition.reason !== "NewReplicaSetAvailable") {
    return progressing(explain(progressingCondition, "rollout in progress") + paused);
  }
  return healthy();
}

/** StatefulSet: replicas, readiness, then the update revision (or the partition's share of it). */
export function statefulSetHealth(view: ObjectView): HealthAssessment {
  const unobserved = generationRule(view, true);
  if (unobserved) return unobserved;
  const { spec, status } = view;
  const wanted = int(spec?.["replicas"]) ?? 1;
  const total = int(status?.["replicas"]) ?? 0;
  const ready = int(status?.["readyReplicas"]) ?? 0;
  const available = int(status?.["availableReplicas"]);
  const updated = int(status?.["updatedReplicas"]) ?? 0;
  if (total < wanted) return progressing(`${total} of ${wanted} replicas created`);
  if (ready < wanted) return progressing(`${ready} of ${wanted} replicas ready`);
  if (available !== undefined && available < wanted) return progressing(`${available} of ${wanted} replicas available`);
  if (total > wanted) return progressing(`${total - wanted} extra replicas pending termination`);
  const strategy = recordAt(spec, "updateStrategy");
  // OnDelete: pods take the new template only when someone deletes them; nothing to wait for.
  if (strategy?.["type"] === "OnDelete") return healthy("update strategy OnDelete: pods are replaced only when deleted");
  const partition = int(recordAt(strategy, "rollingUpdate")?.["partition"]) ?? 0;
  if (partition > 0) {
    const share = Math.max(wanted - partition, 0);
    if (updated < share) return progressing(`${updated} of ${share} replicas above partition ${partition} updated`);
    return healthy(`partitioned rollout: ${updated} of ${wanted} replicas updated`);
  }
  if (updated < wanted) return progressing(`${updated} of ${wanted} replicas updated`);
  const current = status?.["currentRevision"];
  const update = status?.["updateRevision"];
  if (current !== update) return progressing(`rolling out revision ${String(update)} (current ${String(current)})`);
  return healthy();
}

/** DaemonSet: one scheduled, updated and available pod on every node that should run one. */
export function daemonSetHealth(view: ObjectView): HealthAssessment {
  const unobserved = generationRule(view, true);
  if (unobserved) return unobserved;
  const { spec, status } = view;
  const desired = int(status?.["desiredNumberScheduled"]);
  if (desired === undefined) return progressing("waiting for the controller to count the nodes");
  const scheduled = int(status?.["currentNumberScheduled"]) ?? 0;
  const updated = int(status?.["updatedNumberScheduled"]) ?? 0;
  const available = int(status?.["numberAvailable"]) ?? 0;
  const ready = int(status?.["numberReady"]) ?? 0;
  const onDelete = recordAt(spec, "updateStrategy")?.["type"] === "OnDelete";
  if (scheduled < desired) return progressing(`${scheduled} of ${desired} pods scheduled`);
  if (!onDelete && updated < desired) return progressing(`${updated} of ${desired} pods updated`);
  if (available < desired) return progressing(`${available} of ${desired} pods available`);
  if (ready < desired) return progressing(`${ready} of ${desired} pods ready`);
  return healthy();
}

/** ReplicaSet: available and ready replicas, and no extra ones still terminating. */
export function replicaSetHealth(view: ObjectView): HealthAssessment {
  const unobserved = generationRule(view, true);
  if (unobserved) return unobserved;
  const { spec, status } = view;
  const wanted = int(spec?.["replicas"]) ?? 1;
  const total = int(status?.["replicas"]) ?? 0;
  const available = int(status?.["availableReplicas"]) ?? 0;
  const ready = int(status?.["readyReplicas"]) ?? 0;
  const failure = condition(status, "ReplicaFailure");
  if (failure?.status === "True") return progressing(explain(failure, "replica failure"));
  if (total < wanted) return progressing(`${total} of ${wanted} replicas created`);
  if (ready < wanted) return progressing(`${ready} of ${wanted} replicas ready`);
  if (available < wanted) return progressing(`${available} of ${wanted} replicas available`);
  if (total > wanted) return progressing(`${total - wanted} extra replicas pending termination`);
  return healthy();
}
