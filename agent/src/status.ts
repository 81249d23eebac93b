import { createHash } from "node:crypto";
import {
  BundleStatusSchema,
  ConditionStatus,
  DriftMode,
  DriftState,
  HealthState,
  StatusReportSchema,
  SyncState,
  create,
  timestampFromDate,
  toBinary,
} from "@gitfleet/proto";
import type { BundleStatus, ConditionSchema, DriftedFieldSchema, MessageInitShape, ResourceStatusSchema, StatusReport } from "@gitfleet/proto";
import type { BundleResult, ResourceResult } from "./bundle-result.js";
import type { DriftStateName, ObjectDrift, ReportedField } from "./drift/index.js";
import { worstHealth } from "./health.js";
import { refKey } from "./kube-objects.js";
import type { ReconcileReport } from "./reconcile.js";

/** What a status report says about the agent itself, and where drift and live health come from. */
export interface StatusContext {
  agentVersion: string;
  kubernetesVersion: string;
  now: Date;
  /** A bundle's objects as the drift monitor sees them now; none without a monitor. */
  drift?: (bundle: string) => readonly ObjectDrift[];
  /** A bundle's drift mode, from its desired state. */
  driftMode?: (bundle: string) => "correct" | "report" | undefined;
  /** Whether the last desired state received passed the agent's check; no condition when absent. */
  desiredStateCheck?: { refused: false } | { refused: true; reason: string; message: string } | undefined;
}

/** Bounds that keep every message small (docs/protocol.md, "Status on the wire"). */
export const STATUS_LIMITS = {
  /** Largest JSON-encoded desired or live value of a drifted field. */
  valueBytes: 1024,
  /** Drifted fields listed per object. */
  fieldsPerObject: 64,
  /** Largest encoded BundleStatus before in-sync, healthy resources are left out. */
  bundleBytes: 192 * 1024,
} as const;

/**
 * Condenses a reconcile pass and the drift monitor's view into the StatusReport sent to the
 * hub: observed revision and generation, per bundle sync, health at a revision, drift counts
 * and per-resource drift, and two summary conditions, "Synced" and "Healthy".
 */
