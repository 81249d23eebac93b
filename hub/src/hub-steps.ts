// The steps createHub starts the hub in, one function per part: NATS, the stores, access
// (admin tokens and the credential issuer), the agent link, delivery, then the two edges
// (gRPC and the admin API). Each step takes what the steps before it gave back and registers
// how to stop what it started on a StopStack, so the hub stops in the reverse order and a
// failed start undoes exactly what had begun.
import { readFile } from "node:fs/promises";
import { GrpcStatus, RpcError } from "@gitfleet/proto";
import type { FailedAuthLimit } from "./api/failed-auth-limit.js";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { adminTokenAnnouncer, bootstrapAdminToken } from "./admin-bootstrap.js";
import { createApiAuthenticator, type ApiToken } from "./api/auth.js";
import { createApiServer } from "./api/server.js";
import { createClusterRemover } from "./cluster-removal.js";
import { createCredentialIssuer, type CredentialIssuer } from "./credentials/issuer.js";
import type { Readiness } from "./api/routes/health.js";
import type { ClusterDirectory, DeliveryFactory, DeliveryLeadership, HubDelivery } from "./delivery-contract.js";
import { createDeliveryLease, type DeliveryLease } from "./delivery/index.js";
import { openLocksBucket } from "./promotion/index.js";
import { createDriftIndex, feedDriftIndex, type DriftIndex } from "./drift/index.js";
import { HubError } from "./errors.js";
import type { HubEvents } from "./events.js";
import type { HubAlerts } from "./hub-alerts.js";
import type { HistoryLog } from "./history/index.js";
import type { PipelineViews, PromotionService } from "./promotion/index.js";
import { createAgentService, type AgentServiceHandle } from "./grpc/agent-service.js";
import { createGrpcServer, type GrpcTlsOptions } from "./grpc/server.js";
import { connectHubNats, type HubNatsConnection, type HubNatsOptions } from "./nats-connection.js";
import { startMetricsServer, type HubMetrics, type MetricsSource } from "./metrics/index.js";
import { createResyncBroadcast, type ResyncBroadcast } from "./resync-broadcast.js";
import { bucketNames, openBucket } from "./store/buckets.js";
import { createClusterStore, type ClusterChange, type ClusterStore } from "./store/clusters.js";
import { createCoalescedTask } from "./store/coalesce.js";
import { createSigningKeyService, createSigningKeyring, type DesiredStateSigner, type SigningKeyring } from "./signing/index.js";
import { createHubSecretsStore, type HubSecretsStore } from "./store/hub-secrets.js";
import { createRegistrationTokenStore, type RegistrationTokenStore } from "./store/registration-tokens.js";
import { createStatusStore, type StatusStore } from "./store/status.js";

/** Stops of the parts started so far, run last-in first-out. */
export interface StopStack {
  /** Registers how to stop a part that has just started. */
  push(part: string, stop: () => Promise<void> | void): void;
  /** Stops every registered part, newest first; a failing stop is logged and the rest still run. */
  unwind(): Promise<void>;
}

/** Creates an empty {@link StopStack}. */
export function createStopStack(logger: Logger): StopStack {
  const stops: Array<{ part: string; stop: () => Promise<void> | void }> = [];
  return {
    push(part, stop) {
      stops.push({ part, stop });
    },
    async unwind() {
      for (let entry = stops.pop(); entry; entry = stops.pop()) {
        try {
          await entry.stop();
        } catch (err) {
          logger.warn({ err, part: entry.part }, "error while stopping the hub");
        }
      }
    },
  };
}

/** Connects to NATS; the connection closes last. */
export async function connectNats(options: HubNatsOptions, logger: Logger, stops: StopStack, metrics?: Pick<HubMetrics, "natsError">): Promise<HubNatsConnection> {
  const nats = await connectHubNats(options, logger.child({ component: "nats" }), (kind) => metrics?.natsError(kind));
  stops.push("nats", () => nats.close());
  return nats;
}

/** The hub's state in JetStream KV. */
export interface HubStores {
  secrets: HubSecretsStore;
  /** The desired-state signing keys, loaded (created by the first replica) and followed. */
  keyring: SigningKeyring;
  tokens: RegistrationTokenStore;
  clusters: ClusterStore;
  status: StatusStore;
  /** Fleet-wide drift, fed by the cluster and status stores. */
  drift: DriftIndex;
  jsm: JetStreamManager;
  /** The gitfleet_hub bucket (secrets, the agents account's revocations). */
  hubKv: KV;
}

