// Deleting a cluster: what it held is taken away in an order that leaves no way back in.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { DeletedClusterView } from "./api/schemas.js";
import { bucketNames, isStreamNotFound } from "./store/buckets.js";
import type { ClusterRecord, ClusterStore } from "./store/clusters.js";
import type { StatusStore } from "./store/status.js";

/** Options of {@link createClusterRemover}. */
export interface ClusterRemoverOptions {
  clusters: ClusterStore;
  status: StatusStore;
  jsm: JetStreamManager;
  logger: Logger;
  /** Removes desired state in order with publishing (the delivery part); a direct purge otherwise. */
  purgeDesired?: ((clusterId: string) => Promise<void>) | undefined;
}

/**
 * Returns the function that removes a cluster: the record goes first (its gRPC
 * token is refused from then on, and every replica closes its stream when the
 * watch delivers the deletion), then its status, then its desired state keys.
 * The NATS user JWT cannot be revoked by the hub (that takes an account JWT
 * update); it expires at `credentialsExpireAt` and reads an empty key space.
 */
export function createClusterRemover(options: ClusterRemoverOptions): (cluster: ClusterRecord) => Promise<DeletedClusterView> {
  const { clusters, status, jsm, logger } = options;
  const purgeDirect = async (clusterId: string): Promise<void> => {
    try {
      await jsm.streams.purge(`KV_${bucketNames.desired}`, { filter: `$KV.${bucketNames.desired}.${clusterId}.>` });
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
    }
  };
  const purgeDesired = options.purgeDesired ?? purgeDirect;
  return async (cluster) => {
    const deleted = await clusters.delete(cluster.id);
    const cleanups = await Promise.allSettled([
      status.delete(cluster.id),
      purgeDesired(cluster.id),
    ]);
    for (const result of cleanups) {
      if (result.status === "rejected") {
        logger.warn({ cluster: cluster.name, clusterId: cluster.id, err: result.reason }, "cleanup after deleting a cluster failed");
      }
    }
    return {
      id: deleted.id,
      name: deleted.name,
      natsCredentialsValidUntil: deleted.credentialsExpireAt,
      note:
        "The cluster record, its status and its desired state are gone, its stream is closed and its gRPC token is refused. " +
        "Its NATS user JWT expires on its own at natsCredentialsValidUntil; until then it can only read this cluster's now empty key space.",
    };
  };
}
