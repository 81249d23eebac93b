// Which bundles go to which cluster, and what each cluster's copy of a bundle is rendered from.
// Pure. Today a bundle's clusterSelector decides and every cluster renders the bundle's own
// folder; targets with first-match-wins, overlays and variables will refine BundleTarget.render.
import type { BundleSpec, FleetSpec } from "./fleet-file.js";
import { matchesClusterSelector } from "./selector.js";
import type { ClusterRef } from "./snapshot.js";

/** What one cluster's copy of a bundle is rendered from; equal inputs share one render. */
export interface RenderInputs {
  /** Normalised repository-relative folder. */
  readonly path: string;
  readonly namespace: string | undefined;
}

/** One bundle aimed at one cluster. */
export interface BundleTarget {
  readonly bundle: BundleSpec;
  readonly render: RenderInputs;
}

/** The bundles of `fleet` whose selector matches `cluster`, in fleet.yaml order. */
export function targetsFor(fleet: FleetSpec, cluster: ClusterRef): BundleTarget[] {
  return fleet.bundles
    .filter((bundle) => matchesClusterSelector(bundle.clusterSelector, cluster.labels))
    .map((bundle) => ({ bundle, render: { path: bundle.path, namespace: bundle.namespace } }));
}