export function buildStatusReport(report: ReconcileReport, context: StatusContext): StatusReport {
  const bundles = report.bundles.map((b) => bundleStatus(b, context));
  const unsynced = bundles.filter((b) => b.sync !== SyncState.SYNCED).map((b) => b.name);
  const unhealthy = bundles.filter((b) => b.health !== HealthState.HEALTHY).map((b) => b.name);
  return create(StatusReportSchema, {
    observedRevision: report.revision,
    observedGeneration: report.generation,
    bundles,
    conditions: [
      condition("Synced", unsynced, "AllBundlesSynced", "BundlesNotSynced", "bundles not synced"),
      condition("Healthy", unhealthy, "AllBundlesHealthy", "BundlesNotHealthy", "bundles not healthy"),
      ...(context.desiredStateCheck ? [verifiedCondition(context.desiredStateCheck)] : []),
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

/** A digest of one bundle's status, to send only the bundles that changed. */
export function bundleFingerprint(bundle: BundleStatus): string {
  return createHash("sha256").update(toBinary(BundleStatusSchema, bundle)).digest("hex");
}

const driftStates: Record<DriftStateName, DriftState> = {
  unknown: DriftState.UNSPECIFIED,
  "in-sync": DriftState.IN_SYNC,
  drifted: DriftState.DRIFTED,
  missing: DriftState.MISSING,
  conflict: DriftState.CONFLICT,
};

function bundleStatus(result: BundleResult, context: StatusContext): BundleStatus {
  const drift = new Map((context.drift?.(result.name) ?? []).map((d) => [refKey(d.ref), d]));
  const resources = result.resources.map((r) => resourceStatus(r, drift.get(refKey(r.ref))));
  const counted = resources.filter((r) => r.sync !== SyncState.PRUNED);
  const count = (...states: DriftState[]): number => counted.filter((r) => states.includes(r.driftState ?? DriftState.UNSPECIFIED)).length;
  // Live health (kept current by the watches) wins over what the pass saw when it applied.
  const health = drift.size > 0 && counted.length > 0 ? worstHealth(counted.map((r) => r.health ?? HealthState.UNKNOWN)) : result.health;
  const mode = context.driftMode?.(result.name);
  const status = create(BundleStatusSchema, {
    name: result.name,
    digest: result.appliedDigest,
    revision: result.revision,
    sync: result.sync,
    health,
    healthRevision: result.appliedDigest ? result.revision : "",
    resources,
    message: result.message,
    resourceCount: counted.length,
    driftedCount: count(DriftState.DRIFTED, DriftState.MISSING, DriftState.CONFLICT),
    missingCount: count(DriftState.MISSING),
    conflictCount: count(DriftState.CONFLICT),
    driftMode: mode === "report" ? DriftMode.REPORT : mode === "correct" ? DriftMode.CORRECT : DriftMode.UNSPECIFIED,
    ...(result.appliedAt ? { lastAppliedAt: timestampFromDate(new Date(result.appliedAt)) } : {}),
  });
  return bounded(status);
}

// A bundle too large for one message keeps every resource that is not in sync and healthy.
function bounded(status: BundleStatus): BundleStatus {
  if (toBinary(BundleStatusSchema, status).length <= STATUS_LIMITS.bundleBytes) return status;
  const interesting = status.resources.filter(
    (r) => r.health !== HealthState.HEALTHY || r.sync !== SyncState.SYNCED || (r.driftState !== DriftState.IN_SYNC && r.driftState !== DriftState.UNSPECIFIED),
  );
  return create(BundleStatusSchema, { ...status, resources: interesting, omittedResources: status.resources.length - interesting.length });
}

function resourceStatus(result: ResourceResult, drift: ObjectDrift | undefined): MessageInitShape<typeof ResourceStatusSchema> {
  const base = {
    group: result.ref.group,
    version: result.ref.version,
    kind: result.ref.kind,
    namespace: result.ref.namespace,
    name: result.ref.name,
    sync: result.sync,
    health: result.health,
    message: result.message,
  };
  if (!drift || result.sync !== SyncState.SYNCED) return base;
  const live = drift.health.health !== HealthState.UNKNOWN;
  const fields = drift.fields.slice(0, STATUS_LIMITS.fieldsPerObject).map(driftedField);
  return {
    ...base,
    health: live ? drift.health.health : result.health,
    message: live ? drift.health.message : result.message,
    driftState: driftStates[drift.state],
    drift: fields,
    driftFieldsOmitted: Math.max(0, drift.fields.length - fields.length),
    corrections: drift.corrections,
    ...(drift.firstSeen !== undefined ? { driftFirstSeen: timestampFromDate(new Date(drift.firstSeen)) } : {}),
    ...(drift.lastSeen !== undefined ? { driftLastSeen: timestampFromDate(new Date(drift.lastSeen)) } : {}),
  };
}

/** A drifted field on the wire: values JSON-encoded and cut at the bound, Secret values withheld. */
export function driftedField(field: ReportedField): MessageInitShape<typeof DriftedFieldSchema> {
  if (field.redacted) return { path: field.path, desired: "", live: "", manager: field.manager, redacted: true, truncated: false };
  const desired = encodeValue(field.desired);
  const live = encodeValue(field.live);
  return {
    path: field.path,
    desired: desired.text,
    live: live.text,
    manager: field.manager,
    redacted: false,
    truncated: desired.cut || live.cut,
  };
}

function encodeValue(value: unknown): { text: string; cut: boolean } {
  if (value === undefined) return { text: "", cut: false };
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text) <= STATUS_LIMITS.valueBytes) return { text, cut: false };
  return { text: Buffer.from(text).subarray(0, STATUS_LIMITS.valueBytes).toString("utf8").replace(/\uFFFD$/, ""), cut: true };
}

/**
 * "DesiredStateVerified": False with the refusal's reason (Unsigned, UnknownKey, BadSignature,
 * Replayed) while the agent refuses what the hub's key space holds and keeps its last good state.
 */
function verifiedCondition(check: NonNullable<StatusContext["desiredStateCheck"]>): MessageInitShape<typeof ConditionSchema> {
  return check.refused
    ? { type: "DesiredStateVerified", status: ConditionStatus.FALSE, reason: check.reason, message: `${check.message}; enforcing the last good state` }
    : { type: "DesiredStateVerified", status: ConditionStatus.TRUE, reason: "SignatureVerified", message: "" };
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
