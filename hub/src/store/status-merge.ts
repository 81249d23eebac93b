// Turns what an agent reports into the cluster's whole status: partial reports (deltas) are
// merged into the stored one, and drift first seen before an agent restart keeps its time.
// Pure.
import { DriftState, type BundleStatus, type ResourceStatus, type StatusReport, type Timestamp } from "@gitfleet/proto";

/**
 * The whole status after `report`, given the stored whole status `stored`. A whole report
 * replaces it; a partial one replaces the bundles it names and drops its `removed_bundles`,
 * with the cluster-wide fields (revision, generation, conditions, agent) taken from the report.
 * Undefined when the report is partial and there is nothing to merge it into: the caller asks
 * the agent for a whole report instead of storing half a status.
 */
export function mergeStatus(stored: StatusReport | undefined, report: StatusReport): StatusReport | undefined {
  if (report.partial && !stored) return undefined;
  const reported = report.bundles.map((bundle) => keepFirstSeen(bundle, stored?.bundles.find((b) => b.name === bundle.name)));
  let bundles = reported;
  if (report.partial && stored) {
    const changed = new Map(reported.map((b) => [b.name, b]));
    const removed = new Set(report.removedBundles);
    bundles = stored.bundles.flatMap((b) => (removed.has(b.name) ? [] : [changed.get(b.name) ?? b]));
    const known = new Set(stored.bundles.map((b) => b.name));
    bundles.push(...reported.filter((b) => !known.has(b.name) && !removed.has(b.name)));
  }
  return {
    ...report,
    agentVersion: report.agentVersion || (stored?.agentVersion ?? ""),
    kubernetesVersion: report.kubernetesVersion || (stored?.kubernetesVersion ?? ""),
    partial: false,
    removedBundles: [],
    bundles,
  };
}

const drifting = (state: DriftState): boolean => state !== DriftState.UNSPECIFIED && state !== DriftState.IN_SYNC;

/** Same object: apiVersion's group, kind, namespace and name (the version may change). */
export function resourceKey(r: Pick<ResourceStatus, "group" | "kind" | "namespace" | "name">): string {
  return `${r.group}\u0000${r.kind}\u0000${r.namespace}\u0000${r.name}`;
}

const earlier = (a: Timestamp, b: Timestamp): boolean => a.seconds < b.seconds || (a.seconds === b.seconds && a.nanos < b.nanos);

/**
 * A restarted agent sees old drift anew and reports it as first seen now; when the stored status
 * had the object in the same drift state since earlier, that earlier time is kept.
 */
function keepFirstSeen(bundle: BundleStatus, before: BundleStatus | undefined): BundleStatus {
  if (!before || !bundle.resources.some((r) => r.driftFirstSeen && drifting(r.driftState))) return bundle;
  const previous = new Map(before.resources.map((r) => [resourceKey(r), r]));
  let changed = false;
  const resources = bundle.resources.map((r) => {
    const old = previous.get(resourceKey(r));
    if (!r.driftFirstSeen || !drifting(r.driftState) || old?.driftState !== r.driftState || !old.driftFirstSeen) return r;
    if (!earlier(old.driftFirstSeen, r.driftFirstSeen)) return r;
    changed = true;
    return { ...r, driftFirstSeen: old.driftFirstSeen };
  });
  return changed ? { ...bundle, resources } : bundle;
}
