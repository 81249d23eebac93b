// The delivery part's surface for the rest of the hub (hub.ts, the API) and for e2e tests.
// Anything not exported here is private to delivery.
export { createDelivery } from "./delivery.js";
export type { ClusterDirectory, Delivery, DeliveryOptions, DeliveryStatus } from "./delivery.js";
export { createGitSource } from "./git-source.js";
export type { GitSource, GitSourceOptions, SnapshotListener } from "./git-source.js";
export type { ClusterRef, Snapshot } from "./snapshot.js";
export { verifyGitHubSignature, signGitHubPayload } from "./webhook.js";
export { FLEET_API_VERSION, FLEET_FILE, parseFleetFile, readFleetFile } from "./fleet-file.js";
export type { BundleSpec, DriftPolicy, FleetSpec } from "./fleet-file.js";
export { matchesClusterSelector } from "./selector.js";
export type { ClusterSelector, SelectorExpression, SelectorOperator } from "./selector.js";
export { renderPlainDirectory } from "./render.js";
export type { RenderedBundle, RenderedObject, RenderRequest } from "./render.js";
export { resolve } from "./resolve.js";
export type { BundleError, ClusterResolution, RenderMemo, Resolution, ResolvedBundle, ResolveInput } from "./resolve.js";
export { createPublisher } from "./publisher.js";
export type { PublishOutcome, Publisher, PublisherOptions, SourceInfo } from "./publisher.js";
export { DESIRED_BUCKET, chunkKey, openDesiredBucket, pointerKey } from "./desired-keys.js";
export type { DesiredBucket } from "./desired-keys.js";
export { DeliveryError, FleetFileError, GitSourceError, PublishError, RenderError } from "./errors.js";
export type { DeliveryErrorReason, FleetFileIssue } from "./errors.js";
