// Keeps a drift index current from the hub's stores: cluster records for names, labels and
// last contact, and the status store's changes (local writes and the watch) for drift.
import type { ClusterStore } from "../store/clusters.js";
import type { StatusStore } from "../store/status.js";
import type { DriftIndex } from "./drift-index.js";

/** The stores a drift index follows. */
export interface DriftSources {
  clusters: Pick<ClusterStore, "list" | "subscribe">;
  status: Pick<StatusStore, "subscribe">;
}

/**
 * Feeds `index` from `sources` until the returned function is called. Subscribe right after the
 * stores are created, before they load, so the initial load reaches the index too.
 */
export function feedDriftIndex(index: DriftIndex, sources: DriftSources): () => void {
  const stopClusters = sources.clusters.subscribe((change) => {
    if (change.type === "removed") index.removeCluster(change.cluster.id);
    else index.putCluster(change.cluster);
  });
  const stopStatus = sources.status.subscribe(({ clusterId, report }) => index.putStatus(clusterId, report));
  for (const cluster of sources.clusters.list()) index.putCluster(cluster);
  return () => {
    stopClusters();
    stopStatus();
  };
}
