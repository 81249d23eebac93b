// Pods and Jobs: a pod whose containers cannot start or keep crashing is degraded, a running
// and ready or completed pod is healthy; a Job is healthy once complete, degraded once failed,
// and progressing until then.
import { asRecord, asString } from "../kube-objects.js";
import { condition, degraded, explain, healthy, int, progressing } from "./assessment.js";
import type { HealthAssessment, ObjectView } from "./assessment.js";

// Waiting reasons the kubelet gives a container that will not run without someone fixing something.
const STUCK_WAITING = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
]);

/** Pod: Succeeded or Running and Ready is HEALTHY; Failed or a container stuck waiting is DEGRADED. */
export function podHealth(view: ObjectView): HealthAssessment {
  const { status } = view;
  const phase = asString(status?.["phase"]);
  if (phase === "Succeeded") return healthy("completed");
  if (phase === "Failed") return degraded(podFailure(status));
  const stuck = stuckContainers(status);
  if (stuck.length > 0) return degraded(stuck.join("; "));
  if (phase === "Running") {
    const ready = condition(status, "Ready");
    if (ready?.status === "True") return healthy();
    const why = explain(ready, "");
    return progressing(why === "" ? "running, not ready" : `running, not ready (${why})`);
  }
  if (phase === "Pending") {
    const scheduled = condition(status, "PodScheduled");
    if (scheduled?.status === "False") return progressing(`pending: not scheduled (${explain(scheduled, "no node yet")})`);
    return progressing("pending");
  }
  return progressing(phase === "" ? "waiting for the pod to be observed" : `phase ${phase}`);
}

function podFailure(status: Record<string, unknown> | undefined): string {
  const reason = asString(status?.["reason"]);
  const message = asString(status?.["message"]);
  const terminated = containerStatuses(status).flatMap((c) => {
    const state = asRecord(asRecord(c["state"])?.["terminated"]);
    const code = int(state?.["exitCode"]);
    return code !== undefined && code !== 0 ? [`container ${asString(c["name"])} exited with code ${code}`] : [];
  });
  return ["failed", explain({ reason, message }, ""), ...terminated].filter((s) => s !== "").join(": ");
}

function stuckContainers(status: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const c of containerStatuses(status)) {
    const waiting = asRecord(asRecord(c["state"])?.["waiting"]);
    const reason = asString(waiting?.["reason"]);
    if (!STUCK_WAITING.has(reason)) continue;
    const restarts = int(c["restartCount"]) ?? 0;
    const message = asString(waiting?.["message"]);
    out.push(`container ${asString(c["name"])} ${reason}${restarts > 0 ? ` after ${restarts} restarts` : ""}${message ? `: ${message}` : ""}`);
  }
  return out;
}

function containerStatuses(status: Record<string, unknown> | undefined): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const field of ["initContainerStatuses", "containerStatuses"]) {
    const list = status?.[field];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      const record = asRecord(item);
      if (record) out.push(record);
    }
  }
  return out;
}

/** Job: Complete is HEALTHY, Failed (or about to fail) DEGRADED, anything else PROGRESSING. */
export function jobHealth(view: ObjectView): HealthAssessment {
  const { spec, status } = view;
  const succeeded = int(status?.["succeeded"]) ?? 0;
  const failed = int(status?.["failed"]) ?? 0;
  const active = int(status?.["active"]) ?? 0;
  const completions = int(spec?.["completions"]);
  const counts = `${succeeded}${completions === undefined ? "" : ` of ${completions}`} succeeded, ${active} active, ${failed} failed`;
  if (condition(status, "Complete")?.status === "True") return healthy(`complete: ${counts}`);
  const failedCondition = condition(status, "Failed");
  if (failedCondition?.status === "True") return degraded(`failed: ${explain(failedCondition, counts)}`);
  // Since Kubernetes 1.31 the controller sets FailureTarget first, then Failed once pods are gone.
  const failing = condition(status, "FailureTarget");
  if (failing?.status === "True") return degraded(`failing: ${explain(failing, counts)}`);
  if (spec?.["suspend"] === true || condition(status, "Suspended")?.status === "True") return progressing(`suspended: ${counts}`);
  if (condition(status, "SuccessCriteriaMet")?.status === "True") return progressing(`succeeded, waiting for its pods to finish: ${counts}`);
  if (status?.["startTime"] === undefined) return progressing("waiting for the job to start");
  return progressing(`running: ${counts}`);
}
