// The `gitfleet_desired` key space (docs/protocol.md, "JetStream layout"), and opening the
// bucket so that agents' direct gets work.
import { messageOf } from "@gitfleet/proto/rules";
import { StorageType, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { PublishError } from "../errors.js";

/** The bucket holding every cluster's desired state. */
export const DESIRED_BUCKET = "gitfleet_desired";

/** A cluster id, bundle name or digest must be one NATS subject token to be part of a key. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** True when `value` can be one token of a KV key (no dots, wildcards or spaces). */
export function isKeyToken(value: string): boolean {
  return TOKEN.test(value);
}

/** `<cluster id>.desired`: the DesiredState pointer of a cluster. */
export function pointerKey(clusterId: string): string {
  return `${token(clusterId, "cluster id")}.desired`;
}

/** `<cluster id>.bundles.<bundle>.<digest>.<index>`: chunk `index` of a bundle payload. */
export function chunkKey(clusterId: string, bundle: string, digest: string, index: number): string {
  return `${chunkPrefix(clusterId, bundle, digest)}.${index}`;
}

/** `<cluster id>.bundles.<bundle>.<digest>`: the keys of one payload's chunks are below it. */
export function chunkPrefix(clusterId: string, bundle: string, digest: string): string {
  return `${token(clusterId, "cluster id")}.bundles.${token(bundle, "bundle name")}.${token(digest, "digest")}`;
}

/** The stream subject of a key in `bucket` (for stream purges by subject filter). */
export function keySubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}

function token(value: string, what: string): string {
  if (!isKeyToken(value)) throw new Error(`${what} ${JSON.stringify(value)} cannot be part of a JetStream key`);
  return value;
}

/** The bucket as the hub uses it: a handle for reads and writes, and the stream manager. */
export interface DesiredBucket {
  readonly kv: KV;
  readonly jsm: JetStreamManager;
  readonly bucket: string;
  readonly stream: string;
}

/**
 * Opens `gitfleet_desired`, creating it with file storage, history 1 and `allow_direct` when it
 * does not exist, and turning `allow_direct` on when an existing bucket lacks it (agents'
 * per-key permissions only work with direct gets). The hub's own handle reads from the stream
 * leader, not through direct get, so the revisions its compare-and-set uses are never stale.
 */
export async function openDesiredBucket(nc: NatsConnection, options: { bucket?: string; replicas?: number } = {}): Promise<DesiredBucket> {
  const bucket = options.bucket ?? DESIRED_BUCKET;
  const stream = `KV_${bucket}`;
  try {
    const kvm = new Kvm(nc);
    const created = await kvm.create(bucket, {
      storage: StorageType.File,
      history: 1,
      replicas: options.replicas ?? 1,
      allow_direct: true,
      description: "gitfleet desired state per cluster: DesiredState pointers and gzip chunks of BundlePayloads",
    });
    const status = await created.status();
    const jsm = await jetstreamManager(nc);
    if (status.streamInfo.config.allow_direct !== true) await jsm.streams.update(stream, { allow_direct: true });
    const kv = await kvm.open(bucket, { allow_direct: false });
    return { kv, jsm, bucket, stream };
  } catch (err) {
    throw new PublishError(undefined, `cannot open JetStream bucket ${bucket}: ${messageOf(err)}`, { cause: err });
  }
}
