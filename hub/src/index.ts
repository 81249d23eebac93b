// The public surface of @gitfleet/hub. Anything not exported here is private to the package.

// The hub and its configuration.
export { createHub } from "./hub.js";
export type { Hub, HubOptions } from "./hub.js";
export { ConfigError, HelpRequested, loadConfig, settings as configSettings, usage as configUsage } from "./config.js";
export type { HubConfig } from "./config.js";
export type { HubNatsOptions } from "./nats-connection.js";
export { createHubEvents } from "./events.js";
export type { HubEventMap, HubEvents } from "./events.js";
export { HubError, grpcStatusOf, httpStatusOf } from "./errors.js";
export type { HubErrorCode } from "./errors.js";

// The contract with the delivery part.
export type {
  BundleError,
  BundleErrorSource,
  ClusterDirectory,
  CommitRequest,
  CommitResult,
  DeliveryContext,
  DeliveryFactory,
  FleetBundle,
  FleetBundleSource,
  FleetBundles,
  FleetBundleTarget,
  FleetHead,
  FleetIgnoreRule,
  FleetRepository,
  HubDelivery,
} from "./delivery-contract.js";
export { fleetRepository, gitDelivery } from "./delivery-adapter.js";
export type { FleetRepositoryOptions, GitDeliveryOptions } from "./delivery-adapter.js";

// Label selectors.
// (The label and name rules themselves are shared with the agent: @gitfleet/proto/rules.)
export { matchesSelector, parseSelector } from "./labels/selector.js";
export type { Requirement, Selector } from "./labels/selector.js";

// Stores (JetStream KV).
export { bucketNames } from "./store/buckets.js";
export type { ClusterChange, ClusterRecord, ClusterStore } from "./store/clusters.js";
export { registrationSecretPrefix, tokenIdOf } from "./store/registration-tokens.js";
export type { RegistrationToken, RegistrationTokenStore } from "./store/registration-tokens.js";
export { createStatusStore } from "./store/status.js";
export type { StatusChange, StatusStore, StatusStoreOptions } from "./store/status.js";

// Promotion: records, the stage lock across replicas, the Git writer.
export {
  canTransition,
  createGitWriter,
  createPromotionService,
  promotionEditEngine,
  createPromotionStore,
  createStageLock,
  isFinalState,
  isPromotionId,
  newPromotionId,
  openLocksBucket,
  openPromotionsBucket,
  promotionStates,
} from "./promotion/index.js";
export type {
  GitWriter,
  GitWriterOptions,
  PromotionService,
  StageStates,
  NewPromotionRecord,
  PromotionFilter,
  PromotionRecord,
  PromotionState,
  PromotionStore,
  PromotionStoreOptions,
  PromotionTransition,
  PromotionVerification,
  StageLock,
  StageLockOptions,
  StageLockValue,
  WithLockOptions,
} from "./promotion/index.js";

// Prometheus metrics (docs/metrics.md): the hub's registry, for tests and the chart's cross-check.
export { createHubMetrics, parseExposition, sampleValue, startMetricsServer } from "./metrics/index.js";
export type { HubMetrics, HubMetricSources, MetricsServer, Sample } from "./metrics/index.js";

// Fleet-wide drift: the index every replica keeps, for tools and benchmarks.
export { createDriftIndex, feedDriftIndex } from "./drift/index.js";
export type { DriftFilter, DriftIndex, DriftIndexOptions, DriftItem, DriftPage, DriftSummary, DriftTotals } from "./drift/index.js";

// Fleet events and notification sinks (docs/events.md).
export { deriveStatusEvents, fleetEventTypes, isFleetEventType } from "./fleet-events/index.js";
export type { FleetEvent, FleetEventField, FleetEventResource, FleetEventType, StoredEvent } from "./fleet-events/index.js";
export { eventSignature, parseSinks, redactUrl, signatureHeader, timestampHeader, verifyEventSignature } from "./notifications/index.js";
export type { SinkConfig, SinkStatusView, SinkType } from "./notifications/index.js";

// Credentials.
export { createNatsRevoker, startRevocationRepush, type NatsRevoker, type NatsRevokerOptions, type RepushOutcome } from "./credentials/nats-revocation.js";
export { agentClusterTag, agentInboxPrefix, agentNatsPermissions, agentScopedSigningKey, agentUserLimits, agentUserTemplate, mintAgentNatsJwt } from "./credentials/nats-user-jwt.js";
export { agentsAccountClaims, agentsAccountImports, defaultAgentsAccountLimits, hubAccountExports } from "./credentials/nats-accounts.js";
export type { AgentsAccountOptions } from "./credentials/nats-accounts.js";
export type { AgentNatsPermissions, MintAgentNatsJwtOptions } from "./credentials/nats-user-jwt.js";
export { grpcTokenPrefix, issueGrpcToken, verifyGrpcToken } from "./credentials/grpc-token.js";
export type { GrpcTokenClaims } from "./credentials/grpc-token.js";

// The admin API's building blocks, for tools and tests.
export { defaultTokenName, parseApiToken, parseApiTokenList } from "./api/auth.js";
export type { ApiCaller, ApiToken, Role } from "./api/auth.js";
export { verifyWebhookSignature, webhookSignature } from "./api/webhook-signature.js";
export { adminSecretPrefix, adminTokenName } from "./admin-bootstrap.js";
export { resyncSubject } from "./resync-broadcast.js";

// A client of the admin API (the CLI's), for tools and tests.
export { HubApiError, createHubClient } from "./cli/hub-client.js";
export type { HubClient, HubClientOptions } from "./cli/hub-client.js";
