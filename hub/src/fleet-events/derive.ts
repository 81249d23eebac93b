// The fleet events a status report means, derived from the cluster's whole status before and
// after it. Pure: the same statuses always give the same events, and identical statuses give
// none, so an agent that restarts and finds the same drift reports nothing twice.
import {
  DriftState,
  HealthState,
  SyncState,
  type BundleStatus,
  type DriftedField,
  type ResourceStatus,
  type StatusReport,
} from "@gitfleet/proto";
import {
  describeResource,
  fleetEventId,
  resourceKey,
  type FleetEvent,
  type FleetEventCluster,
  type FleetEventField,
  type FleetEventResource,
  type SettledMark,
} from "./fleet-event.js";
import { boundedField, boundedText } from "./bounds.js";

/** Input of {@link deriveStatusEvents}. */
export interface DeriveStatusInput {
  cluster: FleetEventCluster;
  /** The cluster's whole status before the report; undefined when the hub held none. */
  previous: StatusReport | undefined;
  /** The cluster's whole status after the report (a partial report merged in). */
  current: StatusReport;
  now: Date;
}

/** What a status change means: events to record, and objects that went back to normal. */
export interface DerivedEvents {
  events: FleetEvent[];
  settled: SettledMark[];
}

interface Context {
  cluster: FleetEventCluster;
  time: string;
  out: DerivedEvents;
}

/** The events of a status change; see the file comment. */
export function deriveStatusEvents(input: DeriveStatusInput): DerivedEvents {
  const { previous, current } = input;
  const ctx: Context = { cluster: input.cluster, time: input.now.toISOString(), out: { events: [], settled: [] } };
  const before = new Map((previous?.bundles ?? []).map((b) => [b.name, b]));
  for (const bundle of current.bundles) deriveBundle(ctx, before.get(bundle.name), bundle);
  // A partial report names the bundles that left; a whole one simply no longer holds them.
  const present = new Set(current.bundles.map((b) => b.name));
  const gone = current.partial ? current.removedBundles : [...before.keys()].filter((name) => !present.has(name));
  for (const name of gone) {
    const bundle = before.get(name);
    if (bundle && !present.has(name)) settleBundle(ctx, bundle);
  }
  return ctx.out;
}

function deriveBundle(ctx: Context, before: BundleStatus | undefined, bundle: BundleStatus): void {
  deriveHealth(ctx, before, bundle);
  deriveSync(ctx, before, bundle);
  const resourcesBefore = new Map((before?.resources ?? []).map((r) => [keyOf(r), r]));
  const present = new Set<string>();
  for (const resource of bundle.resources) {
    const key = keyOf(resource);
    present.add(key);
    deriveResource(ctx, bundle, resourcesBefore.get(key), resource);
  }
  // A resource no longer listed was removed from the bundle or left out as in sync and healthy.
  for (const [key, resource] of resourcesBefore) {
    if (!present.has(key) && isDrifted(resource.driftState)) settle(ctx, bundle.name, "drift", toResource(resource));
  }
}

// Health is of a revision: degraded again at a new revision is a new event.
function deriveHealth(ctx: Context, before: BundleStatus | undefined, bundle: BundleStatus): void {
  const wasDegraded = before?.health === HealthState.DEGRADED;
  const revision = bundle.healthRevision || bundle.revision;
  if (bundle.health === HealthState.DEGRADED) {
    if (wasDegraded && (before.healthRevision || before.revision) === revision) return;
    emit(ctx, {
      type: "health-degraded",
      bundle: bundle.name,
      revision,
      message: `bundle ${bundle.name} is degraded at ${short(revision)}${degradedDetail(bundle)}`,
      fingerprint: revision,
    });
  } else if (wasDegraded && bundle.health !== HealthState.UNSPECIFIED) {
    emit(ctx, {
      type: "health-recovered",
      bundle: bundle.name,
      revision,
      message: `bundle ${bundle.name} is no longer degraded: ${healthName(bundle.health)} at ${short(revision)}`,
      fingerprint: revision,
    });
  }
}

function deriveSync(ctx: Context, before: BundleStatus | undefined, bundle: BundleStatus): void {
  const wasFailed = before?.sync === SyncState.FAILED;
  if (bundle.sync === SyncState.FAILED) {
    if (wasFailed && before.message === bundle.message && before.revision === bundle.revision) return;
    emit(ctx, {
      type: "sync-failed",
      bundle: bundle.name,
      revision: bundle.revision,
      message: boundedText(`bundle ${bundle.name} failed to sync at ${short(bundle.revision)}: ${bundle.message || "no message"}`),
      fingerprint: `${bundle.revision}\0${bundle.message}`,
    });
  } else if (wasFailed && bundle.sync !== SyncState.UNSPECIFIED) {
    settle(ctx, bundle.name, "sync");
  }
}

