// Kubernetes Events on the objects drift touches, so `kubectl describe` shows what gitfleet saw
// or did. Best effort: an Event that cannot be written is logged, never retried.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { KubeClient } from "../kube-client.js";
import { apiVersionOf } from "../kube-objects.js";
import type { ObjectRef } from "../kube-objects.js";

/** The reasons gitfleet records. */
export type DriftEventReason = "DriftDetected" | "DriftCorrected" | "DriftConflict";

/** Writes one Event about an object. */
export type KubeEventRecorder = (ref: ObjectRef, reason: DriftEventReason, message: string) => Promise<void>;

/** Creates a recorder writing core/v1 Events as component "gitfleet-agent". */
export function createKubeEventRecorder(options: { kube: KubeClient; clock: Clock; logger: Logger }): KubeEventRecorder {
  const { kube, clock, logger } = options;
  return async (ref, reason, message) => {
    const now = new Date(clock.now()).toISOString();
    const namespace = ref.namespace || "default";
    try {
      await kube.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${ref.name}.${randomBytes(8).toString("hex")}`.slice(0, 253), namespace },
        involvedObject: {
          apiVersion: apiVersionOf(ref),
          kind: ref.kind,
          name: ref.name,
          ...(ref.namespace ? { namespace: ref.namespace } : {}),
        },
        reason,
        message: message.slice(0, 1024),
        type: reason === "DriftCorrected" ? "Normal" : "Warning",
        source: { component: "gitfleet-agent" },
        reportingComponent: "gitfleet-agent",
        reportingInstance: "gitfleet-agent",
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      logger.debug({ err, reason, object: ref.name }, "cannot record a Kubernetes Event");
    }
  };
}
