// The agent assembled: identity, desired state from NATS, the reconcile loop and the status
// stream, started and stopped together. Runs in-process (e2e tests) or as gitfleet-agent.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { pino } from "pino";
import { systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import { createNatsDesiredStateSource } from "./desired-state-source.js";
import type { DesiredStateSource, NatsAccess, NatsDesiredStateSourceOptions } from "./desired-state-source.js";
import type { DesiredStateSnapshot } from "./desired-state.js";
import { AgentError, messageOf } from "./errors.js";
import { createHubClient } from "./hub-client.js";
import type { HubClient, HubTls } from "./hub-client.js";
import { createSecretIdentityStore, credentialsFromProto } from "./identity.js";
import type { AgentIdentity } from "./identity.js";
import { createConfigMapInventoryStore } from "./inventory.js";
import { createKubeClient } from "./kube-client.js";
import type { KubeClient } from "./kube-client.js";
import { createReconciler } from "./reconcile.js";
import type { ReconcileReport } from "./reconcile.js";
import { ensureIdentity } from "./registration.js";
import { createSecretStateStore } from "./state-store.js";
import { buildStatusReport } from "./status.js";
import { createStatusStream } from "./status-stream.js";
import { AGENT_VERSION } from "./version.js";

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /** The cluster to manage: a client, or a KubeConfig to build one from. One is required. */
  kube?: KubeClient;
  kubeConfig?: KubeConfig;
  /** Hub gRPC address; needed to register, and overrides the registered one when given. */
  hub?: string | undefined;
  /** Registration token; needed only to register. */
  token?: string | undefined;
  /** Cluster name; needed only to register. */
  clusterName?: string | undefined;
  labels?: Record<string, string>;
  /** The agent's namespace; default "gitfleet-system". */
  namespace?: string;
  /** How the channel to the hub is secured; default TLS verified by the system roots. */
  hubTls?: HubTls;
  /** Builds the hub client for an address; swapped by tests. */
  createHubClient?: (address: string) => HubClient;
  /** Builds the desired-state source; swapped by tests. */
  createDesiredStateSource?: (options: NatsDesiredStateSourceOptions) => DesiredStateSource;
  /** Re-enforce period; default 30 s. */
  reconcileIntervalMs?: number;
  crdTimeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
}

/** A running (or startable) agent. */
export interface Agent {
  /**
   * Loads or creates the identity (registering on first start), loads the last desired state
   * and starts every loop. Rejects with an AgentError (RegistrationError on a refusal).
   */
  start(): Promise<void>;
  /** Stops every loop and closes every connection. */
  stop(): Promise<void>;
  /** Runs one reconcile pass now. */
  reconcileNow(): Promise<ReconcileReport | undefined>;
  readonly identity: AgentIdentity | undefined;
  readonly desired: DesiredStateSnapshot | undefined;
  readonly lastReport: ReconcileReport | undefined;
  /** True while the status stream to the hub is up. */
  readonly hubConnected: boolean;
}

