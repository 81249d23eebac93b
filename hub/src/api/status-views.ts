// What agents report, as the API shows it: each bundle of a cluster with its health, drift counts
// and per-resource state. A stale cluster's sync and health show as unknown. Pure.
import {
  DriftMode,
  DriftState,
  HealthState,
  SyncState,
  timestampDate,
  type BundleStatus,
  type DriftedField,
  type ResourceStatus,
  type Timestamp,
} from "@gitfleet/proto";
import type { BundleStateView } from "./status-schemas.js";

/** SyncState.OUT_OF_SYNC -> "out-of-sync"; protobuf-es drops the value prefix. */
export function enumName(names: Record<number, string>, value: number): string {
  return (names[value] ?? "UNSPECIFIED").toLowerCase().replaceAll("_", "-");
}

/** Sync and health as shown. */
export interface ShownState {
  sync: string;
  health: string;
  lastReported?: { sync: string; health: string };
}

/**
 * Sync and health as the API shows them: what was reported, or "unknown" for a stale cluster,
 * with what it last reported beside it. A stale cluster is never shown in sync or healthy.
 */
export function shownState(sync: SyncState, health: HealthState, stale: boolean): ShownState {
  const reported = { sync: enumName(SyncState, sync), health: enumName(HealthState, health) };
  return stale ? { sync: "unknown", health: "unknown", lastReported: reported } : reported;
}

const iso = (t: Timestamp | undefined): string | null => (t ? timestampDate(t).toISOString() : null);

/** A drifted field as the API shows it: `redacted` and `truncated` only when set. */
export function driftedFieldView(f: DriftedField): BundleStateView["resources"][number]["fields"][number] {
  return {
    path: f.path,
    desired: f.desired,
    live: f.live,
    manager: f.manager,
    ...(f.redacted ? { redacted: true } : {}),
    ...(f.truncated ? { truncated: true } : {}),
  };
}

function resourceView(r: ResourceStatus, stale: boolean): BundleStateView["resources"][number] {
  return {
    resource: { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, namespace: r.namespace, name: r.name },
    ...shownState(r.sync, r.health, stale),
    drift: enumName(DriftState, r.driftState),
    fields: r.drift.map(driftedFieldView),
    fieldsOmitted: r.driftFieldsOmitted,
    firstSeen: iso(r.driftFirstSeen),
    lastSeen: iso(r.driftLastSeen),
    corrections: r.corrections,
    message: r.message,
  };
}

/** One bundle of a cluster with its resources. */
export function bundleStateView(b: BundleStatus, stale: boolean): BundleStateView {
  return {
    name: b.name,
    digest: b.digest,
    revision: b.revision,
    ...shownState(b.sync, b.health, stale),
    healthRevision: b.healthRevision,
    driftMode: enumName(DriftMode, b.driftMode),
    message: b.message,
    resourceCount: b.resourceCount,
    driftedCount: b.driftedCount,
    missingCount: b.missingCount,
    conflictCount: b.conflictCount,
    omittedResources: b.omittedResources,
    lastAppliedAt: iso(b.lastAppliedAt),
    resources: b.resources.map((r) => resourceView(r, stale)),
  };
}
