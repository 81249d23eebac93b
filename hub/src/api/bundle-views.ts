// The bundles API's views: each bundle of the last good commit with its targets, the clusters
// each target took, and per cluster what the hub wants (desired digest, delivery errors) next to
// what the agent reports (applied digest, sync, health). A stale cluster is never shown synced
// or healthy. Pure.
import { SyncState } from "@gitfleet/proto";
import type { BundleError, FleetBundle } from "../delivery-contract.js";
import { bundleStanding, type IndexedBundle } from "../drift/index.js";
import type { BundleDetail, BundleSummary } from "./schemas.js";
import { enumName, shownState } from "./status-views.js";
import { bundleErrorView } from "./views.js";

/** What the bundle views read about clusters. */
export interface BundleViewSources {
  /** The cluster's name, or undefined when it no longer exists. */
  clusterName(clusterId: string): string | undefined;
  /** The bundle's state as the cluster last reported it. */
  bundle(clusterId: string, name: string): IndexedBundle | undefined;
  /** The cluster was not heard from for three heartbeats. */
  stale(clusterId: string): boolean;
  errors(clusterId: string): readonly BundleError[];
}

type ClusterState = BundleDetail["clusters"][number];

/** The bundle with its targets and a count of its clusters by state. */
export function bundleSummary(bundle: FleetBundle, sources: BundleViewSources): BundleSummary {
  return summaryOf(bundle, sources, clusterStates(bundle, sources));
}

/** The bundle with the state of each of its clusters, sorted by cluster name. */
export function bundleDetail(bundle: FleetBundle, commit: string, sources: BundleViewSources): BundleDetail {
  const clusters = clusterStates(bundle, sources);
  return { ...summaryOf(bundle, sources, clusters), commit, clusters };
}

function summaryOf(bundle: FleetBundle, sources: BundleViewSources, clusters: readonly ClusterState[]): BundleSummary {
  const states: Record<string, number> = {};
  for (const cluster of clusters) states[cluster.state] = (states[cluster.state] ?? 0) + 1;
  return {
    name: bundle.name,
    path: bundle.path,
    ...(bundle.namespace !== undefined ? { namespace: bundle.namespace } : {}),
    drift: bundle.drift,
    prune: bundle.prune,
    ignore: bundle.ignore.map((rule) => (typeof rule === "string" ? rule : { ...rule })),
    targets: bundle.targets.map((target) => ({
      name: target.name,
      clusterSelector: target.clusterSelector,
      overlay: target.overlay,
      variables: { ...target.variables },
      clusters: target.clusters.flatMap((c) => sources.clusterName(c.clusterId) ?? []).sort(),
    })),
    clusterCount: clusters.length,
    states,
  };
}

function clusterStates(bundle: FleetBundle, sources: BundleViewSources): ClusterState[] {
  const out: ClusterState[] = [];
  for (const target of bundle.targets) {
    for (const { clusterId, desiredDigest } of target.clusters) {
      const name = sources.clusterName(clusterId);
      if (name === undefined) continue;
      const errors = sources.errors(clusterId).filter((e) => e.bundle === bundle.name);
      const status = sources.bundle(clusterId, bundle.name);
      const stale = sources.stale(clusterId);
      const { applied } = bundleStanding(desiredDigest, status, stale);
      const state = errors.length > 0 ? "error" : stale ? "stale" : applied && status ? enumName(SyncState, status.sync) : "pending";
      out.push({
        name,
        id: clusterId,
        target: target.name,
        state,
        ...(desiredDigest !== undefined ? { desiredDigest } : {}),
        ...(status !== undefined
          ? { digest: status.digest, revision: status.revision, ...shownState(status.sync, status.health, stale), message: status.message }
          : {}),
        errors: errors.map(bundleErrorView),
      });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
