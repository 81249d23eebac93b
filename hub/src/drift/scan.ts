// One pass over the selected clusters: picks drifted objects by the query's filters and counts
// the totals of the whole result, exactly, while the caller keeps what it needs. A filter on
// drift states alone is counted from each cluster's counts, without walking its objects. Pure.
import { matchesSelector, type Selector } from "../labels/selector.js";
import { staleSince } from "../store/clusters.js";
import { driftStateNames, type DriftObject, type DriftStateName, type StateCounts, type StatusEntry } from "./entries.js";

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

/** A cluster as the index holds it. */
export interface ScannedCluster {
  id: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** When the agent was last heard from, or undefined when it never was. */
  lastSeenMs: number | undefined;
  status: StatusEntry | undefined;
}

/** When a scan looks: staleness is read at one instant for the whole answer. */
export interface ScanClock {
  nowMs: number;
  staleAfterMs: number;
}

/** What a scan reports to its caller. */
export interface ScanVisitor {
  /** Each selected object, in order, while `wantsObjects` (default: always) says so. */
  object(cluster: ScannedCluster, object: DriftObject, stale: boolean): void;
  wantsObjects?(): boolean;
  /**
   * When given, a cluster whose objects the filter selects by drift state alone is reported here,
   * with its counts of selected objects per state, instead of object by object.
   */
  counts?(cluster: ScannedCluster, counts: StateCounts, stale: boolean): void;
}

/** True when `cluster` is stale at `clock`'s instant. */
export function scannedStale(cluster: ScannedCluster, clock: ScanClock): boolean {
  return staleSince(cluster.lastSeenMs, clock.nowMs, clock.staleAfterMs);
}

/** The clusters of `clusters` (in their order) whose labels `selector` matches; all without one. */
export function selectClusters<T extends ScannedCluster>(clusters: readonly T[], selector: Selector | undefined): readonly T[] {
  return selector ? clusters.filter((c) => matchesSelector(selector, c.labels)) : clusters;
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

const byStateOnly = (f: DriftFilter): boolean =>
  f.bundle === undefined && f.kind === undefined && f.namespace === undefined && f.name === undefined && f.manager === undefined && f.sinceMs === undefined;

function selectedCounts(counts: StateCounts, states: DriftFilter["states"]): StateCounts {
  if (!states) return counts;
  const out: StateCounts = { drifted: 0, missing: 0, conflict: 0 };
  for (const state of driftStateNames) if (states.has(state)) out[state] = counts[state];
  return out;
}

/**
 * Reports every object of `clusters` (already selected by label, in order) that `filter` selects
 * to `visitor`, and returns the totals of all of them.
 */
export function scanDrift(clusters: readonly ScannedCluster[], filter: DriftFilter, clock: ScanClock, visitor: ScanVisitor): DriftTotals {
  const totals: DriftTotals = { clusters: clusters.length, clustersDrifted: 0, objectsDrifted: 0, clustersStale: 0 };
  const countable = byStateOnly(filter);
  for (const cluster of clusters) {
    const stale = scannedStale(cluster, clock);
    if (stale) totals.clustersStale++;
    const status = cluster.status;
    if (!status) continue;
    let found = 0;
    if (countable && (visitor.counts || visitor.wantsObjects?.() === false)) {
      const counts = selectedCounts(status.counts, filter.states);
      found = counts.drifted + counts.missing + counts.conflict;
      if (found > 0) visitor.counts?.(cluster, counts, stale);
    } else {
      for (const object of status.objects) {
        if (!objectMatches(filter, object)) continue;
        found++;
        visitor.object(cluster, object, stale);
      }
    }
    if (found > 0) totals.clustersDrifted++;
    totals.objectsDrifted += found;
  }
  return totals;
}
