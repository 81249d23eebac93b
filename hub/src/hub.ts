// createHub: the hub's composition root. start() runs the steps of hub-steps.ts in order
// (NATS, stores, access, agent link, delivery, gRPC, admin API); stop() undoes them in reverse.
import { activeKeySigner } from "./signing/index.js";
import { adminTokenAnnouncer } from "./admin-bootstrap.js";
import type { FailedAuthLimit } from "./api/failed-auth-limit.js";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import type { ApiToken } from "./api/auth.js";
import type { ClusterDirectory, DeliveryFactory, HubDelivery } from "./delivery-contract.js";
import { createNatsRevoker, startRevocationRepush } from "./credentials/nats-revocation.js";
import { HubError } from "./errors.js";
import { createHubEvents, type HubEvents } from "./events.js";
import { defaultEventLogLimits, type EventLogLimits } from "./fleet-events/index.js";
import { startAlerts } from "./hub-alerts.js";
import { startHistory, type History } from "./history/index.js";
import { startPromotion } from "./hub-promotion.js";
import type { GrpcTlsOptions } from "./grpc/server.js";
import type { DeliveryLease } from "./delivery/index.js";
import {
  buildDelivery,
  clusterDirectory,
  connectNats,
  createStopStack,
  forwardClusterChanges,
  openStores,
  prepareAccess,
  serveApi,
  serveGrpc,
  serveMetrics,
  startAgentLink,
  startDelivery,
  startLeadership,
  dropStreamsWithoutNats,
  type AgentLink,
  type HubStores,
} from "./hub-steps.js";
import { createHubMetrics, type HubMetrics } from "./metrics/index.js";
import type { HubNatsOptions } from "./nats-connection.js";
import type { Sender, SinkConfig } from "./notifications/index.js";

/** Options of {@link createHub}. */
export interface HubOptions {
  logger: Logger;
  nats: HubNatsOptions;
  /**
   * The hub's account: its public key and the seed of a signing key, which mints agent users
   * only when `agentAccount` is not given (agents then share the hub's account).
   */
  account: { publicKey: string; signingSeed?: string | undefined };
  /** The agents account and its scoped signing key (docs/security.md, "NATS accounts"). */
  agentAccount?: { publicKey: string; signingSeed: string } | undefined;
  /** Revokes a deleted cluster's NATS user at once; without it the user lasts until its JWT expires. */
  natsRevocation?: { operatorSigningSeed: string; systemCreds: string; repushIntervalMs?: number | undefined } | undefined;
  /** NATS URLs handed to agents; default `nats.servers`. */
  agentNatsServers?: readonly string[];
  /** `host:port` of the admin API; default 127.0.0.1:8080 (port 0 picks one). */
  httpAddress?: string;
  /**
   * `host:port` to serve GET /metrics on, apart from the API (plain HTTP, no token); default
   * unset: /metrics is served on the API port.
   */
  metricsAddress?: string | undefined;
  /** `host:port` of the gRPC AgentService; default 127.0.0.1:9090 (port 0 picks one). */
  grpcAddress?: string;
  grpcTls?: GrpcTlsOptions | undefined;
  /** Serve plaintext gRPC on a non-loopback address (without `grpcTls`); refused otherwise. */
  grpcAllowPlaintext?: boolean | undefined;
  /** Accepted API tokens; without an admin token one is generated on the first start. */
  apiTokens?: readonly ApiToken[];
  /** Shared secret of the Git push webhook; the webhook is off without it. */
  webhookSecret?: string | undefined;
  /** Serve the admin API over HTTPS with this certificate and key (PEM files); plain HTTP without. */
  apiTls?: { certPath: string; keyPath: string } | undefined;
  /** Failed API authentications allowed per client address; default 20 a minute. */
  apiFailedAuthLimit?: FailedAuthLimit | undefined;
  /** Lifetime of agent credentials; default 1 hour. */
  credentialTtlMs?: number;
  /** Heartbeat interval agents are told; default 15 s. A cluster silent for 3 intervals is stale. */
  heartbeatIntervalSeconds?: number;
  /** How long a new Connect stream may take to prove the agent's signing key before it is closed; default 10 s. */
  connectProofTimeoutMs?: number;
  /** Limits of the fleet event log; default 7 days and 100,000 events. */
  eventLimits?: EventLogLimits;
  /** Entries of each cluster's history kept; default 100. */
  historyPerCluster?: number;
  /** How long a history entry waits for its commit's subject and author when this replica has not fetched it; default 10 s. */
  historyMetadataGraceMs?: number;
  /**
   * How long the delivery leader lease lasts without renewal (renewed every third of it); default
   * 15 s. A successor takes over within it when the leader dies (docs/high-availability.md).
   */
  deliveryLeaseTtlMs?: number;
  /** How often promotions rolling out are verified and auto stages evaluated; default 2 s. */
  promotionIntervalMs?: number;
  /** Where fleet events are sent (docs/events.md); none by default. */
  notificationSinks?: readonly SinkConfig[];
  /** How notifications are sent; HTTP by default (tests swap it). */
  notificationSender?: Sender;
  /** The delivery part, or a factory that builds it from the hub's NATS connection. */
  delivery?: HubDelivery | DeliveryFactory | undefined;
  /**
   * Shows a generated admin token once; default: written to a file only this user reads
   * (see adminTokenAnnouncer), or printed when stdout is a terminal. Never logged.
   */
  announceAdminToken?: (secret: string) => void;
  /** How long start() waits for the stores' initial load; default 30 s. */
  readyTimeoutMs?: number;
  /**
   * The hub's version: served at /api/v1/version and in the OpenAPI document, and the version
   * Register checks agents against. Default: the product version of this build.
   */
  version?: string;
  now?: () => Date;
}

