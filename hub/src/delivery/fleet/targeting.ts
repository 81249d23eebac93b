// Which bundles go to which cluster, and through which target: for each bundle the first target
// whose selector matches the cluster's labels; a cluster that matches none gets nothing of that
// bundle. Pure.
import type { BundleSpec, FleetSpec, TargetSpec } from "./fleet-file.js";
import { matchesClusterSelector } from "./selector.js";
import type { ClusterRef } from "../snapshot.js";

/** One bundle aimed at one cluster through one of its targets. */
export interface BundleTarget {
  readonly bundle: BundleSpec;
  readonly target: TargetSpec;
}

/** The target of `bundle` that takes a cluster with `labels` (first match), or undefined. */
export function targetOf(bundle: BundleSpec, labels: Readonly<Record<string, string>>): TargetSpec | undefined {
  return bundle.targets.find((target) => matchesClusterSelector(target.clusterSelector, labels));
}

/** The bundles of `fleet` that `cluster` gets, each with its target, in fleet.yaml order. */
export function targetsFor(fleet: FleetSpec, cluster: ClusterRef): BundleTarget[] {
  const out: BundleTarget[] = [];
  for (const bundle of fleet.bundles) {
    const target = targetOf(bundle, cluster.labels);
    if (target !== undefined) out.push({ bundle, target });
  }
  return out;
}

