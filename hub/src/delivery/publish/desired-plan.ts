// Deciding what a cluster's next DesiredState pointer holds, from the pointer it has and what
// resolved now. Pure, so the rules (skip when unchanged, keep the last good bundle of a failed
// render, drop bundles no longer aimed at the cluster) are tested without a server.
import type { BundleRef, DesiredState } from "@gitfleet/proto";
import type { ClusterResolution, ResolvedBundle } from "../resolution.js";

/** What to do for one cluster. */
export interface PointerPlan {
  /** Refs of the current pointer that stay as they are (same digest, or a failed render). */
  readonly keep: readonly BundleRef[];
  /** Bundles whose payload is new for this cluster: chunks to write, refs to make. */
  readonly write: readonly ResolvedBundle[];
  /** Refs of the current pointer that the next one drops; their chunks go after it is written. */
  readonly stale: readonly BundleRef[];
  /** True when the pointer exists and the set of (bundle, digest) would not change. */
  readonly unchanged: boolean;
}

/** Plans the next pointer for `resolution`, given the cluster's `current` pointer (if any). */
export function planPointer(current: DesiredState | undefined, resolution: ClusterResolution): PointerPlan {
  const previous = new Map((current?.bundles ?? []).map((ref) => [ref.name, ref]));
  const keep: BundleRef[] = [];
  const write: ResolvedBundle[] = [];
  for (const bundle of resolution.bundles) {
    const ref = previous.get(bundle.name);
    if (ref?.digest === bundle.digest) keep.push(ref);
    else write.push(bundle);
  }
  for (const error of resolution.errors) {
    // The last good payload stays; the error is reported, not published.
    const ref = previous.get(error.bundle);
    if (ref !== undefined) keep.push(ref);
  }
  const next = new Set([...keep.map((ref) => refKey(ref)), ...write.map((bundle) => refKey(bundle))]);
  const stale = (current?.bundles ?? []).filter((ref) => !next.has(refKey(ref)));
  const unchanged = current !== undefined && write.length === 0 && stale.length === 0;
  return { keep, write, stale, unchanged };
}

function refKey(ref: { name: string; digest: string }): string {
  return `${ref.name}\0${ref.digest}`;
}
