// createHub: wires NATS, the stores, the credential issuer, the gRPC AgentService,
// the admin API and (optionally) the delivery part, and owns their lifecycles.
import { messageOf as errorMessage } from "@gitfleet/proto/rules";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { Logger } from "pino";
import { bootstrapAdminToken, printAdminToken } from "./admin-bootstrap.js";
import { createApiAuthenticator, type ApiToken } from "./api/auth.js";
import { createApiServer, type ApiServer } from "./api/server.js";
import { createClusterRemover } from "./cluster-removal.js";
import { createCredentialIssuer } from "./credentials/issuer.js";
import type { ClusterDirectory, DeliveryFactory, HubDelivery } from "./delivery-contract.js";
import { HubError } from "./errors.js";
import { createHubEvents, type HubEvents } from "./events.js";
import { createAgentService, type AgentServiceHandle } from "./grpc/agent-service.js";
import { createGrpcServer, type GrpcServer, type GrpcTlsOptions } from "./grpc/server.js";
import { connectHubNats, type HubNatsConnection, type HubNatsOptions } from "./nats-connection.js";
import { createResyncBroadcast, type ResyncBroadcast } from "./resync-broadcast.js";
import { bucketNames, openBucket } from "./store/buckets.js";
import { createClusterStore, type ClusterChange, type ClusterStore } from "./store/clusters.js";
import { createHubSecretsStore } from "./store/hub-secrets.js";
import { createRegistrationTokenStore } from "./store/registration-tokens.js";
import { createStatusStore, type StatusStore } from "./store/status.js";

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
  /** Lifetime of agent credentials; default 1 hour. */
  credentialTtlMs?: number;
  /** Heartbeat interval agents are told; default 15 s. */
  heartbeatIntervalSeconds?: number;
  /** The delivery part, or a factory that builds it from the hub's NATS connection. */
  delivery?: HubDelivery | DeliveryFactory | undefined;
  /** Shows a generated admin token once; default: one line on stdout. */
  announceAdminToken?: (secret: string) => void;
  /** How long start() waits for the stores' initial load; default 30 s. */
  readyTimeoutMs?: number;
  /** Version shown in the OpenAPI document. */
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

interface Running {
  nats: HubNatsConnection;
  clusters: ClusterStore;
  status: StatusStore;
  agentService: AgentServiceHandle;
  resync: ResyncBroadcast;
  grpc: GrpcServer;
  api: ApiServer;
  delivery: HubDelivery | undefined;
  httpPort: number;
  grpcPort: number;
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

/** Creates a hub from its options; see {@link Hub}. */
export function createHub(options: HubOptions): Hub {
  const logger = options.logger;
  const now = options.now ?? (() => new Date());
  const events = createHubEvents();
  const heartbeatIntervalSeconds = options.heartbeatIntervalSeconds ?? 15;
  let running: Running | undefined;
  let starting: Promise<void> | undefined;
  // Every started part registers how to stop it, so a failed start undoes itself.
  const stops: Array<() => Promise<void>> = [];

  const stopAll = async (): Promise<void> => {
    while (stops.length > 0) {
      const stop = stops.pop();
      try {
        await stop?.();
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, "error while stopping the hub");
      }
    }
  };

