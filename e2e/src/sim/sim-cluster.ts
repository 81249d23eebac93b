// One simulated cluster: the real agent (createAgent from @gitfleet/agent) running against an
// in-memory object store instead of a kube-apiserver. Everything else is the agent's own code
// on real connections: Register with a real token and its own keys, its own NATS credentials
// watching its own key space, desired-state verification and chunk decoding, the reconcile
// loop, drift and health monitoring, and the Connect stream with heartbeats and ConnectProof.
// The hub client is wrapped only to observe (registration and reported revisions, for the
// benchmarks' timings) and to simulate a cluster that stops answering.
import { createAgent } from "@gitfleet/agent";
import type { Agent, AgentMessageInit, Clock, HubClient, HubStream } from "@gitfleet/agent";
import type { Logger } from "pino";
import { createSimKube } from "./sim-kube.js";
import type { SimKube } from "./sim-kube.js";

/** Options of {@link createSimCluster}. */
export interface SimClusterOptions {
  name: string;
  labels: Record<string, string>;
  grpcAddress: string;
  registrationToken: string;
  /** Builds a hub client for the agent; the simulator's clients may share channels. */
  hubClient: (address: string) => HubClient;
  reconcileIntervalMs: number;
  clock: Clock;
  logger: Logger;
  /** Register answered. */
  onRegistered: (startedAt: number, at: number) => void;
  /** A status report with this observed revision was sent for the first time. */
  onRevision: (revision: string, at: number) => void;
}

/** A simulated cluster and the ways the simulator drives it. */
export interface SimCluster {
  readonly name: string;
  readonly kube: SimKube;
  /** Starts the agent (registering on the first start); resolves once its loops run. */
  start(): Promise<void>;
  /** Stops the agent: its stream and NATS connection close; the store (and identity) stay. */
  stop(): Promise<void>;
  /** Stops the agent and starts a new one on the same store after `downMs` (a restart). */
  disconnect(downMs: number): Promise<void>;
  /** Stops sending anything on the Connect stream and reading from it, without closing it. */
  mute(): void;
  unmute(): void;
  readonly registered: boolean;
  readonly connected: boolean;
}

/** Creates a {@link SimCluster}; nothing runs before start(). */
export function createSimCluster(options: SimClusterOptions): SimCluster {
  const kube = createSimKube();
  let agent: Agent | undefined;
  let registered = false;
  let startedAt = 0;
  let muted = false;
  // Woken when the cluster answers again.
  let unmuted: { promise: Promise<void>; resolve: () => void } = Promise.withResolvers<void>();
  const reported = new Set<string>();
  let restarting: NodeJS.Timeout | undefined;
  let stopped = false;

  const observe = (message: AgentMessageInit): void => {
    const kind = message.kind;
    if (kind?.case !== "status") return;
    const revision = kind.value.observedRevision;
    if (!revision || reported.has(revision)) return;
    reported.add(revision);
    options.onRevision(revision, Date.now());
  };

  const wrapStream = (stream: HubStream): HubStream => {
    const closed = Promise.withResolvers<void>();
    return {
      send(message) {
        if (muted) return true;
        const sent = stream.send(message);
        if (sent) observe(message);
        return sent;
      },
      async *messages() {
        for await (const message of stream.messages()) {
          while (muted) {
            let ended = false;
            await Promise.race([unmuted.promise, closed.promise.then(() => (ended = true))]);
            if (ended) return;
          }
          yield message;
        }
      },
      close() {
        closed.resolve();
        stream.close();
      },
    };
  };

  const wrapClient = (client: HubClient): HubClient => ({
    async register(request, callOptions) {
      const response = await client.register(request, callOptions);
      if (!registered) {
        registered = true;
        options.onRegistered(startedAt, Date.now());
      }
      return response;
    },
    connect: (token) => wrapStream(client.connect(token)),
    renew: (request, callOptions) => client.renew(request, callOptions),
    close: () => client.close(),
  });

  const newAgent = (): Agent =>
    createAgent({
      kube,
      hub: options.grpcAddress,
      token: options.registrationToken,
      clusterName: options.name,
      labels: options.labels,
      createHubClient: (address) => wrapClient(options.hubClient(address)),
      reconcileIntervalMs: options.reconcileIntervalMs,
      logger: options.logger.child({ cluster: options.name }),
      clock: options.clock,
    });

  const stopAgent = async (): Promise<void> => {
    const running = agent;
    agent = undefined;
    await running?.stop();
  };

  return {
    name: options.name,
    kube,
    async start() {
      if (startedAt === 0) startedAt = Date.now();
      stopped = false;
      const next = newAgent();
      agent = next;
      await next.start();
      // A store that already holds an identity does not register again.
      if (!registered && next.identity) {
        registered = true;
        options.onRegistered(startedAt, Date.now());
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(restarting);
      this.unmute();
      await stopAgent();
    },
    async disconnect(downMs) {
      await stopAgent();
      clearTimeout(restarting);
      restarting = setTimeout(() => {
        if (stopped) return;
        this.start().catch((err: unknown) => options.logger.error({ err, cluster: options.name }, "the simulated agent did not start again"));
      }, downMs);
    },
    mute() {
      muted = true;
    },
    unmute() {
      if (!muted) return;
      muted = false;
      unmuted.resolve();
      unmuted = Promise.withResolvers<void>();
    },
    get registered() {
      return registered;
    },
    get connected() {
      return (agent?.hubConnected ?? false) && !muted;
    },
  };
}
