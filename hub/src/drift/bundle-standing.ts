// A bundle in one cluster measured against what the hub wants: the one definition of "applied",
// "synced" and "healthy" that the bundles API and the promotion gates share. Pure.
import { HealthState, SyncState } from "@gitfleet/proto";
import type { IndexedBundle } from "./entries.js";

/** How a cluster's bundle stands against the hub's desired digest. */
export interface BundleStanding {
  /** The cluster reported the desired digest (whatever the outcome of applying it). */
  applied: boolean;
  /** Applied, applied successfully, and the cluster is not stale. */
  synced: boolean;
  /** Synced, healthy, and its health was assessed at the revision it applied. */
  healthy: boolean;
}

/**
 * Where `bundle` (as the cluster last reported it) stands against `desiredDigest` (undefined
 * while the hub cannot render the bundle for the cluster). A stale cluster is never synced or healthy.
 */
export function bundleStanding(desiredDigest: string | undefined, bundle: IndexedBundle | undefined, stale: boolean): BundleStanding {
  const applied = bundle !== undefined && desiredDigest !== undefined && bundle.digest === desiredDigest;
  const synced = applied && !stale && bundle.sync === SyncState.SYNCED;
  const healthy = synced && bundle.health === HealthState.HEALTHY && bundle.healthRevision === bundle.revision;
  return { applied, synced, healthy };
}
