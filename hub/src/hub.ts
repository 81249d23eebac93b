// createHub: the hub's composition root. start() runs the steps of hub-steps.ts in order
// (NATS, stores, access, agent link, delivery, gRPC, admin API); stop() undoes them in reverse.
import { activeKeySigner } from "./signing/index.js";
import { adminTokenAnnouncer } from "./admin-bootstrap.js";
import type { FailedAuthLimit } from "./api/failed-auth-limit.js";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import type { ApiToken } from "./api/auth.js";
import type { ClusterDirectory, DeliveryFactory, HubDelivery } from "./delivery-contract.js";
import { HubError } from "./errors.js";
import { createHubEvents, type HubEvents } from "./events.js";
import { defaultEventLogLimits, type EventLogLimits } from "./fleet-events/index.js";
import { startAlerts } from "./hub-alerts.js";
import { startHistory, type History } from "./history/index.js";
import { startPromotion } from "./hub-promotion.js";
import type { GrpcTlsOptions } from "./grpc/server.js";
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
  startAgentLink,
  startDelivery,
  type AgentLink,
  type HubStores,
} from "./hub-steps.js";
import type { HubNatsOptions } from "./nats-connection.js";
import type { Sender, SinkConfig } from "./notifications/index.js";

/** Options of {@link createHub}. */
export interface HubOptions {
  logger: Logger;
  nats: HubNatsOptions;
  /** The gitfleet account: its public key and the seed of a signing key, to mint agent users. */
  account: { publicKey: string; signingSeed: string };
  /** NATS URLs handed to agents; default `nats.servers`. */
  agentNatsServers?: readonly string[];
  /** `host:port` of the admin API; default 127.0.0.1:8080 (port 0 picks one). */
  httpAddress?: string;
  /** `host:port` of the gRPC AgentService; default 127.0.0.1:9090 (port 0 picks one). */
  grpcAddress?: string;
  grpcTls?: GrpcTlsOptions | undefined;
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
  /** Limits of the fleet event log; default 7 days and 100,000 events. */
  eventLimits?: EventLogLimits;
  /** Entries of each cluster's history kept; default 100. */
  historyPerCluster?: number;
  /** How long a history entry waits for its commit's subject and author when this replica has not fetched it; default 10 s. */
  historyMetadataGraceMs?: number;
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
  /** The live cluster set (after start). */
  readonly clusters: ClusterDirectory;
  /** Asks a cluster's agent, on whichever replica holds its stream, to resync. */
  resync(clusterId: string, reason: string, bundles?: readonly string[]): Promise<void>;
}

/** What start() gives back: the parts the Hub interface reads while running. */
interface Running {
  stores: HubStores;
  history: History;
  agents: AgentLink;
  httpPort: number;
  grpcPort: number;
}

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
  let running: Running | undefined;
  let starting: Promise<Running> | undefined;
  // Every started part registers how to stop it, so a failed start undoes itself.
  const stops = createStopStack(logger);

  const start = async (): Promise<Running> => {
    const nats = await connectNats(options.nats, logger, stops);
    const stores = await openStores({ nats, replicas, readyTimeoutMs: options.readyTimeoutMs ?? 30_000, staleAfterMs, logger, now }, stops);
    const { apiTokens, issuer } = await prepareAccess({
      secrets: stores.secrets,
      apiTokens: options.apiTokens ?? [],
      announceAdminToken: options.announceAdminToken ?? adminTokenAnnouncer({ logger }),
      account: options.account,
      natsServers: options.agentNatsServers ?? [options.nats.servers].flat(),
      credentialTtlMs: options.credentialTtlMs ?? 3_600_000,
      now,
    });
    const agents = startAgentLink({ nats, stores, issuer, events, heartbeatIntervalSeconds, version, logger, now }, stops);
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
        logger,
        now,
      },
      stops,
    );
    const delivery = buildDelivery({
      delivery: options.delivery,
      nats,
      replicas,
      clusters: stores.clusters,
      events,
      resync: agents.resync,
      signer: activeKeySigner(() => stores.keyring.active()),
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
    const promotion = await startPromotion({ nats, replicas, stores, delivery, history: history.recorder, intervalMs: options.promotionIntervalMs, logger, now }, stops);
    const grpcPort = await serveGrpc({ address: options.grpcAddress ?? "127.0.0.1:9090", tls: options.grpcTls, agents, logger }, stops);
    const httpPort = await serveApi(
      {
        address: options.httpAddress ?? "127.0.0.1:8080",
        nats,
        stores,
        apiTokens,
        delivery,
        alerts,
        history: history.log,
        promotion,
        webhookSecret: options.webhookSecret,
        failedAuthLimit: options.apiFailedAuthLimit,
        tls: options.apiTls,
        staleAfterMs,
        version,
        logger,
        now,
      },
      stops,
    );
    logger.info({ httpPort, grpcPort, clusters: stores.clusters.list().length }, "hub started");
    return { stores, history, agents, httpPort, grpcPort };
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
    get clusters(): ClusterDirectory {
      return clusterDirectory(need().stores.clusters);
    },
    resync: (clusterId, reason, bundles) => need().agents.resync.resync(clusterId, { reason, ...(bundles ? { bundles } : {}) }),
  };
}
