import { describeFailure, failedResource } from "./bundle-result.js";
import type { ResourceResult } from "./bundle-result.js";
import type { DesiredBundle } from "./desired-state.js";
import { crdDefinition, isCrd, prepareForApply, refKey, refOf } from "./kube-objects.js";
import type { CrdDefinition, KubeObject, ObjectRef } from "./kube-objects.js";
import type { KubeClient } from "./kube-client.js";
import { applyRank, orderForApply } from "./ordering.js";
import { selfObjectReason } from "./self-guard.js";
import type { AgentSelf } from "./self-guard.js";

/** One object of a bundle, ready to apply. */
export interface PlannedObject {
  /** The object's reference, with its namespace filled in. */
  ref: ObjectRef;
  /** The object as it will be sent: namespace set, owning bundle annotated. */
  object: KubeObject;
  rank: 0 | 1 | 2;
  /** The CRD of this bundle that defines the object's kind, if one does. */
  definedBy?: CrdDefinition;
  /**
   * False for a custom resource whose CRD (in this bundle) is not served yet: the API server
   * cannot validate it before that CRD is established.
   */
  served: boolean;
}

/** A bundle's objects in apply order, or the reasons it cannot be applied at all. */
export interface BundlePlan {
  objects: PlannedObject[];
  /** Objects that cannot be applied as given (unknown kind, duplicate); empty when none. */
  problems: ResourceResult[];
  /** CRDs the bundle defines. */
  crds: CrdDefinition[];
}

/** Options of {@link planBundle}. */
export interface PlanBundleOptions {
  kube: KubeClient;
  bundle: DesiredBundle;
  /** The agent's own objects, which the bundle may not hold. */
  self: AgentSelf;
}

/**
 * Orders a bundle's objects (Namespaces, CRDs, the rest), fills in namespaces from the
 * bundle's default (or "default") for namespaced kinds, and finds objects that cannot be
 * applied: kinds the API server does not serve and no CRD of the bundle defines, objects
 * listed twice, and the agent's own objects (its identity, inventories, Lease, RBAC, namespace).
 * Any problem refuses the whole bundle. Discovery answers come from the client's cache after the first call.
 */
export async function planBundle(options: PlanBundleOptions): Promise<BundlePlan> {
  const { kube, bundle } = options;
  const crds = bundle.objects
    .filter((o) => isCrd(refOf(o)))
    .map(crdDefinition)
    .filter((d): d is CrdDefinition => d !== undefined);
  const byKind = new Map(crds.map((d) => [`${d.group}|${d.kind}`, d]));
  const defaultNamespace = bundle.policy.namespace || "default";
  const seen = new Set<string>();
  const objects: PlannedObject[] = [];
  const problems: ResourceResult[] = [];

  for (const original of bundle.objects) {
    const declared = refOf(original);
    const definedBy = byKind.get(`${declared.group}|${declared.kind}`);
    const discovered = await kube.isNamespaced(original.apiVersion, original.kind);
    const namespaced = discovered ?? definedBy?.namespaced;
    if (namespaced === undefined) {
      problems.push(
        failedResource(
          declared,
          describeFailure(declared, `the API server does not serve ${original.kind} in ${original.apiVersion}, and no CRD of the bundle defines it`),
        ),
      );
      continue;
    }
    const object = prepareForApply(original, { namespaced, defaultNamespace, bundle: bundle.name });
    const ref = refOf(object);
    const own = selfObjectReason(options.self, object);
    if (own !== undefined) {
      problems.push(failedResource(ref, describeFailure(ref, `refused: it is ${own}, which no bundle may change; remove it from the bundle`)));
      continue;
    }
    const key = refKey(ref);
    if (seen.has(key)) {
      problems.push(failedResource(ref, describeFailure(ref, "is listed twice in the bundle")));
      continue;
    }
    seen.add(key);
    objects.push({
      ref,
      object,
      rank: applyRank(ref),
      served: discovered !== undefined,
      ...(definedBy ? { definedBy } : {}),
    });
  }
  return { objects: orderForApply(objects, (o) => o.ref), problems, crds };
}