  const start = async (): Promise<void> => {
    const nats = await connectHubNats(options.nats, logger.child({ component: "nats" }));
    stops.push(() => nats.close());
    const replicas = options.nats.replicas ?? 1;
    const kvm = new Kvm(nats.nc);
    const [hubKv, tokensKv, clustersKv, namesKv, statusKv] = await Promise.all([
      openBucket(kvm, bucketNames.hub, { replicas, description: "gitfleet hub secrets (hashes, HMAC key)" }),
      openBucket(kvm, bucketNames.tokens, { replicas, description: "gitfleet registration tokens (hashed)" }),
      openBucket(kvm, bucketNames.clusters, { replicas, description: "gitfleet cluster records" }),
      openBucket(kvm, bucketNames.clusterNames, { replicas, description: "gitfleet cluster name reservations" }),
      openBucket(kvm, bucketNames.status, { replicas, description: "gitfleet latest StatusReport per cluster" }),
    ]);
    const jsm = await jetstreamManager(nats.nc);

    const secrets = createHubSecretsStore({ kv: hubKv });
    const tokens = createRegistrationTokenStore({ kv: tokensKv, now });
    const clusters = createClusterStore({ clusters: clustersKv, names: namesKv, logger, now });
    stops.push(() => clusters.stop());
    const status = createStatusStore({ kv: statusKv, logger });
    stops.push(() => status.stop());
    await withDeadline(Promise.all([clusters.ready(), status.ready()]), options.readyTimeoutMs ?? 30_000, "loading clusters and status from JetStream");

    const apiTokens = await bootstrapAdminToken({
      configured: options.apiTokens ?? [],
      secrets,
      announce: options.announceAdminToken ?? printAdminToken,
    });
    const issuer = createCredentialIssuer({
      credentialKey: await secrets.credentialKey(),
      accountPublicKey: options.account.publicKey,
      accountSigningSeed: options.account.signingSeed,
      natsServers: options.agentNatsServers ?? [options.nats.servers].flat(),
      ttlMs: options.credentialTtlMs ?? 3_600_000,
      now,
    });

    const agentService = createAgentService({
      tokens,
      clusters,
      status,
      issuer,
      logger,
      heartbeatIntervalSeconds,
      onClusterRegistered: (cluster) => events.emit("cluster-registered", cluster),
      onStatusReported: (clusterId, report) => events.emit("status-reported", clusterId, report),
      now,
    });
    const resync = createResyncBroadcast({
      nc: nats.nc,
      logger,
      deliverLocal: (clusterId, request) => agentService.resyncLocal(clusterId, request),
    });
    stops.push(() => resync.stop());

    const directory: ClusterDirectory = { list: (s) => clusters.list(s), getByName: (n) => clusters.getByName(n) };
    const delivery =
      typeof options.delivery === "function"
        ? options.delivery({
            nc: nats.nc,
            logger: logger.child({ component: "delivery" }),
            clusters: directory,
            events,
            replicas,
            resync: (clusterId, reason, bundles) => resync.resync(clusterId, { reason, ...(bundles ? { bundles } : {}) }),
          })
        : options.delivery;

    const unsubscribe = clusters.subscribe((change) => {
      if (change.type === "removed") events.emit("cluster-deleted", change.cluster);
      if (!targetingChanged(change)) return;
      const all = clusters.list();
      events.emit("clusters-changed", all);
      if (delivery) {
        void Promise.resolve()
          .then(() => delivery.onClustersChanged(all))
          .catch((err: unknown) => logger.error({ err: errorMessage(err) }, "delivery failed to handle a cluster change"));
      }
    });
    stops.push(() => Promise.resolve(unsubscribe()));

    if (delivery) {
      await delivery.start();
      stops.push(() => delivery.stop());
    }

    const grpc = createGrpcServer({
      address: options.grpcAddress ?? "127.0.0.1:9090",
      implementation: agentService.implementation,
      tls: options.grpcTls,
      logger,
    });
    const grpcPort = await grpc.start();
    // Streams end before the server shuts down, so tryShutdown does not wait for them.
    stops.push(async () => {
      await agentService.stop();
      await grpc.stop();
    });

    const api = await createApiServer({
      logger,
      tokens,
      clusters,
      status,
      auth: createApiAuthenticator(apiTokens),
      bundleErrors: delivery ?? { errorsFor: () => [] },
      fleet: { bundles: () => delivery?.bundles?.() },
      removeCluster: createClusterRemover({
        clusters,
        status,
        jsm,
        logger,
        purgeDesired: delivery?.purge ? (id) => delivery.purge?.(id) ?? Promise.resolve() : undefined,
      }),
      readiness: () => ({
        nats: nats.connected ? "ok" : "disconnected",
        clusters: clusters.isReady ? "ok" : "loading",
        status: status.isReady ? "ok" : "loading",
      }),
      webhookSecret: options.webhookSecret,
      onGitPush: () => {
        if (!delivery) {
          logger.warn("Git push received, but no delivery part is configured");
          return;
        }
        void Promise.resolve()
          .then(() => delivery.triggerFetch())
          .catch((err: unknown) => logger.error({ err: errorMessage(err) }, "delivery failed to fetch after a push"));
      },
      staleAfterMs: heartbeatIntervalSeconds * 3 * 1000,
      version: options.version ?? "0.0.0",
      now,
    });
    const httpPort = await api.listen(options.httpAddress ?? "127.0.0.1:8080");
    stops.push(() => api.close());
    logger.info({ httpPort, grpcPort, clusters: clusters.list().length }, "hub started");

    running = { nats, clusters, status, agentService, resync, grpc, api, delivery, httpPort, grpcPort };
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
        await starting;
      } catch (err) {
        await stopAll();
        throw err;
      } finally {
        starting = undefined;
      }
    },
    async stop() {
      running = undefined;
      await stopAll();
      logger.info("hub stopped");
    },
    get httpPort() {
      return need().httpPort;
    },
    get grpcPort() {
      return need().grpcPort;
    },
    get clusters(): ClusterDirectory {
      const { clusters } = need();
      return { list: (s) => clusters.list(s), getByName: (n) => clusters.getByName(n) };
    },
    resync: (clusterId, reason, bundles) => need().resync.resync(clusterId, { reason, ...(bundles ? { bundles } : {}) }),
  };
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