/** Creates an agent; nothing happens until {@link Agent.start}. */
export function createAgent(options: AgentOptions): Agent {
  const logger = options.logger ?? pino({ level: "silent" });
  const clock = options.clock ?? systemClock;
  const namespace = options.namespace ?? "gitfleet-system";
  const kube = options.kube ?? (options.kubeConfig ? createKubeClient({ kubeConfig: options.kubeConfig }) : undefined);
  if (!kube) throw new AgentError("invalid-config", "createAgent needs a kube client or a kubeConfig");
  const hubTls = options.hubTls ?? { mode: "system" };
  const makeHubClient = options.createHubClient ?? ((address: string) => createHubClient({ address, tls: hubTls }));
  const makeSource = options.createDesiredStateSource ?? createNatsDesiredStateSource;
  const identityStore = createSecretIdentityStore({ kube, namespace });
  const stateStore = createSecretStateStore({ kube, namespace, logger });
  const stopping = new AbortController();
  const reconciler = createReconciler({
    kube,
    inventory: createConfigMapInventoryStore({ kube, namespace }),
    agentNamespace: namespace,
    logger: logger.child({ part: "reconcile" }),
    clock,
    ...(options.reconcileIntervalMs !== undefined ? { intervalMs: options.reconcileIntervalMs } : {}),
    ...(options.crdTimeoutMs !== undefined ? { crdTimeoutMs: options.crdTimeoutMs } : {}),
    onReport: (report) => {
      status?.report(buildStatusReport(report, { agentVersion: AGENT_VERSION, kubernetesVersion, now: new Date(clock.now()) }));
    },
  });
  let identity: AgentIdentity | undefined;
  let kubernetesVersion = "";
  let hub: HubClient | undefined;
  let source: DesiredStateSource | undefined;
  let status: ReturnType<typeof createStatusStream> | undefined;
  let saving: Promise<void> = Promise.resolve();
  let started = false;

  const natsAccess = (id: AgentIdentity): NatsAccess => ({
    servers: id.credentials.natsServers,
    userJwt: id.credentials.natsUserJwt,
    userSeed: id.natsUserSeed,
    inboxPrefix: id.credentials.natsInboxPrefix,
  });

  const ensureNamespace = async (): Promise<void> => {
    const ref = { group: "", version: "v1", kind: "Namespace", namespace: "", name: namespace };
    if (await kube.get(ref)) return;
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  };

  return {
    async start() {
      if (started) throw new AgentError("invalid-config", "the agent was started already");
      started = true;
      try {
        await ensureNamespace();
      } catch (error) {
        throw new AgentError("kubernetes", `cannot ensure the agent's namespace ${namespace}: ${messageOf(error)}`, { cause: error });
      }
      kubernetesVersion = await kube.serverVersion().catch(() => "");
      const result = await ensureIdentity({
        store: identityStore,
        hubAddress: options.hub,
        token: options.token,
        clusterName: options.clusterName,
        labels: options.labels ?? {},
        agentVersion: AGENT_VERSION,
        kubernetesVersion: () => Promise.resolve(kubernetesVersion),
        register: async (address, request) => {
          const client = makeHubClient(address);
          try {
            return await client.register(request);
          } finally {
            client.close();
          }
        },
        clock,
        logger,
        signal: stopping.signal,
      });
      const id = result.identity;
      identity = id;
      const hubAddress = options.hub ?? id.hubAddress;
      if (hubAddress !== id.hubAddress) logger.info({ hub: hubAddress, registeredWith: id.hubAddress }, "using a hub address other than the registered one");
      const log = logger.child({ cluster: id.clusterName, clusterId: id.clusterId });

      const initial = await stateStore.load();
      if (initial) {
        log.info({ revision: initial.revision, generation: initial.generation.toString() }, "enforcing the stored desired state until NATS answers");
        reconciler.setDesired(initial);
      }
      source = makeSource({
        access: natsAccess(id),
        bucket: id.kvBucket,
        keyPrefix: id.keyPrefix,
        initial,
        logger: log.child({ part: "desired-state" }),
        clock,
        onState: async (state) => {
          reconciler.setDesired(state);
          await stateStore.save(state);
        },
      });
      hub = makeHubClient(hubAddress);
      status = createStatusStream({
        hub,
        grpcToken: () => identity?.credentials.grpcToken ?? "",
        credentialsLifetime: () => ({
          receivedAt: identity?.credentials.receivedAt ?? 0,
          expiresAt: identity?.credentials.expiresAt ?? 0,
        }),
        observed: () => ({ revision: reconciler.lastReport?.revision ?? "", generation: reconciler.lastReport?.generation ?? 0n }),
        onCredentials: async (credentials) => {
          if (!identity) return;
          identity = { ...identity, credentials: credentialsFromProto(credentials, clock.now()) };
          const next = identity;
          source?.updateCredentials(natsAccess(next));
          // Saves run one after another, so an older refresh never overwrites a newer one.
          const save = saving.then(() => identityStore.save({ state: "registered", identity: next }));
          saving = save.catch(() => undefined);
          await save;
          log.info({ expiresAt: new Date(next.credentials.expiresAt).toISOString() }, "credentials refreshed and stored");
        },
        onResync: (resync) => {
          source?.resync();
          reconciler.resync(resync.bundles);
        },
        heartbeatIntervalMs: id.heartbeatIntervalSeconds * 1000,
        logger: log.child({ part: "status" }),
        clock,
      });
      if (stopping.signal.aborted) return;
      reconciler.start();
      source.start();
      status.start();
    },
    async stop() {
      stopping.abort();
      await Promise.all([status?.stop(), source?.stop(), reconciler.stop()]);
      hub?.close();
      await saving;
    },
    reconcileNow: () => reconciler.reconcileNow(),
    get identity() {
      return identity;
    },
    get desired() {
      return reconciler.desired;
    },
    get lastReport() {
      return reconciler.lastReport;
    },
    get hubConnected() {
      return status?.connected ?? false;
    },
  };
}
