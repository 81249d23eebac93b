// The agent assembled: identity, desired state from NATS, the reconcile loop and the status
// stream, started and stopped together. Runs in-process (e2e tests) or as gitfleet-agent.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { livenessOf, readinessOf } from "./agent-health.js";
import type { AgentHealthView, ProbeResult } from "./agent-health.js";
import { systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import { createNatsDesiredStateSource } from "./desired-state-source.js";
import type { DesiredStateSource, NatsAccess, NatsDesiredStateSourceOptions } from "./desired-state-source.js";
import type { DesiredStateSnapshot } from "./desired-state.js";
import { AgentError } from "./errors.js";
import { createHubClient } from "./hub-client.js";
import type { HubClient, HubTls } from "./hub-client.js";
import { createSecretIdentityStore, credentialsFromProto } from "./identity.js";
import type { AgentIdentity } from "./identity.js";
import { createConfigMapInventoryStore } from "./inventory.js";
import { createKubeClient } from "./kube-client.js";
import type { KubeClient } from "./kube-client.js";
import { DEFAULT_LEADER_ELECTION_TIMING, LEASE_NAME, createLeaderElector } from "./leader-election.js";
import type { LeaderElectionTiming, LeaderElector, RenewOutcome } from "./leader-election.js";
import { createLeaseClient } from "./lease.js";
import type { LeaseClient } from "./lease.js";
import { createReconciler } from "./reconcile.js";
import type { ReconcileReport } from "./reconcile.js";
import { ensureIdentity } from "./registration.js";
import { signRenewRequest } from "./renewal.js";
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
  /**
   * Elect a leader among the agent's replicas on a Lease in its namespace before registering
   * or reconciling: only the leader loads the identity, reconciles and holds the hub stream.
   */
  leaderElection?: AgentLeaderElectionOptions;
  /**
   * Called when the leader could not renew its lease: its loops have stopped, and the process
   * should exit so that it comes back as a follower (the way Kubernetes controllers do it).
   */
  onLeadershipLost?: () => void;
  logger?: Logger;
  clock?: Clock;
}

/** Leader election settings of {@link createAgent}. */
export interface AgentLeaderElectionOptions extends Partial<LeaderElectionTiming> {
  /** The lease; default the Lease `gitfleet-agent` in the agent's namespace, through `kubeConfig`. */
  lease?: LeaseClient;
  /** This replica's identity in the Lease; default the host (pod) name and a random suffix. */
  identity?: string;
}

/** The agent's answers to the liveness and readiness probes. */
export interface AgentProbes {
  live: ProbeResult;
  ready: ProbeResult;
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
  /** True while this agent leads: from start() on without leader election, once it holds the lease with it. */
  readonly leading: boolean;
  /** Liveness and readiness now, for the probe server (see agent-health.ts for the rules). */
  probes(): AgentProbes;
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
  const reconcileIntervalMs = options.reconcileIntervalMs ?? 30_000;
  const reconciler = createReconciler({
    kube,
    inventory: createConfigMapInventoryStore({ kube, namespace }),
    agentNamespace: namespace,
    logger: logger.child({ part: "reconcile" }),
    clock,
    intervalMs: reconcileIntervalMs,
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
  let running: Promise<void> | undefined;
  let leaseRenewals: Promise<void> | undefined;
  let lostLeadership = false;
  const elector = options.leaderElection ? electorFor(options, options.leaderElection, { namespace, clock, logger }) : undefined;

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

  const lead = async (): Promise<void> => {
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
      renewRequest: () => signRenewRequest(id, clock.now()),
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
  };

  const stopLoops = async (): Promise<void> => {
    await Promise.all([status?.stop(), source?.stop(), reconciler.stop()]);
    hub?.close();
    await saving;
  };

  // The leader could not renew in time: stop everything at once, before a follower takes over.
  const loseLeadership = async (): Promise<void> => {
    lostLeadership = true;
    stopping.abort();
    await running?.catch(() => undefined);
    await stopLoops();
    options.onLeadershipLost?.();
  };

  const run = async (): Promise<void> => {
    try {
      await ensureNamespace();
    } catch (error) {
      throw new AgentError("kubernetes", `cannot ensure the agent's namespace ${namespace}: ${messageOf(error)}`, { cause: error });
    }
    if (elector) {
      const candidate = elector;
      if (!(await candidate.acquire(stopping.signal))) return;
      // Lease renewals begin before registration, which may wait long for an unreachable hub.
      leaseRenewals = candidate.renew(stopping.signal).then(async (outcome: RenewOutcome) => {
        if (outcome === "lost") await loseLeadership();
      });
    }
    await lead();
    if (lostLeadership) throw new AgentError("kubernetes", `lost the leader lease ${elector?.identity ?? ""} while starting`);
  };

  return {
    async start() {
      if (started) throw new AgentError("invalid-config", "the agent was started already");
      started = true;
      running = run();
      await running;
    },
    async stop() {
      stopping.abort();
      await running?.catch(() => undefined);
      await leaseRenewals;
      await stopLoops();
      await elector?.release();
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
    get leading() {
      return elector ? elector.leading : started && !lostLeadership;
    },
    probes() {
      const view: AgentHealthView = {
        now: clock.now(),
        stopping: stopping.signal.aborted,
        leaderElection: elector !== undefined,
        leading: elector ? elector.leading : true,
        lostLeadership,
        electionAttemptAt: elector?.lastAttemptAt ?? 0,
        electionStallMs: 3 * (elector?.timing.leaseDurationMs ?? 0),
        reconcileTickAt: reconciler.lastTickAt,
        reconcileStallMs: Math.max(3 * reconcileIntervalMs, 300_000),
        identityLoaded: identity !== undefined,
        appliedRevision: reconciler.lastReport?.revision,
        hubConnected: status?.connected ?? false,
      };
      return { live: livenessOf(view), ready: readinessOf(view) };
    },
  };
}

function electorFor(
  options: AgentOptions,
  election: AgentLeaderElectionOptions,
  context: { namespace: string; clock: Clock; logger: Logger },
): LeaderElector {
  const { lease: givenLease, identity, ...timing } = election;
  let lease = givenLease;
  if (!lease) {
    if (!options.kubeConfig) throw new AgentError("invalid-config", "leader election needs a lease client or a kubeConfig");
    lease = createLeaseClient({
      kubeConfig: options.kubeConfig,
      namespace: context.namespace,
      name: LEASE_NAME,
      // An attempt makes two requests and must end well within the renew deadline.
      requestTimeoutMs: Math.max(1_000, Math.floor((timing.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION_TIMING.renewDeadlineMs) / 4)),
    });
  }
  return createLeaderElector({
    lease,
    ...(identity ? { identity } : {}),
    ...timing,
    clock: context.clock,
    logger: context.logger.child({ part: "leader-election" }),
  });
}
