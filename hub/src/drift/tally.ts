// The fleet counted for metrics: clusters by state, bundles by sync and health, drifted objects by
// drift state. Read at scrape time from the index, so it costs O(clusters + bundles) per scrape
// and nothing per status write. Pure.
import { HealthState, SyncState } from "@gitfleet/proto";
import { driftStateNames, type StateCounts } from "./entries.js";
import { scannedStale, type ScanClock, type ScannedCluster } from "./scan.js";

/** A cluster's state as metrics count it; see {@link clusterState}. */
export type ClusterState = "synced" | "out-of-sync" | "failed" | "pending" | "stale";

/** Every {@link ClusterState}, so that a state with no cluster is still exported as 0. */
export const clusterStates: readonly ClusterState[] = ["synced", "out-of-sync", "failed", "pending", "stale"];

/** The counts metrics export. Keys of `bundles` are `sync` and `health` joined by a tab. */
export interface FleetTally {
  clusters: Record<ClusterState, number>;
  bundles: Map<string, number>;
  drifted: StateCounts;
}

/** SyncState.OUT_OF_SYNC -> "out-of-sync" (the API's spelling). */
function enumLabel(names: Record<number, string>, value: number): string {
  return (names[value] ?? "UNSPECIFIED").toLowerCase().replaceAll("_", "-");
}

/**
 * A cluster's state: `stale` when not heard from for the stale limit (or never), `pending` before
 * its first status, `failed` when a bundle failed to apply, `out-of-sync` when any other bundle is
 * not synced, else `synced` (a cluster without bundles is synced).
 */
export function clusterState(cluster: ScannedCluster, clock: ScanClock): ClusterState {
  if (scannedStale(cluster, clock)) return "stale";
  const status = cluster.status;
  if (!status) return "pending";
  if (status.bundles.some((b) => b.sync === SyncState.FAILED)) return "failed";
  if (status.bundles.some((b) => b.sync !== SyncState.SYNCED)) return "out-of-sync";
  return "synced";
}

/** Counts `clusters` (those with a record). A stale cluster's bundles count as sync and health "unknown", as the API shows them. */
export function tallyFleet(clusters: Iterable<ScannedCluster>, clock: ScanClock): FleetTally {
  const tally: FleetTally = {
    clusters: { synced: 0, "out-of-sync": 0, failed: 0, pending: 0, stale: 0 },
    bundles: new Map(),
    drifted: { drifted: 0, missing: 0, conflict: 0 },
  };
  for (const cluster of clusters) {
    const state = clusterState(cluster, clock);
    tally.clusters[state]++;
    const status = cluster.status;
    if (!status) continue;
    for (const bundle of status.bundles) {
      const key = state === "stale" ? "unknown\tunknown" : `${enumLabel(SyncState, bundle.sync)}\t${enumLabel(HealthState, bundle.health)}`;
      tally.bundles.set(key, (tally.bundles.get(key) ?? 0) + 1);
    }
    for (const name of driftStateNames) tally.drifted[name] += status.counts[name];
  }
  return tally;
}