/** Opens (or creates) the buckets and waits until the cluster and status stores, and the drift index, are loaded. */
export async function openStores(
  input: { nats: HubNatsConnection; replicas: number; readyTimeoutMs: number; staleAfterMs: number; logger: Logger; now: () => Date },
  stops: StopStack,
): Promise<HubStores> {
  const { nats, replicas, logger, now } = input;
  const kvm = new Kvm(nats.nc);
  const [hubKv, tokensKv, clustersKv, namesKv, statusKv] = await Promise.all([
    openBucket(kvm, bucketNames.hub, { replicas, description: "gitfleet hub secrets (hashes, HMAC key)" }),
    openBucket(kvm, bucketNames.tokens, { replicas, description: "gitfleet registration tokens (hashed)" }),
    openBucket(kvm, bucketNames.clusters, { replicas, description: "gitfleet cluster records" }),
    openBucket(kvm, bucketNames.clusterNames, { replicas, description: "gitfleet cluster name reservations" }),
    openBucket(kvm, bucketNames.status, { replicas, description: "gitfleet latest StatusReport per cluster" }),
  ]);
  const jsm = await jetstreamManager(nats.nc);
  const clusters = createClusterStore({ clusters: clustersKv, names: namesKv, logger, now });
  stops.push("cluster store", () => clusters.stop());
  const status = createStatusStore({ kv: statusKv, logger });
  stops.push("status store", () => status.stop());
  // Fed from before the stores' first load (their watches start only after awaiting NATS).
  const drift = createDriftIndex({ staleAfterMs: input.staleAfterMs, now });
  stops.push("drift index feed", feedDriftIndex(drift, { clusters, status }));
  await withDeadline(Promise.all([clusters.ready(), status.ready()]), input.readyTimeoutMs, "loading clusters and status from JetStream");
  const keyring = createSigningKeyring({ kv: hubKv, logger: logger.child({ component: "signing-keys" }), now });
  await keyring.start();
  stops.push("signing keyring", () => keyring.stop());
  return {
    secrets: createHubSecretsStore({ kv: hubKv }),
    keyring,
    // A use is settled once its cluster's record is stored (the index has it).
    tokens: createRegistrationTokenStore({ kv: tokensKv, now, isRegistered: (id) => clusters.has(id) }),
    clusters,
    status,
    drift,
    jsm,
    hubKv,
  };
}

/** Who may call the admin API, and what the hub hands agents. */
export interface HubAccess {
  apiTokens: ApiToken[];
  issuer: CredentialIssuer;
}

/** Bootstraps the admin token (on the first start) and builds the credential issuer. Starts nothing. */
export async function prepareAccess(input: {
  secrets: HubSecretsStore;
  apiTokens: readonly ApiToken[];
  announceAdminToken: ((secret: string) => void) | undefined;
  account: { publicKey: string; signingSeed?: string | undefined };
  agentAccount: { publicKey: string; signingSeed: string } | undefined;
  natsServers: readonly string[];
  credentialTtlMs: number;
  now: () => Date;
}): Promise<HubAccess> {
  const apiTokens = await bootstrapAdminToken({
    configured: input.apiTokens,
    secrets: input.secrets,
    announce: input.announceAdminToken ?? adminTokenAnnouncer(),
  });
  const minter = agentMinter(input.account, input.agentAccount);
  const issuer = createCredentialIssuer({
    credentialKey: await input.secrets.credentialKey(),
    ...minter,
    natsServers: input.natsServers,
    ttlMs: input.credentialTtlMs,
    now: input.now,
  });
  return { apiTokens, issuer };
}

// Agents get users of the agents account, minted with its scoped signing key; without one they
// share the hub's account, with the same permissions written into each user JWT.
function agentMinter(
  account: { publicKey: string; signingSeed?: string | undefined },
  agentAccount: { publicKey: string; signingSeed: string } | undefined,
): { accountPublicKey: string; accountSigningSeed: string; scopedSigningKey: boolean } {
  if (agentAccount) return { accountPublicKey: agentAccount.publicKey, accountSigningSeed: agentAccount.signingSeed, scopedSigningKey: true };
  if (!account.signingSeed) {
    throw new HubError("invalid-argument", "no NATS signing key to mint agent users with: set the agents account and its scoped signing key, or the hub account's signing seed");
  }
  return { accountPublicKey: account.publicKey, accountSigningSeed: account.signingSeed, scopedSigningKey: false };
}

