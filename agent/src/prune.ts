import { HealthState, SyncState } from "@gitfleet/proto";
import type { Logger } from "pino";
import { describeFailure, failedResource } from "./bundle-result.js";
import type { ResourceResult } from "./bundle-result.js";
import { selectPrunable } from "./inventory.js";
import type { KubeClient } from "./kube-client.js";
import { BUNDLE_ANNOTATION, formatRef } from "./kube-objects.js";
import type { ObjectRef } from "./kube-objects.js";
import { selfRefReason } from "./self-guard.js";
import type { AgentSelf } from "./self-guard.js";

/** Options of {@link pruneObjects}. */
export interface PruneOptions {
  kube: KubeClient;
  bundle: string;
  /** What the bundle applied before; only these objects may be deleted. Empty disables pruning. */
  inventory: readonly ObjectRef[];
  /** What the bundle holds now. */
  desired: readonly ObjectRef[];
  claimedElsewhere: ReadonlySet<string>;
  /** The agent's own objects: never deleted, whatever the inventory lists. */
  self: AgentSelf;
  logger: Logger;
}

/** What pruning did: a result per object, and the objects that must stay in the inventory. */
export interface PruneOutcome {
  results: ResourceResult[];
  /** Objects whose deletion failed; they stay in the inventory to be pruned on the next pass. */
  kept: ObjectRef[];
}

/**
 * Deletes the objects that left the bundle: those in its inventory, no longer desired and not
 * claimed by another bundle. A live object annotated as another bundle's is left alone (it
 * moved there), an object already gone counts as pruned, and the agent's own objects (its
 * namespace, identity, inventories, Lease, RBAC) are never deleted.
 */
export async function pruneObjects(options: PruneOptions): Promise<PruneOutcome> {
  const { kube, logger } = options;
  const results: ResourceResult[] = [];
  const kept: ObjectRef[] = [];
  const candidates = selectPrunable({
    inventory: options.inventory,
    desired: options.desired,
    claimedElsewhere: options.claimedElsewhere,
  });
  for (const ref of candidates) {
    const own = selfRefReason(options.self, ref);
    if (own !== undefined) {
      // An inventory written by an older agent, or edited: dropped from it, never deleted.
      logger.warn({ bundle: options.bundle, object: formatRef(ref) }, `not pruning ${own}`);
      continue;
    }
    try {
      const live = await kube.get(ref);
      const owner = live?.metadata.annotations?.[BUNDLE_ANNOTATION];
      if (live && owner !== undefined && owner !== options.bundle) {
        logger.info({ bundle: options.bundle, object: formatRef(ref), owner }, "not pruning an object another bundle owns now");
        continue;
      }
      if (live) await kube.delete(ref);
      logger.info({ bundle: options.bundle, object: formatRef(ref) }, "pruned");
      results.push({ ref, sync: SyncState.PRUNED, health: HealthState.MISSING, message: "pruned: no longer in the bundle" });
    } catch (error) {
      kept.push(ref);
      results.push(failedResource(ref, `prune: ${describeFailure(ref, error)}`));
    }
  }
  return { results, kept };
}
