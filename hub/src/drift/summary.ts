// Drift counted per cluster, bundle, kind or field manager, over the same filters as a query.
// Pure.
import { compareText, type DriftObject, type StateCounts } from "./entries.js";
import { scanDrift, type DriftFilter, type DriftTotals, type ScanClock, type ScannedCluster } from "./scan.js";

/** What a summary groups by. */
export type DriftGroupBy = "cluster" | "bundle" | "kind" | "manager";

/** Every {@link DriftGroupBy}. */
export const driftGroupBys: readonly DriftGroupBy[] = ["cluster", "bundle", "kind", "manager"];

/** The counts of one group. */
export interface DriftGroup {
  /** The cluster name, bundle, kind or manager ("" for fields no manager owns, and missing objects). */
  key: string;
  /** Clusters with at least one object in the group. */
  clusters: number;
  objects: number;
  drifted: number;
  missing: number;
  conflict: number;
}

/** Answer of a summary: groups sorted by key, and the totals of the whole result. */
export interface DriftSummary {
  groupBy: DriftGroupBy;
  groups: DriftGroup[];
  totals: DriftTotals;
}

const keysOf: Record<DriftGroupBy, (cluster: ScannedCluster, o: DriftObject) => readonly string[]> = {
  cluster: (cluster) => [cluster.name],
  bundle: (_, o) => [o.bundle],
  kind: (_, o) => [o.resource.kind],
  // An object whose fields several managers changed counts once under each of them.
  manager: (_, o) => (o.managers.length > 0 ? o.managers : [""]),
};

/** Counts what `filter` selects in `clusters` (selected by label already), grouped by `groupBy`. */
export function summarizeDrift(clusters: readonly ScannedCluster[], filter: DriftFilter, clock: ScanClock, groupBy: DriftGroupBy): DriftSummary {
  const groups = new Map<string, DriftGroup & { lastCluster: string }>();
  const groupOf = (key: string, cluster: ScannedCluster): DriftGroup => {
    let group = groups.get(key);
    if (!group) {
      group = { key, clusters: 0, objects: 0, drifted: 0, missing: 0, conflict: 0, lastCluster: "" };
      groups.set(key, group);
    }
    // The scan visits one cluster's objects together, so a cluster is new to a group once.
    if (group.lastCluster !== cluster.id) {
      group.lastCluster = cluster.id;
      group.clusters++;
    }
    return group;
  };
  const totals = scanDrift(clusters, filter, clock, {
    object(cluster, object) {
      for (const key of keysOf[groupBy](cluster, object)) {
        const group = groupOf(key, cluster);
        group.objects++;
        group[object.state]++;
      }
    },
    // Per cluster, the counts are the group.
    ...(groupBy === "cluster"
      ? {
          counts(cluster: ScannedCluster, counts: StateCounts) {
            const group = groupOf(cluster.name, cluster);
            group.objects += counts.drifted + counts.missing + counts.conflict;
            group.drifted += counts.drifted;
            group.missing += counts.missing;
            group.conflict += counts.conflict;
          },
        }
      : {}),
  });
  const sorted = [...groups.values()]
    .sort((a, b) => compareText(a.key, b.key))
    .map(({ key, clusters, objects, drifted, missing, conflict }) => ({ key, clusters, objects, drifted, missing, conflict }));
  return { groupBy, groups: sorted, totals };
}
