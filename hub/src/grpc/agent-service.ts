// The hub's AgentService: Register, Connect and Renew, the sessions Connect opens, and the
// commands the rest of the hub sends through them.
import { clip, maxLoggedName, maxLoggedReason } from "./log-clip.js";
import {
  GrpcStatus,
  RpcError,
  type AgentEvent,
  type AgentService,
  type ServiceImplementation,
  type StatusReport,
  type TrustedKey,
} from "@gitfleet/proto";
import { messageOf } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import type { CredentialIssuer } from "../credentials/issuer.js";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import type { RegistrationTokenStore } from "../store/registration-tokens.js";
import type { StatusStore } from "../store/status.js";
import { createAdmission } from "./admission.js";
import { connect } from "./connect-stream.js";
import { register } from "./register.js";
import { renew } from "./renew.js";
import { toAgentRpcError } from "./rpc-errors.js";
import { createSessionRegistry, type SessionRegistry } from "./sessions.js";

/** Connect handshakes a replica runs at once by default; the rest wait their turn (a reconnect storm). */
export const defaultMaxConcurrentHandshakes = 64;

/** Options of {@link createAgentService}. */
export interface AgentServiceOptions {
  tokens: RegistrationTokenStore;
  clusters: ClusterStore;
  status: StatusStore;
  issuer: CredentialIssuer;
  logger: Logger;
  /** How often agents send heartbeats; told in RegisterResponse and Welcome. */
  heartbeatIntervalSeconds: number;
  /** How long a new Connect stream may take to prove the agent's signing key; default 10 s. */
  connectProofTimeoutMs?: number | undefined;
  /** The hub's version, which decides the agent versions Register accepts. */
  hubVersion: string;
  /** The desired-state keys agents should trust now; sent in RegisterResponse, Welcome, RefreshCredentials and RenewResponse. */
  trustedKeys: () => TrustedKey[];
  /** Connect handshake steps (authentication with Welcome; the proven stream's first write) run at once; default {@link defaultMaxConcurrentHandshakes}. */
  maxConcurrentHandshakes?: number | undefined;
  /** Called once a cluster registered through this replica is stored. */
  onClusterRegistered?: (cluster: ClusterRecord) => void;
  /** Called after a status report of a connected agent was stored. */
  onStatusReported?: (clusterId: string, report: StatusReport, previous: StatusReport | undefined) => void;
  /** Called with the events a connected agent sent (unchecked, bounded in number). */
  onAgentEvents?: (clusterId: string, events: readonly AgentEvent[]) => void;
  now?: () => Date;
}

/** What to ask an agent to resync. */
export interface ResyncRequest {
  reason: string;
  /** Bundles to resync; all when empty or omitted. */
  bundles?: readonly string[];
}

/** The AgentService and the hub's handle on its streams. */
export interface AgentServiceHandle {
  /** The implementation to add to a grpc-js server with `addService`. */
  readonly implementation: ServiceImplementation<typeof AgentService>;
  readonly sessions: SessionRegistry;
  /** Sends Resync to the agent's streams on this replica; returns how many got it. */
  resyncLocal(clusterId: string, request: ResyncRequest): number;
  /** Sends the current desired-state keys to every agent stream on this replica; returns how many got them. */
  pushTrustedKeys(): number;
  /** Ends every stream (status UNAVAILABLE, so agents reconnect elsewhere) and stops listening to changes. */
  stop(): Promise<void>;
}

/** Creates the AgentService of the hub. */
export function createAgentService(options: AgentServiceOptions): AgentServiceHandle {
  const logger = options.logger.child({ component: "agent-service" });
  const now = options.now ?? (() => new Date());
  const sessions = createSessionRegistry();
  const admission = createAdmission(options.maxConcurrentHandshakes ?? defaultMaxConcurrentHandshakes);

  // Deleting or re-keying a cluster through any replica ends its streams here.
  const unsubscribe = options.clusters.subscribe((change) => {
    if (change.type === "removed") {
      const { cluster } = change;
      sessions.closeCluster(
        cluster.id,
        new RpcError(GrpcStatus.UNAUTHENTICATED, `cluster ${cluster.name} was deleted from the fleet`),
      );
    } else if (change.type === "updated" && change.cluster.credentialEpoch > change.previous.credentialEpoch) {
      const { cluster } = change;
      sessions.closeCluster(
        cluster.id,
        new RpcError(GrpcStatus.UNAUTHENTICATED, `credentials of cluster ${cluster.name} were revoked`),
        (session) => session.epoch < cluster.credentialEpoch,
      );
    }
  });

  const implementation: ServiceImplementation<typeof AgentService> = {
    register: async (request) => {
      try {
        return await register(
          {
            tokens: options.tokens,
            clusters: options.clusters,
            issuer: options.issuer,
            logger,
            heartbeatIntervalSeconds: options.heartbeatIntervalSeconds,
            hubVersion: options.hubVersion,
            trustedKeys: options.trustedKeys,
            onRegistered: (cluster) => options.onClusterRegistered?.(cluster),
            now,
          },
          request,
        );
      } catch (err) {
        logger.info({ cluster: clip(request.clusterName, maxLoggedName), reason: clip(messageOf(err), maxLoggedReason) }, "Register refused");
        throw toAgentRpcError(err);
      }
    },
    connect: (call) =>
      connect(
        {
          clusters: options.clusters,
          status: options.status,
          issuer: options.issuer,
          sessions,
          logger,
          heartbeatIntervalSeconds: options.heartbeatIntervalSeconds,
          trustedKeys: options.trustedKeys,
          connectProofTimeoutMs: options.connectProofTimeoutMs,
          now,
          onStatus: (clusterId, report, previous) => options.onStatusReported?.(clusterId, report, previous),
          onAgentEvents: (clusterId, events) => options.onAgentEvents?.(clusterId, events),
          admission,
        },
        call,
      ),
    renew: async (request, call) => {
      try {
        return await renew({ clusters: options.clusters, issuer: options.issuer, trustedKeys: options.trustedKeys, logger, now }, request);
      } catch (err) {
        logger.info(
          { clusterId: clip(request.clusterId, maxLoggedName), peer: call.getPeer(), reason: clip(messageOf(err), maxLoggedReason) },
          "Renew refused",
        );
        throw toAgentRpcError(err);
      }
    },
  };

  return {
    implementation,
    sessions,
    resyncLocal(clusterId, request) {
      const targets = sessions.forCluster(clusterId);
      for (const session of targets) {
        session.send({ kind: { case: "resync", value: { reason: request.reason, bundles: [...(request.bundles ?? [])] } } });
      }
      return targets.length;
    },
    pushTrustedKeys() {
      const desiredStateKeys = options.trustedKeys();
      const targets = sessions.list();
      for (const session of targets) session.send({ kind: { case: "refreshCredentials", value: { desiredStateKeys } } });
      return targets.length;
    },
    async stop() {
      unsubscribe();
      await sessions.closeAll(new RpcError(GrpcStatus.UNAVAILABLE, "the hub is shutting down; reconnect"));
    },
  };
}