function deriveResource(ctx: Context, bundle: BundleStatus, before: ResourceStatus | undefined, resource: ResourceStatus): void {
  const state = resource.driftState;
  const was = before?.driftState ?? DriftState.UNSPECIFIED;
  const paths = pathsOf(resource);
  const target = toResource(resource);
  const fields = resource.drift.slice(0, 64).map(toField);
  const omitted = resource.driftFieldsOmitted + Math.max(0, resource.drift.length - 64);
  const base = { bundle: bundle.name, resource: target, revision: bundle.revision, fields, ...(omitted > 0 ? { fieldsOmitted: omitted } : {}) };
  if (state === DriftState.DRIFTED || state === DriftState.MISSING) {
    if (was === state && before && pathsOf(before) === paths) return;
    const missing = state === DriftState.MISSING;
    emit(ctx, {
      ...base,
      type: "drift-detected",
      driftState: missing ? "missing" : "drifted",
      message: missing ? `${describeResource(target)} was deleted outside gitfleet` : `${describeResource(target)} drifted: ${fieldSummary(fields, omitted)}`,
      fingerprint: `${state}\0${paths}`,
    });
  } else if (state === DriftState.CONFLICT) {
    if (was === DriftState.CONFLICT) return;
    const managers = managersOf(fields);
    emit(ctx, {
      ...base,
      type: "conflict",
      driftState: "conflict",
      message: `${describeResource(target)} is in conflict: ${managers || "another field manager"} keeps taking back ${fieldPaths(fields, omitted)}; correction backs off`,
      fingerprint: paths,
    });
  } else if (state === DriftState.IN_SYNC && isDrifted(was)) {
    settle(ctx, bundle.name, "drift", target);
  }
}

function settleBundle(ctx: Context, bundle: BundleStatus): void {
  for (const resource of bundle.resources) {
    if (isDrifted(resource.driftState)) settle(ctx, bundle.name, "drift", toResource(resource));
  }
  if (bundle.sync === SyncState.FAILED) settle(ctx, bundle.name, "sync");
  if (bundle.health === HealthState.DEGRADED) settle(ctx, bundle.name, "health");
}

interface Draft extends Omit<FleetEvent, "id" | "time" | "cluster"> {
  /** What makes this state this state, for the id. */
  fingerprint: string;
}

function emit(ctx: Context, draft: Draft): void {
  const { fingerprint, ...event } = draft;
  const key = event.resource ? resourceKey(event.resource) : "";
  ctx.out.events.push({
    id: fleetEventId(ctx.cluster.id, event.type, event.bundle ?? "", key, fingerprint, ctx.time),
    time: ctx.time,
    cluster: ctx.cluster,
    ...event,
  });
}

function settle(ctx: Context, bundle: string, aspect: SettledMark["aspect"], resource?: FleetEventResource): void {
  const key = resource ? resourceKey(resource) : "";
  ctx.out.settled.push({
    id: fleetEventId(ctx.cluster.id, "settled", aspect, bundle, key, ctx.time),
    time: ctx.time,
    cluster: ctx.cluster,
    bundle,
    aspect,
    ...(resource ? { resource } : {}),
  });
}

const isDrifted = (state: DriftState): boolean =>
  state === DriftState.DRIFTED || state === DriftState.MISSING || state === DriftState.CONFLICT;

const keyOf = (r: ResourceStatus): string => `${r.group}/${r.kind}/${r.namespace}/${r.name}`;

const pathsOf = (r: ResourceStatus): string => r.drift.map((f) => f.path).sort().join("\n");

function toResource(r: ResourceStatus): FleetEventResource {
  return { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, namespace: r.namespace, name: r.name };
}

function toField(f: DriftedField): FleetEventField {
  return boundedField({ path: f.path, desired: f.desired, live: f.live, manager: f.manager, redacted: f.redacted, truncated: f.truncated });
}

function managersOf(fields: readonly FleetEventField[]): string {
  return [...new Set(fields.map((f) => f.manager).filter((m) => m))].sort().join(", ");
}

function fieldPaths(fields: readonly FleetEventField[], omitted: number): string {
  const shown = fields.slice(0, 3).map((f) => f.path);
  const more = fields.length - shown.length + omitted;
  return `${shown.join(", ") || "its fields"}${more > 0 ? ` and ${more} more` : ""}`;
}

function fieldSummary(fields: readonly FleetEventField[], omitted: number): string {
  const managers = managersOf(fields);
  return `${fieldPaths(fields, omitted)}${managers ? ` changed by ${managers}` : ""}`;
}

function degradedDetail(bundle: BundleStatus): string {
  const degraded = bundle.resources.filter((r) => r.health === HealthState.DEGRADED);
  const first = degraded[0];
  if (!first) return bundle.message ? `: ${boundedText(bundle.message, 300)}` : "";
  const more = degraded.length > 1 ? ` (and ${degraded.length - 1} more)` : "";
  return `: ${describeResource(toResource(first))}${first.message ? `: ${boundedText(first.message, 300)}` : ""}${more}`;
}

function healthName(health: HealthState): string {
  return (HealthState[health] ?? "unknown").toLowerCase();
}

function short(revision: string): string {
  return revision ? revision.slice(0, 12) : "an unknown revision";
}

