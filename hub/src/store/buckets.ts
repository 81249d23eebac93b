// JetStream KV buckets of the hub (docs/protocol.md, "JetStream layout").
import { messageOf } from "@gitfleet/proto/rules";
import { JetStreamApiCodes, JetStreamApiError, StorageType } from "@nats-io/jetstream";
import type { KV, Kvm } from "@nats-io/kv";
import { HubError } from "../errors.js";

/** Names of the gitfleet buckets; every hub replica and agent agrees on them. */
export const bucketNames = {
  /** Hub secrets: the credential HMAC key and the admin token hash. */
  hub: "gitfleet_hub",
  /** Registration token records, keyed by token id. */
  tokens: "gitfleet_tokens",
  /** Cluster records, keyed by cluster id. */
  clusters: "gitfleet_clusters",
  /** Cluster name reservations, keyed by name: what makes names unique across replicas. */
  clusterNames: "gitfleet_cluster_names",
  /** Latest StatusReport per cluster id. */
  status: "gitfleet_status",
  /** Desired state per cluster; written by the delivery part, read by agents. */
  desired: "gitfleet_desired",
  /** What each notification sink was last sent per object, keyed by sink and object digest. */
  notifyState: "gitfleet_notify_state",
  /** Delivery counters and recent outcomes per notification sink, keyed by sink name. */
  notifySinks: "gitfleet_notify_sinks",
  /** Promotion records, keyed by promotion id (sortable by creation time). */
  promotions: "gitfleet_promotions",
  /** Locks that serialise work across hub replicas, e.g. promotions into one stage, keyed `<pipeline>.<stage>`. */
  locks: "gitfleet_locks",
  /** Pipelines whose auto-promotion an automatic rollback held, keyed `hold.<pipeline>`. */
  pipelineHolds: "gitfleet_pipeline_holds",
} as const;

/** Options of {@link openBucket}. */
export interface OpenBucketOptions {
  /** Values kept per key; 1 unless history helps an operator. */
  history?: number;
  /** JetStream replicas of the bucket's stream (1, 3 or 5). */
  replicas?: number;
  /** Entries older than this expire; kept forever when absent. */
  ttlMs?: number;
  description: string;
}

/**
 * Opens a bucket, creating it with file storage when it does not exist yet.
 * Reads go to the stream leader (no direct get): the hub's compare-and-set
 * updates want the latest revision, not a possibly stale replica's.
 */
export async function openBucket(kvm: Kvm, name: string, options: OpenBucketOptions): Promise<KV> {
  try {
    return await kvm.create(name, {
      storage: StorageType.File,
      history: options.history ?? 1,
      replicas: options.replicas ?? 1,
      description: options.description,
      ...(options.ttlMs !== undefined ? { ttl: options.ttlMs } : {}),
      allow_direct: false,
    });
  } catch (err) {
    throw new HubError("unavailable", `cannot open JetStream bucket ${name}: ${messageOf(err)}`, { cause: err });
  }
}

/** True when a KV write failed its compare-and-set on the key's revision. */
export function isRevisionConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** True when a JetStream call failed because the stream does not exist. */
export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

/** Wraps a failed NATS call in a HubError that names the operation. */
export function storeError(what: string, err: unknown): HubError {
  if (err instanceof HubError) return err;
  return new HubError("unavailable", `${what}: ${messageOf(err)}`, { cause: err });
}
