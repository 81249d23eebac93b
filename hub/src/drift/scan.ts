// One pass over the indexed fleet: selects clusters and drifted objects by the query's filters
// and counts the totals of the whole result, exactly, while the caller keeps what it needs.
// Pure.
import { matchesSelector, type Selector } from "../labels/selector.js";
import type { DriftObject, DriftStateName, StatusEntry } from "./entries.js";

/** What a drift query selects; every field left out matches everything. */
export interface DriftFilter {
  selector?: Selector | undefined;
  bundle?: string | undefined;
  /** Compared without regard to case. */
  kind?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  states?: ReadonlySet<DriftStateName> | undefined;
  /** Objects with at least one field last written by this manager. */
  manager?: string | undefined;
  /** Objects whose drift was first seen at or after this time (ms since the epoch). */
  sinceMs?: number | undefined;
}

/** Totals over everything a filter selects. */
export interface DriftTotals {
  /** Clusters the selector matched. */
  clusters: number;
  /** Of those, clusters with at least one selected object. */
  clustersDrifted: number;
  /** Selected objects. */
  objectsDrifted: number;
  /** Clusters the selector matched that are stale (their drift is the last they reported). */
  clustersStale: number;
}

/** A cluster as the scan sees it. */
export interface ScannedCluster {
  id: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  stale: boolean;
  status: StatusEntry | undefined;
}

/** True when `object` passes every object filter of `filter`. */
export function objectMatches(filter: DriftFilter, object: DriftObject): boolean {
  const { resource } = object;
  return (
    (filter.bundle === undefined || object.bundle === filter.bundle) &&
    (filter.kind === undefined || resource.kind.toLowerCase() === filter.kind.toLowerCase()) &&
    (filter.namespace === undefined || resource.namespace === filter.namespace) &&
    (filter.name === undefined || resource.name === filter.name) &&
    (filter.states === undefined || filter.states.has(object.state)) &&
    (filter.manager === undefined || object.managers.includes(filter.manager)) &&
    (filter.sinceMs === undefined || (object.firstSeenMs !== undefined && object.firstSeenMs >= filter.sinceMs))
  );
}

/**
 * Visits every selected object of `clusters` (in their order, objects in theirs) and returns
 * the totals. `visit` sees each object once.
 */
export function scanDrift(
  clusters: Iterable<ScannedCluster>,
  filter: DriftFilter,
  visit: (cluster: ScannedCluster, object: DriftObject) => void,
): DriftTotals {
  const totals: DriftTotals = { clusters: 0, clustersDrifted: 0, objectsDrifted: 0, clustersStale: 0 };
  for (const cluster of clusters) {
    if (filter.selector && !matchesSelector(filter.selector, cluster.labels)) continue;
    totals.clusters++;
    if (cluster.stale) totals.clustersStale++;
    let found = 0;
    for (const object of cluster.status?.objects ?? []) {
      if (!objectMatches(filter, object)) continue;
      found++;
      visit(cluster, object);
    }
    if (found > 0) totals.clustersDrifted++;
    totals.objectsDrifted += found;
  }
  return totals;
}