/** The hub's side of the agents: the AgentService and the resync requests shared by replicas. */
export interface AgentLink {
  service: AgentServiceHandle;
  resync: ResyncBroadcast;
}

/** Builds the AgentService (served later by {@link serveGrpc}) and starts the resync broadcast. */
export function startAgentLink(
  input: { nats: HubNatsConnection; stores: HubStores; issuer: CredentialIssuer; events: HubEvents; heartbeatIntervalSeconds: number; connectProofTimeoutMs?: number | undefined; version: string; logger: Logger; now: () => Date },
  stops: StopStack,
): AgentLink {
  const { stores, events, logger } = input;
  const service = createAgentService({
    tokens: stores.tokens,
    clusters: stores.clusters,
    status: stores.status,
    issuer: input.issuer,
    logger,
    heartbeatIntervalSeconds: input.heartbeatIntervalSeconds,
    connectProofTimeoutMs: input.connectProofTimeoutMs,
    hubVersion: input.version,
    trustedKeys: () => stores.keyring.trusted(),
    onClusterRegistered: (cluster) => events.emit("cluster-registered", cluster),
    onStatusReported: (clusterId, report, previous) => events.emit("status-reported", clusterId, report, previous),
    onAgentEvents: (clusterId, agentEvents) => events.emit("agent-events", clusterId, agentEvents),
    now: input.now,
  });
  const resync = createResyncBroadcast({
    nc: input.nats.nc,
    logger,
    deliverLocal: (clusterId, request) => service.resyncLocal(clusterId, request),
  });
  stops.push("resync broadcast", () => resync.stop());
  // A rotation or retirement through any replica reaches the agents connected here.
  const unwatchKeys = stores.keyring.onChange(() => {
    const sent = service.pushTrustedKeys();
    logger.info({ streams: sent }, "sent the changed desired-state keys to connected agents");
  });
  stops.push("signing key push", () => unwatchKeys());
  return { service, resync };
}

/** The live cluster set as the delivery part and the Hub interface see it. */
export function clusterDirectory(clusters: ClusterStore): ClusterDirectory {
  return { list: (s) => clusters.list(s), getByName: (n) => clusters.getByName(n) };
}

/** The delivery part as given, or built by its factory from the hub's connection. Starts nothing. */
export function buildDelivery(input: {
  delivery: HubDelivery | DeliveryFactory | undefined;
  nats: HubNatsConnection;
  replicas: number;
  clusters: ClusterStore;
  events: HubEvents;
  resync: ResyncBroadcast;
  signer: DesiredStateSigner;
  metrics?: HubMetrics | undefined;
  leadership?: DeliveryLeadership | undefined;
  logger: Logger;
}): HubDelivery | undefined {
  const { delivery, resync } = input;
  if (typeof delivery !== "function") return delivery;
  return delivery({
    nc: input.nats.nc,
    logger: input.logger.child({ component: "delivery" }),
    clusters: clusterDirectory(input.clusters),
    events: input.events,
    replicas: input.replicas,
    signer: input.signer,
    ...(input.metrics ? { metrics: input.metrics.delivery } : {}),
    ...(input.leadership ? { leadership: input.leadership } : {}),
    resync: (clusterId, reason, bundles) => resync.resync(clusterId, { reason, ...(bundles ? { bundles } : {}) }),
  });
}

// Only name, label and variable changes matter to delivery; heartbeats do not.
function targetingChanged(change: ClusterChange): boolean {
  if (change.type !== "updated") return true;
  const { cluster, previous } = change;
  return (
    cluster.name !== previous.name ||
    JSON.stringify(cluster.labels) !== JSON.stringify(previous.labels) ||
    JSON.stringify(cluster.variables ?? {}) !== JSON.stringify(previous.variables ?? {})
  );
}

/**
 * Turns cluster store changes into hub events and hands targeting changes to delivery.
 * Subscribed before delivery starts, so no change made while it starts goes unseen.
 */
export function forwardClusterChanges(
  input: { clusters: ClusterStore; events: HubEvents; delivery: HubDelivery | undefined; logger: Logger },
  stops: StopStack,
): void {
  const { clusters, events, delivery, logger } = input;
  // A burst of changes (a registration storm) is handed over once, with the fleet as it is when
  // the hand-over starts, instead of once per change: that made every registration cost the whole fleet.
  const handOver = createCoalescedTask({
    run: async () => {
      const all = clusters.list();
      events.emit("clusters-changed", all);
      await delivery?.onClustersChanged(all);
    },
    onError: (err) => logger.error({ err }, "delivery failed to handle a cluster change"),
  });
  const unsubscribe = clusters.subscribe((change) => {
    if (change.type === "removed") events.emit("cluster-deleted", change.cluster);
    if (!targetingChanged(change)) return;
    void handOver.request();
  });
  stops.push("cluster change forwarding", async () => {
    unsubscribe();
    await handOver.stop();
  });
}

