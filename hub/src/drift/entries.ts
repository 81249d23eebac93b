// What the drift index keeps of one cluster's status: a small state per bundle and the objects
// that drifted, already in the shape the API shows. Everything in sync is left out, so the
// index grows with the drift, not with the fleet's objects. Pure.
import {
  DriftState,
  timestampDate,
  type BundleStatus,
  type DriftedField,
  type HealthState,
  type ResourceStatus,
  type StatusReport,
  type SyncState,
  type Timestamp,
} from "@gitfleet/proto";
import type { Interner } from "./intern.js";

/** The drift states the index holds (in-sync and unassessed objects are not drift). */
export type DriftStateName = "drifted" | "missing" | "conflict";

/** Every {@link DriftStateName}, in the order the docs list them. */
export const driftStateNames: readonly DriftStateName[] = ["drifted", "missing", "conflict"];

const stateNames: Partial<Record<DriftState, DriftStateName>> = {
  [DriftState.DRIFTED]: "drifted",
  [DriftState.MISSING]: "missing",
  [DriftState.CONFLICT]: "conflict",
};

/** One drifted field as the API shows it; `redacted`/`truncated` only when set. */
export interface DriftFieldView {
  path: string;
  desired: string;
  live: string;
  manager: string;
  redacted?: true;
  truncated?: true;
}

/** A drifted object of one cluster, without the cluster (the index adds it when answering). */
export interface DriftObject {
  bundle: string;
  /** The bundle's revision (the commit its applied payload came from). */
  revision: string;
  group: string;
  resource: { apiVersion: string; kind: string; namespace: string; name: string };
  state: DriftStateName;
  fields: DriftFieldView[];
  /** Drifted fields the agent left out of `fields` to bound its message. */
  fieldsOmitted: number;
  /** Milliseconds since the epoch, or undefined when the agent did not say (for `since`). */
  firstSeenMs: number | undefined;
  /** The same times as the API shows them, made once rather than per answer. */
  firstSeen: string | null;
  lastSeen: string | null;
  corrections: number;
  /** Distinct managers of the fields, for filtering and grouping. */
  managers: readonly string[];
}

/** A bundle's state in one cluster, as the bundles API shows it. */
export interface IndexedBundle {
  name: string;
  digest: string;
  revision: string;
  sync: SyncState;
  health: HealthState;
  healthRevision: string;
  message: string;
  /** Objects drifted, missing or in conflict, as the agent counted them (listed or not). */
  drifted: number;
}

/** A number per drift state. */
export type StateCounts = Record<DriftStateName, number>;

/** What the index holds of one cluster's status. */
export interface StatusEntry {
  bundles: IndexedBundle[];
  /** Sorted by bundle, group, kind, namespace and name. */
  objects: DriftObject[];
  /** How many of `objects` are in each state. */
  counts: StateCounts;
}

const ms = (t: Timestamp | undefined): number | undefined => (t ? timestampDate(t).getTime() : undefined);
const iso = (t: Timestamp | undefined): string | null => (t ? timestampDate(t).toISOString() : null);

function fieldView(f: DriftedField, intern: Interner): DriftFieldView {
  return {
    path: f.path,
    desired: f.desired,
    live: f.live,
    manager: intern(f.manager),
    ...(f.redacted ? { redacted: true as const } : {}),
    ...(f.truncated ? { truncated: true as const } : {}),
  };
}

function driftObject(bundle: BundleStatus, r: ResourceStatus, state: DriftStateName, intern: Interner): DriftObject {
  const fields = r.drift.map((f) => fieldView(f, intern));
  return {
    bundle: intern(bundle.name),
    revision: intern(bundle.revision),
    group: intern(r.group),
    resource: {
      apiVersion: intern(r.group ? `${r.group}/${r.version}` : r.version),
      kind: intern(r.kind),
      namespace: intern(r.namespace),
      name: r.name,
    },
    state,
    fields,
    fieldsOmitted: r.driftFieldsOmitted,
    firstSeenMs: ms(r.driftFirstSeen),
    firstSeen: iso(r.driftFirstSeen),
    lastSeen: iso(r.driftLastSeen),
    corrections: r.corrections,
    managers: [...new Set(fields.map((f) => f.manager))],
  };
}

/** Plain code-unit order, the same in sorting and in cursors. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order of objects within a cluster: bundle, group, kind, namespace, name. */
export function compareObjects(a: DriftObject, b: DriftObject): number {
  return (
    compareText(a.bundle, b.bundle) ||
    compareText(a.group, b.group) ||
    compareText(a.resource.kind, b.resource.kind) ||
    compareText(a.resource.namespace, b.resource.namespace) ||
    compareText(a.resource.name, b.resource.name)
  );
}

/** Builds the index entry of a whole status, in O(its objects). */
export function statusEntry(report: StatusReport, intern: Interner): StatusEntry {
  const objects: DriftObject[] = [];
  const bundles = report.bundles.map((b): IndexedBundle => {
    for (const r of b.resources) {
      const state = stateNames[r.driftState];
      if (state) objects.push(driftObject(b, r, state, intern));
    }
    return {
      name: intern(b.name),
      digest: intern(b.digest),
      revision: intern(b.revision),
      sync: b.sync,
      health: b.health,
      healthRevision: intern(b.healthRevision),
      message: b.message,
      drifted: b.driftedCount,
    };
  });
  const counts: StateCounts = { drifted: 0, missing: 0, conflict: 0 };
  for (const o of objects) counts[o.state]++;
  return { bundles, objects: objects.sort(compareObjects), counts };
}
