// What resolving gives per cluster: the bundles that resolved (payload and digest), the ones that
// failed and why, and which target each came from. Produced by resolve.ts, consumed by the
// publisher and the API; types only.
import type { BundlePayload } from "@gitfleet/proto";
import type { DeliveryErrorReason } from "./errors.js";

/** One bundle resolved for a cluster: the payload the agent applies and its digest. */
export interface ResolvedBundle {
  readonly name: string;
  /** The target of the bundle the cluster matched. */
  readonly target: string;
  /** The overlay folder it was rendered from. */
  readonly overlay: string;
  readonly payload: BundlePayload;
  /** sha256 (hex) of the encoded, uncompressed payload (BundleRef.digest). */
  readonly digest: string;
  /** Size of the encoded, uncompressed payload in bytes. */
  readonly size: number;
}

/** Why one bundle could not be resolved for a cluster at one commit; it fails only itself. */
export interface BundleFailure {
  readonly bundle: string;
  /** The target the cluster matched. */
  readonly target: string;
  /** The overlay folder in the repository. */
  readonly path: string;
  readonly commit: string;
  readonly reason: DeliveryErrorReason;
  /** What went wrong and where (file:line, object and field). */
  readonly message: string;
  readonly file?: string | undefined;
  readonly line?: number | undefined;
}

/** Which target of a bundle a cluster matched. */
export interface BundleAssignment {
  readonly bundle: string;
  readonly target: string;
  readonly overlay: string;
}

/** Everything one cluster should get at one commit. */
export interface ClusterResolution {
  readonly clusterId: string;
  /** Bundles that resolved, in fleet.yaml order. */
  readonly bundles: readonly ResolvedBundle[];
  /** Bundles aimed at this cluster that failed; the publisher keeps their last good state. */
  readonly errors: readonly BundleFailure[];
  /** Every bundle aimed at this cluster (resolved or failed), with its target. */
  readonly assignments: readonly BundleAssignment[];
}
