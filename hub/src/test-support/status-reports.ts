// Builders of StatusReports for the hub's tests: objects with drift, bundles counting them.
import {
  BundleStatusSchema,
  create,
  DriftMode,
  DriftState,
  HealthState,
  ResourceStatusSchema,
  StatusReportSchema,
  SyncState,
  timestampFromDate,
  type BundleStatus,
  type MessageInitShape,
  type ResourceStatus,
  type StatusReport,
} from "@gitfleet/proto";

/** An object's drift in a test: its state, fields as [path, desired, live, manager], and when it was first seen. */
export interface TestResource {
  kind: string;
  name: string;
  namespace?: string;
  group?: string;
  state?: DriftState;
  fields?: Array<[path: string, desired: string, live: string, manager: string]>;
  firstSeen?: Date;
  lastSeen?: Date;
}

/** A resource status; in sync and healthy unless `state` says otherwise. */
export function testResource(r: TestResource): ResourceStatus {
  const state = r.state ?? DriftState.IN_SYNC;
  return create(ResourceStatusSchema, {
    group: r.group ?? (r.kind === "Deployment" ? "apps" : ""),
    version: "v1",
    kind: r.kind,
    namespace: r.namespace ?? "default",
    name: r.name,
    sync: state === DriftState.IN_SYNC ? SyncState.SYNCED : SyncState.OUT_OF_SYNC,
    health: HealthState.HEALTHY,
    driftState: state,
    drift: (r.fields ?? []).map(([path, desired, live, manager]) => ({ path, desired, live, manager })),
    ...(r.firstSeen ? { driftFirstSeen: timestampFromDate(r.firstSeen) } : {}),
    ...(r.lastSeen ? { driftLastSeen: timestampFromDate(r.lastSeen) } : {}),
  });
}

/** A bundle status whose counts match its resources. */
export function testBundle(name: string, resources: ResourceStatus[], init: MessageInitShape<typeof BundleStatusSchema> = {}): BundleStatus {
  const count = (s: DriftState) => resources.filter((r) => r.driftState === s).length;
  return create(BundleStatusSchema, {
    name,
    digest: `digest-${name}`,
    revision: "rev-1",
    healthRevision: "rev-1",
    sync: SyncState.SYNCED,
    health: HealthState.HEALTHY,
    driftMode: DriftMode.CORRECT,
    resources,
    resourceCount: resources.length,
    driftedCount: count(DriftState.DRIFTED) + count(DriftState.MISSING) + count(DriftState.CONFLICT),
    missingCount: count(DriftState.MISSING),
    conflictCount: count(DriftState.CONFLICT),
    ...init,
  });
}

/** A status report of `bundles`, whole unless `init` says otherwise. */
export function testReport(bundles: BundleStatus[], init: MessageInitShape<typeof StatusReportSchema> = {}): StatusReport {
  return create(StatusReportSchema, { observedRevision: "rev-1", observedGeneration: 1n, agentVersion: "test", bundles, ...init });
}
