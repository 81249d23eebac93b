// One leadership term of the agent: everything that runs while this replica leads. The agent
// creates a term once the replica holds the leader lease (at once without leader election);
// start() renews the lease, loads the identity (registering on the first start), then starts
// the desired-state source, the status stream and the reconcile loop. stop() undoes exactly
// what start() did, newest first, and releases the lease last. A lost lease stops the term the
// same way before the agent is told. A term is never started twice: a replica that lost its
// lease exits and comes back as a follower.
import type { AgentRbac } from "./self-guard.js";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import type { DesiredStateSource, NatsAccess, NatsDesiredStateSourceOptions } from "./desired-state-source.js";
import { AgentError } from "./errors.js";
import type { HubClient } from "./hub-client.js";
import { credentialsFromProto } from "./identity.js";
import type { AgentIdentity, IdentityStore } from "./identity.js";
import type { InventoryStore } from "./inventory.js";
import type { KubeClient } from "./kube-client.js";
import type { LeaderElector } from "./leader-election.js";
import { checkPointer, updatePinnedKeys } from "./desired-trust.js";
import type { HeldPointer, PointerRefusal } from "./desired-trust.js";
import type { ReconcileMetrics } from "./metrics.js";
import { createReconciler } from "./reconcile.js";
import type { Reconciler } from "./reconcile.js";
import { ensureIdentity } from "./registration.js";
import { signConnectProof, signRenewRequest } from "./renewal.js";
import type { StateStore } from "./state-store.js";
import { buildStatusReport, driftedField } from "./status.js";
import { createDriftMonitor, createKubeEventRecorder } from "./drift/index.js";
import type { Correction, DriftMonitor, LoopGuardLimits } from "./drift/index.js";
import { AgentEventSchema, AgentEventType, create, timestampFromDate } from "@gitfleet/proto";
import type { AgentEvent, TrustedKey } from "@gitfleet/proto";
import { createStatusStream } from "./status-stream.js";
import type { StatusStream } from "./status-stream.js";
import { AGENT_VERSION } from "./version.js";

/** What a term is built from: the agent's parts and settings, and how it ends. */
export interface LeadershipTermOptions {
  kube: KubeClient;
  namespace: string;
  identityStore: IdentityStore;
  stateStore: StateStore;
  inventory: InventoryStore;
  /** What registering needs; only used when no identity is stored yet. */
  registration: { hub: string | undefined; token: string | undefined; clusterName: string | undefined; labels: Record<string, string> };
  makeHubClient: (address: string, channel?: { maxReconnectBackoffMs?: number }) => HubClient;
  makeSource: (options: NatsDesiredStateSourceOptions) => DesiredStateSource;
  reconcileIntervalMs: number;
  crdTimeoutMs?: number | undefined;
  /** CA certificates (PEM) for TLS to NATS (--nats-ca). */
  natsCaPem?: string | undefined;
  /** The agent's ServiceAccount and RBAC names, which bundles may not touch. */
  agentRbac?: AgentRbac | undefined;
  /** Limits of the drift loop guard; defaults in drift/loop-guard.ts. */
  loopGuard?: Partial<LoopGuardLimits> | undefined;
  /** Told how long passes and applies took. */
  metrics?: ReconcileMetrics | undefined;
  /** The lease this term holds: renewed from start() until stop(), released at the end. */
  elector: LeaderElector | undefined;
  /** Aborted when the agent stops: ends waits in start() (e.g. for an unreachable hub). */
  signal: AbortSignal;
  /** Called once the term has stopped because the lease could not be renewed. */
  onLost: () => void;
  /** How long stop() waits for each part before it goes on without it; default 10 s. */
  stopPartTimeoutMs?: number | undefined;
  clock: Clock;
  logger: Logger;
}

/** The work of one leadership term, started and stopped as a unit. */
export interface LeadershipTerm {
  /**
   * Renews the lease, loads or creates the identity and starts the loops. Rejects with an
   * AgentError (RegistrationError on a refusal), or when the lease was lost meanwhile.
   */
  start(): Promise<void>;
  /** Stops what start() started, newest first, then releases the lease; safe to call again. */
  stop(): Promise<void>;
  readonly identity: AgentIdentity | undefined;
  readonly reconciler: Reconciler;
  /** True while the status stream to the hub is up. */
  readonly hubConnected: boolean;
  /** The lease was lost during this term; everything it started has stopped or is stopping. */
  readonly lost: boolean;
  /** Objects of the desired bundles drifted, missing or in conflict now (for metrics). */
  driftCounts(): Record<"drifted" | "missing" | "conflict", number>;
}