/** Starts the delivery part, if there is one. */
export async function startDelivery(delivery: HubDelivery | undefined, stops: StopStack): Promise<void> {
  if (!delivery) return;
  await delivery.start();
  stops.push("delivery", () => delivery.stop());
}

const noNatsMessage = "this hub replica lost NATS; connect through another replica";

/** Serves the AgentService over gRPC; resolves with the bound port. */
export async function serveGrpc(
  input: { address: string; tls: GrpcTlsOptions | undefined; allowPlaintext?: boolean | undefined; agents: AgentLink; nats?: HubNatsConnection | undefined; logger: Logger },
  stops: StopStack,
): Promise<number> {
  const { agents, nats } = input;
  const implementation = agents.service.implementation;
  const grpc = createGrpcServer({
    address: input.address,
    // A replica without NATS refuses Connect streams, so agents reconnect through another one.
    implementation: nats
      ? { ...implementation, connect: (call) => (nats.connected ? implementation.connect(call) : Promise.reject(new RpcError(GrpcStatus.UNAVAILABLE, noNatsMessage))) }
      : implementation,
    tls: input.tls,
    allowPlaintext: input.allowPlaintext,
    logger: input.logger,
  });
  const port = await grpc.start();
  // Streams end before the server shuts down, so tryShutdown does not wait for them.
  stops.push("grpc", async () => {
    await agents.service.stop();
    await grpc.stop();
  });
  return port;
}

/**
 * The readiness of /readyz: the replica's delivery role, the required checks (NATS, the stores)
 * and the advisory `git` check (the fleet repository reachable, or why not) when there is a
 * delivery part. gitfleet_hub_ready reads the required checks.
 */
export function readinessOf(
  nats: HubNatsConnection,
  stores: Pick<HubStores, "clusters" | "status">,
  lease?: Pick<DeliveryLease, "role">,
  delivery?: Pick<HubDelivery, "sourceError">,
): Readiness {
  const checks: Record<string, string> = {
    nats: nats.connected ? "ok" : "disconnected",
    clusters: stores.clusters.isReady ? "ok" : "loading",
    status: stores.status.isReady ? "ok" : "loading",
  };
  if (delivery) checks["git"] = delivery.sourceError?.() ?? "ok";
  return { ...(lease ? { role: lease.role } : {}), checks, advisory: ["git"] };
}

/** The required checks of {@link readinessOf}, for gitfleet_hub_ready. */
export function requiredChecks(readiness: Readiness): Record<string, string> {
  const advisory = new Set(readiness.advisory ?? []);
  return Object.fromEntries(Object.entries(readiness.checks).filter(([name]) => !advisory.has(name)));
}

/**
 * Takes part in the delivery leader lease (gitfleet_locks, key `delivery-leader`): started before
 * delivery and stopped after it, so the lease is released only once this replica stopped publishing.
 */
export async function startLeadership(
  input: { nats: HubNatsConnection; replicas: number; ttlMs: number; events: HubEvents; logger: Logger },
  stops: StopStack,
): Promise<DeliveryLease> {
  const kv = await openLocksBucket(new Kvm(input.nats.nc), input.replicas);
  const lease = createDeliveryLease({ kv, ttlMs: input.ttlMs, logger: input.logger.child({ component: "delivery-lease" }) });
  lease.onChange((change) => input.events.emit("delivery-role", change));
  await lease.start();
  stops.push("delivery lease", () => lease.stop());
  return lease;
}

/**
 * A replica that lost NATS closes its agents' Connect streams (UNAVAILABLE), so they reconnect
 * through another replica; while NATS is away it refuses new ones the same way.
 */
export function dropStreamsWithoutNats(input: { nats: HubNatsConnection; agents: AgentLink; logger: Logger }, stops: StopStack): void {
  let wasConnected = true;
  const timer = setInterval(() => {
    const connected = input.nats.connected;
    if (wasConnected && !connected) {
      const streams = input.agents.service.sessions.size;
      void input.agents.service.sessions.closeAll(new RpcError(GrpcStatus.UNAVAILABLE, noNatsMessage));
      input.logger.warn({ streams }, "NATS lost: closed the agents' streams so they reconnect through another replica");
    }
    wasConnected = connected;
  }, 250);
  timer.unref();
  stops.push("NATS loss watch", () => clearInterval(timer));
}