/** A hub; nothing runs before {@link Hub.start}. */
export interface Hub {
  /** Connects to NATS, opens the buckets and serves gRPC and HTTP. */
  start(): Promise<void>;
  /** Stops everything start() began; safe to call more than once. */
  stop(): Promise<void>;
  readonly events: HubEvents;
  /** Ports bound by start() (useful with port 0). */
  readonly httpPort: number;
  readonly grpcPort: number;
  /** The port of GITFLEET_METRICS_ADDRESS; undefined when /metrics is on the API port. */
  readonly metricsPort: number | undefined;
  /** The hub's Prometheus metrics (its own registry). */
  readonly metrics: HubMetrics;
  /** The live cluster set (after start). */
  readonly clusters: ClusterDirectory;
  /** This replica's delivery role: the leader follows Git and publishes; followers serve its view. "follower" before start. */
  readonly role: "leader" | "follower";
  /** Asks a cluster's agent, on whichever replica holds its stream, to resync. */
  resync(clusterId: string, reason: string, bundles?: readonly string[]): Promise<void>;
}

/** What start() gives back: the parts the Hub interface reads while running. */
interface Running {
  stores: HubStores;
  lease: DeliveryLease;
  history: History;
  agents: AgentLink;
  httpPort: number;
  grpcPort: number;
  metricsPort: number | undefined;
}

// The outcome label of each promotion event.
const promotionOutcomes = {
  "promotion-committed": "committed",
  "promotion-verified": "verified",
  "promotion-failed": "failed",
  "promotion-rolled-back": "rolled-back",
} as const;

