// The public surface of @gitfleet/agent: the agent itself, for in-process use (e2e tests),
// and the parts a test or another deployment may use or swap. Anything else is private.

export { createAgent } from "./agent.js";
export type { Agent, AgentOptions } from "./agent.js";
export { AGENT_VERSION } from "./version.js";
export { USAGE, parseCommand } from "./config.js";
export type { AgentCommand, AgentConfig, HubTlsConfig } from "./config.js";
export { AgentError, ConfigError, KubeApiError, RegistrationError } from "./errors.js";
export type { AgentErrorCode } from "./errors.js";
export { systemClock } from "./clock.js";
export type { Clock } from "./clock.js";
export { createBackoff } from "./backoff.js";
export type { Backoff, BackoffOptions } from "./backoff.js";

// Kubernetes side.
export { FIELD_MANAGER, createKubeClient, loadKubeConfig } from "./kube-client.js";
export type { ApplyOptions, KubeClient, KubeClientOptions, ListQuery } from "./kube-client.js";
export { BUNDLE_ANNOTATION, formatRef, refKey, refOf } from "./kube-objects.js";
export type { KubeObject, ObjectRef } from "./kube-objects.js";
export { assessHealth, worstHealth } from "./health.js";
export type { HealthAssessment } from "./health.js";
export { createAgentMetrics, reconcileBuckets } from "./metrics.js";
export { startProbeServer } from "./probe-server.js";
export type { ProbeServer, ProbeServerOptions } from "./probe-server.js";
export type { AgentMetricSources, AgentMetrics, ReconcileMetrics } from "./metrics.js";
export { createReconciler } from "./reconcile.js";
export type { ReconcileReport, Reconciler, ReconcilerOptions } from "./reconcile.js";
export { createDriftMonitor, DEFAULT_LOOP_GUARD } from "./drift/index.js";
export type { Correction, DriftMonitor, DriftMonitorOptions, DriftStateName, LoopGuardLimits, ObjectDrift, ReportedField, TrackedBundle } from "./drift/index.js";
export { applyBundle } from "./apply.js";
export type { ApplyBundleOptions } from "./apply.js";
export type { BundleResult, ResourceResult } from "./bundle-result.js";
export { createConfigMapInventoryStore, inventoryName, selectPrunable } from "./inventory.js";
export type { Inventory, InventoryStore } from "./inventory.js";

// Desired state.
export { bundleChunkKey, loadDesiredState } from "./desired-state.js";
export type { BundlePolicyView, ChunkReader, DesiredBundle, DesiredStateSnapshot, IgnoreRule, LoadDesiredStateOptions } from "./desired-state.js";
export { createNatsDesiredStateSource } from "./desired-state-source.js";
export type { DesiredStateSource, NatsAccess, NatsDesiredStateSourceOptions } from "./desired-state-source.js";
export { MAX_STATE_BYTES, STATE_SECRET, createSecretStateStore } from "./state-store.js";
export type { StateStore } from "./state-store.js";

// Identity and the hub.
export { IDENTITY_SECRET, createSecretIdentityStore } from "./identity.js";
export type { AgentCredentials, AgentIdentity, IdentityStore, StoredIdentity } from "./identity.js";
export { ensureIdentity } from "./registration.js";
export type { EnsureIdentityOptions } from "./registration.js";
export { channelCredentials, createHubClient } from "./hub-client.js";
export type { AgentMessageInit, HubClient, HubStream, HubTls, RegisterRequestInit, RenewRequestInit } from "./hub-client.js";
export { signConnectProof, signRenewRequest } from "./renewal.js";
export type { RenewSigner } from "./renewal.js";
export { createStatusStream } from "./status-stream.js";
export type { StatusStream, StatusStreamOptions } from "./status-stream.js";
export { buildStatusReport, statusFingerprint } from "./status.js";
