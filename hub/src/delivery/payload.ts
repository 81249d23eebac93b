// The BundlePayload the agent applies: a bundle's objects for one cluster and the bundle's policy,
// with the digest the pointer names. Pure.
import { BundlePayloadSchema, DriftMode, create, digest, toBinary, type BundlePayload } from "@gitfleet/proto";
import type { RenderedObject } from "./bundle-objects.js";
import type { BundleSpec } from "./fleet-file.js";

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

/** Builds the payload of `bundle` from its objects and computes its digest. */
export function bundlePayload(bundle: BundleSpec, where: { target: string; overlay: string }, objects: readonly RenderedObject[]): ResolvedBundle {
  const payload = create(BundlePayloadSchema, {
    name: bundle.name,
    objects: objects.map((object) => object.json),
    policy: {
      drift: bundle.drift === "report" ? DriftMode.REPORT : DriftMode.CORRECT,
      ignore: [...bundle.ignore],
      prune: bundle.prune,
      namespace: bundle.namespace ?? "",
    },
  });
  const bytes = toBinary(BundlePayloadSchema, payload);
  return { name: bundle.name, target: where.target, overlay: where.overlay, payload, digest: digest(bytes), size: bytes.byteLength };
}
