import { isCrd, isNamespace } from "./kube-objects.js";
import type { ObjectRef } from "./kube-objects.js";

/**
 * Apply rank of an object: Namespaces (0) before CustomResourceDefinitions (1) before
 * everything else (2), so namespaced objects find their namespace and custom resources their
 * definition.
 */
export function applyRank(ref: Pick<ObjectRef, "group" | "kind">): 0 | 1 | 2 {
  if (isNamespace(ref)) return 0;
  if (isCrd(ref)) return 1;
  return 2;
}

/** Sorts items into apply order; items of equal rank keep the order the bundle gave them. */
export function orderForApply<T>(items: readonly T[], refOf: (item: T) => Pick<ObjectRef, "group" | "kind">): T[] {
  return items
    .map((item, index) => ({ item, index, rank: applyRank(refOf(item)) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.item);
}

/**
 * Sorts items into delete order, the reverse of apply order: custom resources and ordinary
 * objects first, then their CRDs, then Namespaces (whose deletion takes their content along).
 */
export function orderForPrune<T>(items: readonly T[], refOf: (item: T) => Pick<ObjectRef, "group" | "kind">): T[] {
  return items
    .map((item, index) => ({ item, index, rank: applyRank(refOf(item)) }))
    .sort((a, b) => b.rank - a.rank || a.index - b.index)
    .map((entry) => entry.item);
}
