// Publishing: per-cluster desired state into JetStream KV as chunks plus a pointer, written
// only where the digest changed.
export { DESIRED_BUCKET, chunkKey, openDesiredBucket, pointerKey } from "./desired-keys.js";
export type { DesiredBucket } from "./desired-keys.js";
export { bundlePayload } from "./payload.js";
export { DEFAULT_PUBLISH_CONCURRENCY, createPublisher } from "./publisher.js";
export type { PublishAllOptions, PublishFence, PublishOutcome, Publisher, PublisherOptions, SourceInfo } from "./publisher.js";
