// The agent assembled: its namespace, the leader election (when asked for) and, while this
// replica leads, one leadership term (identity, desired state from NATS, the reconcile loop,
// the status stream; see leadership-term.ts). Runs in-process (e2e tests) or as gitfleet-agent.
import type { KubeConfigLike } from "./kube-config.js";
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { livenessOf, readinessOf } from "./agent-health.js";
import type { AgentHealthView, ProbeResult } from "./agent-health.js";
import { systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import { createNatsDesiredStateSource } from "./desired-state-source.js";
import type { DesiredStateSource, NatsDesiredStateSourceOptions } from "./desired-state-source.js";
import type { DesiredStateSnapshot } from "./desired-state.js";
import { AgentError } from "./errors.js";
import { createHubClient } from "./hub-client.js";
import type { HubClient, HubTls } from "./hub-client.js";
import { createSecretIdentityStore } from "./identity.js";
import type { AgentIdentity } from "./identity.js";
import { createConfigMapInventoryStore } from "./inventory.js";
import { createKubeClient } from "./kube-client.js";
import type { KubeClient } from "./kube-client.js";
import { DEFAULT_LEADER_ELECTION_TIMING, LEASE_NAME, createLeaderElector } from "./leader-election.js";
import type { LeaderElectionTiming, LeaderElector } from "./leader-election.js";
import { createLeadershipTerm } from "./leadership-term.js";
import type { LoopGuardLimits } from "./drift/index.js";
import type { LeadershipTerm } from "./leadership-term.js";
import { createLeaseClient } from "./lease.js";
import type { LeaseClient } from "./lease.js";
import type { AgentMetrics } from "./metrics.js";
import type { ReconcileReport } from "./reconcile.js";
import { createSecretStateStore } from "./state-store.js";
import type { AgentRbac } from "./self-guard.js";

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /** The cluster to manage: a client, or a KubeConfig to build one from. One is required. */
  kube?: KubeClient;
  kubeConfig?: KubeConfigLike;
  /** Hub gRPC address; needed to register, and overrides the registered one when given. */
  hub?: string | undefined;
  /** Registration token; needed only to register. */
  token?: string | undefined;
  /** Cluster name; needed only to register. */
  clusterName?: string | undefined;
  labels?: Record<string, string>;
  /** The agent's namespace; default "gitfleet-system". */
  namespace?: string;
  /** The agent's ServiceAccount and RBAC names, which bundles may not touch. */
  agentRbac?: AgentRbac | undefined;
  /** How the channel to the hub is secured; default TLS verified by the system roots. */
  hubTls?: HubTls;
  /**
   * CA certificates (PEM) that sign the NATS servers' certificates (--nats-ca). Without it TLS to
   * NATS is still required, verified by the system roots, unless every server is loopback.
   */
  natsCaPem?: string | undefined;
  /** Builds the hub client for an address; swapped by tests. */
  createHubClient?: (address: string, options?: { maxReconnectBackoffMs?: number }) => HubClient;
  /** Builds the desired-state source; swapped by tests. */
  createDesiredStateSource?: (options: NatsDesiredStateSourceOptions) => DesiredStateSource;
  /** Re-enforce period; default 30 s. */
  reconcileIntervalMs?: number;
  crdTimeoutMs?: number;
  /** Limits of the drift loop guard (corrections per window before a conflict, back-off). */
  loopGuard?: Partial<LoopGuardLimits>;
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
  /** The agent's metrics (see metrics.ts); the agent reports to them and binds their gauges. */
  metrics?: AgentMetrics | undefined;
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
  const reconcileIntervalMs = options.reconcileIntervalMs ?? 30_000;
  const elector = options.leaderElection ? electorFor(options, options.leaderElection, { namespace, clock, logger }) : undefined;
  const stopping = new AbortController();
  // The work of this replica's leadership: undefined until it leads.
  let term: LeadershipTerm | undefined;
  let running: Promise<void> | undefined;

  const newTerm = (): LeadershipTerm =>
    createLeadershipTerm({
      kube,
      namespace,
      identityStore: createSecretIdentityStore({ kube, namespace }),
      stateStore: createSecretStateStore({ kube, namespace, logger }),
      inventory: createConfigMapInventoryStore({ kube, namespace }),
      registration: { hub: options.hub, token: options.token, clusterName: options.clusterName, labels: options.labels ?? {} },
      makeHubClient: options.createHubClient ?? ((address, channel) => createHubClient({ address, tls: hubTls, ...channel })),
      makeSource: options.createDesiredStateSource ?? createNatsDesiredStateSource,
      reconcileIntervalMs,
      crdTimeoutMs: options.crdTimeoutMs,
      natsCaPem: options.natsCaPem,
      agentRbac: options.agentRbac,
      loopGuard: options.loopGuard,
      metrics: options.metrics?.reconcile,
      elector,
      signal: stopping.signal,
      onLost: () => {
        stopping.abort();
        options.onLeadershipLost?.();
      },
      clock,
      logger,
    });

  const ensureNamespace = async (): Promise<void> => {
    const ref = { group: "", version: "v1", kind: "Namespace", namespace: "", name: namespace };
    if (await kube.get(ref)) return;
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  };

  options.metrics?.bind({
    lastReport: () => term?.reconciler.lastReport,
    drift: () => term?.driftCounts() ?? { drifted: 0, missing: 0, conflict: 0 },
    hubConnected: () => term?.hubConnected ?? false,
    leading: () => (elector ? elector.leading : term !== undefined),
  });

  const run = async (): Promise<void> => {
    try {
      await ensureNamespace();
    } catch (error) {
      throw new AgentError("kubernetes", `cannot ensure the agent's namespace ${namespace}: ${messageOf(error)}`, { cause: error });
    }
    if (elector && !(await elector.acquire(stopping.signal))) return;
    term = newTerm();
    await term.start();
  };

  return {
    async start() {
      if (running) throw new AgentError("invalid-config", "the agent was started already");
      running = run();
      await running;
    },
    async stop() {
      stopping.abort();
      await running?.catch(() => undefined);
      await term?.stop();
    },
    reconcileNow: async () => await term?.reconciler.reconcileNow(),
    get identity() {
      return term?.identity;
    },
    get desired() {
      return term?.reconciler.desired;
    },
    get lastReport() {
      return term?.reconciler.lastReport;
    },
    get hubConnected() {
      return term?.hubConnected ?? false;
    },
    get leading() {
      return elector ? elector.leading : running !== undefined;
    },
    probes() {
      const view: AgentHealthView = {
        now: clock.now(),
        stopping: stopping.signal.aborted,
        leaderElection: elector !== undefined,
        leading: elector ? elector.leading : true,
        lostLeadership: term?.lost ?? false,
        electionAttemptAt: elector?.lastAttemptAt ?? 0,
        electionStallMs: 3 * (elector?.timing.leaseDurationMs ?? 0),
        reconcileTickAt: term?.reconciler.lastTickAt,
        reconcileStallMs: Math.max(3 * reconcileIntervalMs, 300_000),
        identityLoaded: term?.identity !== undefined,
        appliedRevision: term?.reconciler.lastReport?.revision,
        hubConnected: term?.hubConnected ?? false,
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