/** Creates a hub from its options; see {@link Hub}. */
export function createHub(options: HubOptions): Hub {
  const logger = options.logger;
  const now = options.now ?? (() => new Date());
  const events = createHubEvents();
  const heartbeatIntervalSeconds = options.heartbeatIntervalSeconds ?? 15;
  const version = options.version ?? PRODUCT_VERSION;
  const replicas = options.nats.replicas ?? 1;
  // A cluster silent for three heartbeats is stale.
  const staleAfterMs = heartbeatIntervalSeconds * 3 * 1000;
  const metrics = createHubMetrics({ version });
  let running: Running | undefined;
  let starting: Promise<Running> | undefined;
  // Every started part registers how to stop it, so a failed start undoes itself.
  const stops = createStopStack(logger);

  // The agents account's revocations, when the hub is given what pushing them takes.
  const natsRevoker = (stores: HubStores): ((userPublicKey: string) => Promise<void>) | undefined => {
    if (!options.natsRevocation || !options.agentAccount) return undefined;
    const revoker = createNatsRevoker({
      kv: stores.hubKv,
      servers: options.nats.servers,
      agentAccountPublicKey: options.agentAccount.publicKey,
      operatorSigningSeed: options.natsRevocation.operatorSigningSeed,
      systemCreds: options.natsRevocation.systemCreds,
      maxUserJwtLifetimeMs: options.credentialTtlMs ?? 3_600_000,
      now,
    });
    const repush = startRevocationRepush(revoker, options.natsRevocation.repushIntervalMs ?? 60_000, logger.child({ component: "nats-revocation" }));
    stops.push("revocation re-push", () => repush.stop());
    return (key) => revoker.revoke(key);
  };

  const start = async (): Promise<Running> => {
    const nats = await connectNats(options.nats, logger, stops, metrics);
    const stores = await openStores({ nats, replicas, readyTimeoutMs: options.readyTimeoutMs ?? 30_000, staleAfterMs, logger, now }, stops);
    const { apiTokens, issuer } = await prepareAccess({
      secrets: stores.secrets,
      apiTokens: options.apiTokens ?? [],
      announceAdminToken: options.announceAdminToken ?? adminTokenAnnouncer({ logger }),
      account: options.account,
      agentAccount: options.agentAccount,
      natsServers: options.agentNatsServers ?? [options.nats.servers].flat(),
      credentialTtlMs: options.credentialTtlMs ?? 3_600_000,
      now,
    });
    if (!options.agentAccount) {
      logger.warn("agents share the hub's NATS account (GITFLEET_NATS_AGENT_ACCOUNT is not set); see docs/security.md, \"NATS accounts\"");
    } else if (!options.natsRevocation) {
      logger.warn("NATS revocation is not configured (GITFLEET_NATS_OPERATOR_SIGNING_SEED, GITFLEET_NATS_SYSTEM_CREDS): a deleted cluster's NATS user lasts until its JWT expires");
    }
    const agents = startAgentLink(
      { nats, stores, issuer, events, heartbeatIntervalSeconds, connectProofTimeoutMs: options.connectProofTimeoutMs, version, logger, now },
      stops,
    );
    const alerts = await startAlerts(
      {
        nats,
        replicas,
        clusters: stores.clusters,
        events,
        limits: options.eventLimits ?? defaultEventLogLimits,
        sinks: options.notificationSinks ?? [],
        heartbeatIntervalSeconds,
        send: options.notificationSender,
        onDelivery: (sinkType, outcome) => metrics.notification(sinkType, outcome),
        logger,
        now,
      },
      stops,
    );
    const lease = await startLeadership({ nats, replicas, ttlMs: options.deliveryLeaseTtlMs ?? 15_000, events, logger }, stops);
    dropStreamsWithoutNats({ nats, agents, logger }, stops);
    const delivery = buildDelivery({
      delivery: options.delivery,
      leadership: lease,
      nats,
      replicas,
      clusters: stores.clusters,
      events,
      resync: agents.resync,
      signer: activeKeySigner(() => stores.keyring.active()),
      metrics,
      logger,
    });
    forwardClusterChanges({ clusters: stores.clusters, events, delivery, logger }, stops);
    const history = await startHistory({
      nc: nats.nc,
      replicas,
      maxPerCluster: options.historyPerCluster,
      metadataGraceMs: options.historyMetadataGraceMs,
      status: stores.status,
      clusters: stores.clusters,
      events,
      commits: () => delivery?.commits,
      logger,
      now,
    });
    stops.push("history", () => history.stop());
    await startDelivery(delivery, stops);
    const promotion = await startPromotion(
      {
        nats,
        replicas,
        stores,
        delivery,
        history: history.recorder,
        intervalMs: options.promotionIntervalMs,
        onEvent: (event) => metrics.promotion(event.promotion.kind, promotionOutcomes[event.type]),
        logger,
        now,
      },
      stops,
    );
    const metricsPort = await serveMetrics({ metrics, address: options.metricsAddress, nats, stores, agents, lease, logger }, stops);
    const grpcPort = await serveGrpc({ address: options.grpcAddress ?? "127.0.0.1:9090", tls: options.grpcTls, allowPlaintext: options.grpcAllowPlaintext, agents, nats, logger }, stops);
    const httpPort = await serveApi(
      {
        address: options.httpAddress ?? "127.0.0.1:8080",
        nats,
        stores,
        apiTokens,
        delivery,
        lease,
        alerts,
        history: history.log,
        promotion,
        webhookSecret: options.webhookSecret,
        failedAuthLimit: options.apiFailedAuthLimit,
        tls: options.apiTls,
        revokeNatsUser: natsRevoker(stores),
        staleAfterMs,
        version,
        metrics: options.metricsAddress === undefined ? metrics : undefined,
        logger,
        now,
      },
      stops,
    );
    logger.info({ httpPort, grpcPort, clusters: stores.clusters.list().length, role: lease.role }, "hub started");
    return { stores, lease, history, agents, httpPort, grpcPort, metricsPort };
  };

  const need = (): Running => {
    if (!running) throw new HubError("failed-precondition", "the hub is not started");
    return running;
  };

  return {
    events,
    async start() {
      if (running || starting) throw new HubError("failed-precondition", "the hub was already started");
      starting = start();
      try {
        running = await starting;
      } catch (err) {
        await stops.unwind();
        throw err;
      } finally {
        starting = undefined;
      }
    },
    async stop() {
      running = undefined;
      await stops.unwind();
      logger.info("hub stopped");
    },
    get httpPort() {
      return need().httpPort;
    },
    get grpcPort() {
      return need().grpcPort;
    },
    get metricsPort() {
      return need().metricsPort;
    },
    metrics,
    get role() {
      return running?.lease.role ?? "follower";
    },
    get clusters(): ClusterDirectory {
      return clusterDirectory(need().stores.clusters);
    },
    resync: (clusterId, reason, bundles) => need().agents.resync.resync(clusterId, { reason, ...(bundles ? { bundles } : {}) }),
  };
}