/**
 * Connects the metrics' scrape-time gauges to the running hub and, when `address` is set, serves
 * them on a port of their own; resolves with that port (undefined: /metrics is on the API port).
 */
export async function serveMetrics(
  input: { metrics: HubMetrics; address: string | undefined; nats: HubNatsConnection; stores: HubStores; agents: AgentLink; lease?: DeliveryLease | undefined; logger: Logger },
  stops: StopStack,
): Promise<number | undefined> {
  const { metrics, nats, stores, agents } = input;
  metrics.bind({
    tally: () => stores.drift.tally(),
    openStreams: () => agents.service.sessions.size,
    readiness: () => requiredChecks(readinessOf(nats, stores)),
    deliveryLeader: () => input.lease?.role === "leader",
  });
  if (input.address === undefined) return undefined;
  const server = await startMetricsServer({ address: input.address, source: metrics, logger: input.logger });
  stops.push("metrics server", () => server.close());
  input.logger.info({ address: input.address, port: server.port }, "serving /metrics");
  return server.port;
}

/** Serves the admin API (and the Git push webhook); resolves with the bound port. */
export async function serveApi(
  input: {
    address: string;
    nats: HubNatsConnection;
    stores: HubStores;
    apiTokens: readonly ApiToken[];
    delivery: HubDelivery | undefined;
    /** The delivery leader lease: /readyz says the role. */
    lease?: DeliveryLease | undefined;
    alerts: HubAlerts;
    history: HistoryLog;
    /** Promotions and pipelines; their routes answer 503 without. */
    promotion?: { service: PromotionService; pipelines: PipelineViews } | undefined;
    webhookSecret: string | undefined;
    failedAuthLimit: FailedAuthLimit | undefined;
    tls: { certPath: string; keyPath: string } | undefined;
    /** Revokes a deleted cluster's NATS user; undefined when revocation is not configured. */
    revokeNatsUser?: ((userPublicKey: string) => Promise<void>) | undefined;
    staleAfterMs: number;
    version: string;
    /** Served at /metrics on the API port; undefined when metrics have a port of their own. */
    metrics: MetricsSource | undefined;
    logger: Logger;
    now: () => Date;
  },
  stops: StopStack,
): Promise<number> {
  const { nats, stores, delivery, logger } = input;
  const { tokens, clusters, status, drift, jsm } = stores;
  const auth = createApiAuthenticator(input.apiTokens);
  const api = await createApiServer({
    logger,
    tokens,
    clusters,
    status,
    drift,
    auth,
    bundleErrors: delivery ?? { errorsFor: () => [] },
    fleet: { bundles: () => delivery?.bundles?.() },
    environments: delivery?.environments,
    events: input.alerts.log,
    history: input.history,
    promotions: input.promotion?.service,
    pipelines: input.promotion?.pipelines,
    notifications: input.alerts.notifications,
    signingKeys: createSigningKeyService({ keyring: stores.keyring, nc: nats.nc, logger: logger.child({ component: "signing-keys" }), now: input.now }),
    removeCluster: createClusterRemover({
      clusters,
      status,
      jsm,
      logger,
      purgeDesired: delivery?.purge ? (id) => delivery.purge?.(id) ?? Promise.resolve() : undefined,
      revokeNatsUser: input.revokeNatsUser,
    }),
    readiness: () => readinessOf(nats, stores, input.lease, delivery),
    webhookSecret: input.webhookSecret,
    failedAuthLimit: input.failedAuthLimit,
    tls: input.tls
      ? { certPem: await readFile(input.tls.certPath, "utf8"), keyPem: await readFile(input.tls.keyPath, "utf8") }
      : undefined,
    onGitPush: () => {
      if (!delivery) {
        logger.warn("Git push received, but no delivery part is configured");
        return;
      }
      void Promise.resolve()
        .then(() => delivery.triggerFetch())
        .catch((err: unknown) => logger.error({ err }, "delivery failed to fetch after a push"));
    },
    staleAfterMs: input.staleAfterMs,
    version: input.version,
    metrics: input.metrics,
    now: input.now,
  });
  stops.push("api", () => api.close());
  return await api.listen(input.address);
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HubError("unavailable", `timed out after ${ms} ms ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
