import { createHash } from "node:crypto";
import {
  ConditionStatus,
  HealthState,
  StatusReportSchema,
  SyncState,
  create,
  timestampFromDate,
  toBinary,
} from "@gitfleet/proto";
import type { BundleStatusSchema, ConditionSchema, MessageInitShape, ResourceStatusSchema, StatusReport } from "@gitfleet/proto";
import type { BundleResult, ResourceResult } from "./bundle-result.js";
import type { ReconcileReport } from "./reconcile.js";

/** What a status report says about the agent itself. */
export interface StatusContext {
  agentVersion: string;
  kubernetesVersion: string;
  now: Date;
}

/**
 * Condenses a reconcile pass into the StatusReport sent to the hub: observed revision and
 * generation, per bundle sync, health, digest, revision, message and resource statuses, and
 * two summary conditions, "Synced" and "Healthy".
 */
export function buildStatusReport(report: ReconcileReport, context: StatusContext): StatusReport {
  const bundles = report.bundles.map(bundleStatus);
  const unsynced = report.bundles.filter((b) => b.sync !== SyncState.SYNCED).map((b) => b.name);
  const unhealthy = report.bundles.filter((b) => b.health !== HealthState.HEALTHY).map((b) => b.name);
  return create(StatusReportSchema, {
    observedRevision: report.revision,
    observedGeneration: report.generation,
    bundles,
    conditions: [
      condition("Synced", unsynced, "AllBundlesSynced", "BundlesNotSynced", "bundles not synced"),
      condition("Healthy", unhealthy, "AllBundlesHealthy", "BundlesNotHealthy", "bundles not healthy"),
    ],
    reportedAt: timestampFromDate(context.now),
    agentVersion: context.agentVersion,
    kubernetesVersion: context.kubernetesVersion,
  });
}

/**
 * A digest of everything in a report except when it was made: equal fingerprints mean there
 * is nothing new to tell the hub.
 */
export function statusFingerprint(status: StatusReport): string {
  const timeless = create(StatusReportSchema, { ...status, reportedAt: undefined });
  return createHash("sha256").update(toBinary(StatusReportSchema, timeless)).digest("hex");
}

function bundleStatus(result: BundleResult): MessageInitShape<typeof BundleStatusSchema> {
  const resources = result.resources.map(resourceStatus);
  return {
    name: result.name,
    digest: result.appliedDigest,
    revision: result.revision,
    sync: result.sync,
    health: result.health,
    resources,
    message: result.message,
    resourceCount: result.resources.filter((r) => r.sync !== SyncState.PRUNED).length,
    driftedCount: 0,
    ...(result.appliedAt ? { lastAppliedAt: timestampFromDate(new Date(result.appliedAt)) } : {}),
  };
}

function resourceStatus(result: ResourceResult): MessageInitShape<typeof ResourceStatusSchema> {
  return {
    group: result.ref.group,
    version: result.ref.version,
    kind: result.ref.kind,
    namespace: result.ref.namespace,
    name: result.ref.name,
    sync: result.sync,
    health: result.health,
    message: result.message,
  };
}

function condition(
  type: string,
  failing: readonly string[],
  okReason: string,
  badReason: string,
  badMessage: string,
): MessageInitShape<typeof ConditionSchema> {
  return failing.length === 0
    ? { type, status: ConditionStatus.TRUE, reason: okReason, message: "" }
    : { type, status: ConditionStatus.FALSE, reason: badReason, message: `${badMessage}: ${failing.join(", ")}` };
}