const natsAccess = (id: AgentIdentity): NatsAccess => ({
  servers: id.credentials.natsServers,
  userJwt: id.credentials.natsUserJwt,
  userSeed: id.natsUserSeed,
  inboxPrefix: id.credentials.natsInboxPrefix,
});

/** Creates a {@link LeadershipTerm}; nothing runs before start(). */
export function createLeadershipTerm(options: LeadershipTermOptions): LeadershipTerm {
  const { kube, clock, logger, elector } = options;
  const ended = new AbortController();
  const signal = AbortSignal.any([options.signal, ended.signal]);
  // How to stop each part start() began, in the order they began.
  const stops: Array<{ part: string; stop: () => Promise<void> | void }> = [];
  let identity: AgentIdentity | undefined;
  let status: StatusStream | undefined;
  let kubernetesVersion = "";
  // Why the last pointer received was refused; undefined once a verified one is accepted.
  let refusal: PointerRefusal | undefined;
  let lost = false;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  // Drift and health changes between passes are sent after a short pause, so a burst of watch
  // events (a rollout) becomes one report.
  let statusTimer: NodeJS.Timeout | undefined;
  const sendStatus = (): void => {
    clearTimeout(statusTimer);
    statusTimer = undefined;
    const report = reconciler.lastReport;
    if (!report) return;
    status?.report(
      buildStatusReport(report, {
        agentVersion: AGENT_VERSION,
        kubernetesVersion,
        now: new Date(clock.now()),
        drift: (bundle) => drift.objects(bundle),
        driftMode: (bundle) => reconciler.desired?.bundles.find((b) => b.name === bundle)?.policy.drift,
        desiredStateCheck: refusal ? { refused: true, reason: refusal.code, message: refusal.message } : { refused: false },
      }),
    );
  };
  const drift: DriftMonitor = createDriftMonitor({
    kube,
    clock,
    logger: logger.child({ part: "drift" }),
    ...(options.loopGuard ? { limits: options.loopGuard } : {}),
    recordEvent: createKubeEventRecorder({ kube, clock, logger }),
    onChange: () => {
      statusTimer ??= setTimeout(sendStatus, 200);
    },
    onCorrection: (correction) => status?.events([agentEvent(correction)]),
  });

  const reconciler = createReconciler({
    kube,
    inventory: options.inventory,
    agentNamespace: options.namespace,
    agentRbac: options.agentRbac,
    logger: logger.child({ part: "reconcile" }),
    clock,
    intervalMs: options.reconcileIntervalMs,
    ...(options.crdTimeoutMs !== undefined ? { crdTimeoutMs: options.crdTimeoutMs } : {}),
    drift,
    metrics: options.metrics,
    onReport: () => sendStatus(),
  });

  // The leader could not renew in time: stop everything at once, before a follower takes over.
  const loseLease = async (): Promise<void> => {
    lost = true;
    await stop().catch((err: unknown) => logger.error({ err }, "error while stopping after losing the leader lease"));
    options.onLost();
  };

  // Renewals begin before the identity is loaded: registering may wait long for an unreachable hub.
  const holdLease = (lease: LeaderElector): void => {
    stops.push({ part: "leader lease", stop: () => lease.release() });
    // Renewals have their own signal: they go on while the rest of the term stops.
    const renewing = new AbortController();
    const renewals = lease.renew(renewing.signal);
    // A lease lost while the term stops anyway changes nothing.
    void renewals.then((outcome) => (outcome === "lost" && !stopping ? loseLease() : undefined));
    stops.push({
      part: "lease renewals",
      stop: async () => {
        renewing.abort();
        await renewals;
      },
    });
  };

  const loadIdentity = async (): Promise<AgentIdentity> => {
    kubernetesVersion = await kube.serverVersion().catch(() => "");
    const { registration, makeHubClient } = options;
    const result = await ensureIdentity({
      store: options.identityStore,
      hubAddress: registration.hub,
      token: registration.token,
      clusterName: registration.clusterName,
      labels: registration.labels,
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
      signal,
    });
    return result.identity;
  };

  const startLoops = async (id: AgentIdentity): Promise<void> => {
    const hubAddress = options.registration.hub ?? id.hubAddress;
    if (hubAddress !== id.hubAddress) logger.info({ hub: hubAddress, registeredWith: id.hubAddress }, "using a hub address other than the registered one");
    const clusterLogger = logger.child({ cluster: id.clusterName, clusterId: id.clusterId });

    const initial = await options.stateStore.load();
    if (initial) {
      clusterLogger.info({ revision: initial.revision, generation: initial.generation.toString() }, "enforcing the stored desired state until NATS answers");
      reconciler.setDesired(initial);
    }
    // The channel reconnects at least once per heartbeat, like the status stream above it.
    const hub = options.makeHubClient(hubAddress, { maxReconnectBackoffMs: Math.max(1_000, id.heartbeatIntervalSeconds * 1000) });
    // The keys pointers must be signed with; an agent registered before keys were pinned has none
    // until its first Welcome (trust on first use, over the channel it verified the hub on).
    let pinned = id.desiredStateKeys ?? [];
    if (pinned.length === 0) {
      clusterLogger.warn("no desired-state signing keys are pinned in the identity Secret (registered before signing); pointers are refused until the hub's first Welcome, whose keys will be pinned");
    }
    const held = (): HeldPointer | undefined => reconciler.desired;
    const onTrustedKeys = async (keys: TrustedKey[], from: string): Promise<void> => {
      const firstUse = pinned.length === 0;
      const update = updatePinnedKeys(pinned, keys);
      for (const problem of update.refused) clusterLogger.error({ from }, `refused a desired-state key from the hub: ${problem}`);
      if (update.added.length === 0 && update.dropped.length === 0) return;
      if (firstUse) {
        clusterLogger.warn({ keys: update.added, from }, "TRUST ON FIRST USE: pinning the hub's desired-state signing keys from this connection; this agent was registered before keys were pinned at registration");
      } else {
        clusterLogger.info({ added: update.added, dropped: update.dropped, from }, "desired-state signing keys changed");
      }
      pinned = update.keys;
      if (identity) {
        identity = { ...identity, desiredStateKeys: pinned };
        const next = identity;
        const save = saving.then(() => options.identityStore.save({ state: "registered", identity: next }));
        saving = save.catch(() => undefined);
        await save;
      }
      // A pointer refused for its key may verify now: read it again.
      if (refusal) source.resync();
    };
    // Identity saves run one after another, so an older refresh never overwrites a newer one.
    let saving: Promise<void> = Promise.resolve();
    stops.push({ part: "identity saves", stop: () => saving });
    stops.push({ part: "hub client", stop: () => hub.close() });
    const source = options.makeSource({
      access: natsAccess(id),
      bucket: id.kvBucket,
      keyPrefix: id.keyPrefix,
      initial,
      logger: clusterLogger.child({ part: "desired-state" }),
      clock,
      natsCaPem: options.natsCaPem,
      verify: (pointer, encoded) => checkPointer({ encoded, pointer, clusterId: id.clusterId, keys: pinned, held: held() }),
      onState: async (state) => {
        if (state.refused) {
          refusal = state.refused;
          clusterLogger.error(
            { reason: state.refused.code, generation: state.generation.toString(), heldGeneration: held()?.generation.toString() },
            `refused the desired state: ${state.refused.message}; enforcing the last good state`,
          );
          sendStatus();
          // A key this agent has not heard of yet may come with the hub's current key list.
          if (state.refused.code === "UnknownKey") status?.requestCredentials();
          return;
        }
        const wasRefused = refusal !== undefined;
        refusal = undefined;
        reconciler.setDesired(state);
        await options.stateStore.save(state);
        if (wasRefused) {
          clusterLogger.info({ generation: state.generation.toString() }, "accepted a verified desired state again");
          sendStatus();
        }
      },
    });
    const stream = createStatusStream({
      hub,
      grpcToken: () => identity?.credentials.grpcToken ?? "",
      renewRequest: () => signRenewRequest(id, clock.now()),
      connectProof: (nonce) => signConnectProof(id, nonce),
      credentialsLifetime: () => ({
        receivedAt: identity?.credentials.receivedAt ?? 0,
        expiresAt: identity?.credentials.expiresAt ?? 0,
      }),
      observed: () => ({ revision: reconciler.lastReport?.revision ?? "", generation: reconciler.lastReport?.generation ?? 0n }),
      onCredentials: async (credentials) => {
        if (!identity) return;
        identity = { ...identity, credentials: credentialsFromProto(credentials, clock.now()) };
        const next = identity;
        source.updateCredentials(natsAccess(next));
        const save = saving.then(() => options.identityStore.save({ state: "registered", identity: next }));
        saving = save.catch(() => undefined);
        await save;
        clusterLogger.info({ expiresAt: new Date(next.credentials.expiresAt).toISOString() }, "credentials refreshed and stored");
      },
      onTrustedKeys,
      onResync: (resync) => {
        source.resync();
        reconciler.resync(resync.bundles);
      },
      heartbeatIntervalMs: id.heartbeatIntervalSeconds * 1000,
      logger: clusterLogger.child({ part: "status" }),
      clock,
    });
    status = stream;
    if (signal.aborted) return;
    reconciler.start();
    source.start();
    stream.start();
    // The three loops stop together: none of them waits for another.
    stops.push({
      part: "loops",
      stop: async () => {
        await Promise.all([stream.stop(), source.stop(), reconciler.stop()]);
        await drift.stop();
        clearTimeout(statusTimer);
      },
    });
  };

  const run = async (): Promise<void> => {
    if (elector) holdLease(elector);
    identity = await loadIdentity();
    await startLoops(identity);
  };

  // Every part gets a bounded time to stop, so a hung request cannot keep the agent from
  // exiting. While a part may still be working, the lease is not released: it runs out on its
  // own, and no successor starts next to work that is still going on.
  const partTimeoutMs = options.stopPartTimeoutMs ?? 10_000;
  const unwind = async (): Promise<void> => {
    let failure: Error | undefined;
    let stuck: string | undefined;
    for (let entry = stops.pop(); entry; entry = stops.pop()) {
      if (entry.part === "leader lease" && stuck !== undefined) {
        logger.warn({ part: stuck }, "not releasing the leader lease while a part may still be working; it runs out on its own");
        continue;
      }
      try {
        if ((await settleWithin(entry.stop, partTimeoutMs)) === "late") {
          stuck ??= entry.part;
          logger.warn({ part: entry.part, timeoutMs: partTimeoutMs }, "a part did not stop in time; stopping the rest without it");
        }
      } catch (err) {
        logger.warn({ err, part: entry.part }, "error while stopping");
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (failure) throw failure;
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ended.abort();
      await starting?.catch(() => undefined);
      await unwind();
    })();
    return stopping;
  };

  return {
    async start() {
      if (starting) throw new AgentError("invalid-config", "a leadership term is started only once");
      starting = run();
      await starting;
      if (lost) throw new AgentError("kubernetes", `lost the leader lease ${elector?.identity ?? ""} while starting`);
    },
    stop,
    get identity() {
      return identity;
    },
    reconciler,
    get hubConnected() {
      return status?.connected ?? false;
    },
    get lost() {
      return lost;
    },
    driftCounts() {
      const counts = { drifted: 0, missing: 0, conflict: 0 };
      for (const bundle of reconciler.desired?.bundles ?? []) {
        for (const object of drift.objects(bundle.name)) {
          if (object.state === "drifted" || object.state === "missing" || object.state === "conflict") counts[object.state]++;
        }
      }
      return counts;
    },
  };
}

function agentEvent(correction: Correction): AgentEvent {
  return create(AgentEventSchema, {
    id: correction.id,
    type: AgentEventType.DRIFT_CORRECTED,
    bundle: correction.bundle,
    resource: correction.ref,
    fields: correction.fields.map(driftedField),
    message: correction.message,
    at: timestampFromDate(new Date(correction.at)),
    revision: correction.revision,
  });
}

/** Runs `work`, answering "late" if it has not settled within `ms` (it goes on in the background). */
async function settleWithin(work: () => Promise<void> | void, ms: number): Promise<"done" | "late"> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), ms);
  });
  const done = Promise.resolve().then(work).then(() => "done" as const);
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
    // A part that fails after its time was up has nobody left to tell.
    done.catch(() => undefined);
  }
}
