// The BundlePayload the agent applies: a bundle's objects for one cluster and the bundle's policy,
// with the digest the pointer names. Pure.
import { BundlePayloadSchema, DriftMode, create, digest, toBinary } from "@gitfleet/proto";
import type { ResolvedBundle } from "../resolution.js";
import type { RenderedObject } from "../render/index.js";
import type { BundleSpec, IgnoreRuleSpec } from "../fleet/index.js";

/** Builds the payload of `bundle` from its objects and computes its digest. */
export function bundlePayload(bundle: BundleSpec, where: { target: string; overlay: string }, objects: readonly RenderedObject[]): ResolvedBundle {
  const payload = create(BundlePayloadSchema, {
    name: bundle.name,
    objects: objects.map((object) => object.json),
    policy: {
      drift: bundle.drift === "report" ? DriftMode.REPORT : DriftMode.CORRECT,
      // Older agents read only `ignore`: it holds the rules that apply to every object.
      ignore: bundle.ignore.filter((rule) => !isScoped(rule)).map((rule) => rule.path),
      ignoreRules: bundle.ignore.map((rule) => ({
        path: rule.path,
        group: rule.group ?? "",
        kind: rule.kind ?? "",
        namespace: rule.namespace ?? "",
        name: rule.name ?? "",
      })),
      prune: bundle.prune,
      namespace: bundle.namespace ?? "",
    },
  });
  const bytes = toBinary(BundlePayloadSchema, payload);
  return { name: bundle.name, target: where.target, overlay: where.overlay, payload, digest: digest(bytes), size: bytes.byteLength };
}

function isScoped(rule: IgnoreRuleSpec): boolean {
  return rule.group !== undefined || rule.kind !== undefined || rule.namespace !== undefined || rule.name !== undefined;
}
