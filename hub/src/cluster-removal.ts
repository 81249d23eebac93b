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
  /** Revokes the cluster's NATS user at once; without it the user lasts until its JWT expires. */
  revokeNatsUser?: ((userPublicKey: string) => Promise<void>) | undefined;
}

/**
 * Returns the function that removes a cluster: the record goes first (its gRPC
 * token is refused from then on, and every replica closes its stream when the
 * watch delivers the deletion), then its NATS user is revoked (when the hub is
 * given the operator signing key and a system account user), then its status
 * and its desired state keys go. Without revocation the NATS user JWT lasts
 * until `credentialsExpireAt` and reads an empty key space.
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
  const revoke = options.revokeNatsUser;
  return async (cluster) => {
    const deleted = await clusters.delete(cluster.id);
    let revoked = false;
    if (revoke) {
      try {
        await revoke(cluster.natsUserPublicKey);
        revoked = true;
        logger.info({ cluster: cluster.name, clusterId: cluster.id, natsUser: cluster.natsUserPublicKey }, "revoked the deleted cluster's NATS user");
      } catch (err) {
        logger.error(
          { cluster: cluster.name, clusterId: cluster.id, err },
          `revoking the deleted cluster's NATS user failed; it can read its (now purged) desired state until ${deleted.credentialsExpireAt ?? "its JWT expires"}`,
        );
      }
    } else {
      logger.warn(
        { cluster: cluster.name, clusterId: cluster.id, natsCredentialsValidUntil: deleted.credentialsExpireAt },
        "NATS revocation is not configured: the deleted cluster's NATS user can still connect and read its (now purged) desired state until its JWT expires",
      );
    }
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
      note: revoked
        ? "The cluster record, its status and its desired state are gone, its stream is closed, its gRPC token is refused and its NATS user is revoked (natsCredentialsValidUntil is when its JWT would have expired)."
        : "The cluster record, its status and its desired state are gone, its stream is closed and its gRPC token is refused. " +
          "Its NATS user JWT expires on its own at natsCredentialsValidUntil; until then it can only read this cluster's now empty key space.",
    };
  };
}
