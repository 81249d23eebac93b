// AgentService.Connect: one agent's status stream. The cluster is the one in the
// agent's gRPC token, never a field the agent sends. The token alone opens the stream but earns
// nothing: the agent must first sign Welcome's nonce with its registered signing key
// (ConnectProof), so a stolen token cannot record status or keep itself alive with fresh
// credentials.
import { randomBytes } from "node:crypto";
import { clip, maxLoggedReason } from "./log-clip.js";
import {
  CONNECT_NONCE_BYTES,
  connectProofPayload,
  GrpcStatus,
  RpcError,
  timestampFromDate,
  type AgentEvent,
  type AgentMessage,
  type StatusReport,
  type TrustedKey,
  verifyWithNkey,
} from "@gitfleet/proto";
import { messageOf } from "@gitfleet/proto/rules";
import type { Metadata, ServerDuplexStream } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { authenticateAgent, type CredentialIssuer } from "../credentials/issuer.js";
import { HubError } from "../errors.js";
import { maxAgentEventsPerMessage } from "../fleet-events/index.js";
import { newId } from "../secrets.js";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import type { StatusStore } from "../store/status.js";
import { mergeStatus } from "../store/status-merge.js";
import { toAgentRpcError } from "./rpc-errors.js";
import type { Admission } from "./admission.js";
import type { AgentSession, HubMessageInit, SessionRegistry } from "./sessions.js";

/** What {@link connect} needs. */
export interface ConnectDeps {
  clusters: ClusterStore;
  status: StatusStore;
  issuer: CredentialIssuer;
  sessions: SessionRegistry;
  logger: Logger;
  heartbeatIntervalSeconds: number;
  /** The desired-state keys agents should trust now; sent in Welcome and RefreshCredentials. */
  trustedKeys: () => TrustedKey[];
  /** How long a new stream may take to send its ConnectProof before it is closed; default {@link defaultConnectProofTimeoutMs}. */
  connectProofTimeoutMs?: number | undefined;
  now: () => Date;
  /** Called after a status report was stored: the whole status after it (partial reports merged in) and before it. */
  onStatus: (clusterId: string, report: StatusReport, previous: StatusReport | undefined) => void;
  /** Called with what the agent reported it did (at most {@link maxAgentEventsPerMessage} per message). */
  onAgentEvents: (clusterId: string, events: readonly AgentEvent[]) => void;
  /**
   * Bounds the hub's handshake work running at once: authentication with Welcome, and the proven
   * stream's first write. The agent's proof is awaited between the two, outside the bound.
   */
  admission?: Admission | undefined;
}

/** The Connect call as the bridge hands it over. */
export type ConnectCall = ServerDuplexStream<AgentMessage, HubMessageInit>;

/** How long an agent has, after Welcome, to prove that it holds its signing key. */
export const defaultConnectProofTimeoutMs = 10_000;

// Ed25519 signatures are 64 bytes.
const signatureBytes = 64;

// setTimeout takes at most a signed 32-bit number of milliseconds.
const maxTimerMs = 2 ** 31 - 1;
// An agent that sends faster than the hub can record is paused (HTTP/2 flow control), not buffered.
const maxPendingMessages = 32;

function metadataValue(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

/**
 * Serves one Connect stream: authenticates it, sends Welcome, records what the
 * agent reports, keeps its credentials fresh, and ends when the agent leaves,
 * the hub stops, or the cluster is deleted or re-keyed.
 */
export async function connect(deps: ConnectDeps, call: ConnectCall): Promise<void> {
  let cluster: ClusterRecord;
  let exp: number;
  let epoch: number;
  const endTurn = (await deps.admission?.acquire()) ?? (() => {});
  // The agent may have given up while it waited for its turn.
  if (call.cancelled) {
    endTurn();
    return;
  }
  try {
    const identity = await authenticateAgent(deps.issuer, deps.clusters, metadataValue(call.metadata, "authorization"));
    ({ cluster } = identity);
    ({ exp, epoch } = identity.claims);
  } catch (err) {
    endTurn();
    deps.logger.info({ peer: call.getPeer(), reason: clip(messageOf(err), maxLoggedReason) }, "Connect refused");
    throw toAgentRpcError(err);
  }
  return new StreamSession(deps, call, cluster, epoch, new Date(exp * 1000), endTurn).run();
}

class StreamSession implements AgentSession {
  readonly id = newId("s");
  readonly clusterId: string;
  readonly done: Promise<void>;
  private readonly logger: Logger;
  private work: Promise<void> = Promise.resolve();
  private pending = 0;
  private finished = false;
  // Set when the hub refused the stream: what the agent sent before that is not recorded. A clean
  // end by the agent still lets the messages it sent before ending be handled, in order.
  private refused = false;
  private timer: NodeJS.Timeout | undefined;
  private proofTimer: NodeJS.Timeout | undefined;
  // Set once the agent's ConnectProof verified; until then the stream earns nothing.
  private proven = false;
  private readonly nonce = new Uint8Array(randomBytes(CONNECT_NONCE_BYTES));
  private readonly clusterName: string;
  private readonly signingPublicKey: string;
  private settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private markDone: () => void = () => {};
  // When this session last asked the agent for a whole status (a partial one came with nothing to merge into).
  private wholeStatusAskedAt: number | undefined;

  constructor(
    private readonly deps: ConnectDeps,
    private readonly call: ConnectCall,
    cluster: ClusterRecord,
    readonly epoch: number,
    private credentialsExpireAt: Date,
    // Ends this stream's first admission turn (authentication and Welcome): once Welcome is sent.
    // The agent's answer is awaited outside any turn, so a reconnect storm's pace is the hub's
    // work, not the agents' round trips; recording the proven stream takes a second turn.
    private readonly endTurn: () => void = () => {},
  ) {
    this.clusterId = cluster.id;
    this.clusterName = cluster.name;
    this.signingPublicKey = cluster.signingPublicKey;
    this.logger = deps.logger.child({ cluster: cluster.name, clusterId: cluster.id, session: this.id });
    this.done = new Promise((resolve) => (this.markDone = resolve));
  }

  run(): Promise<void> {
    const result = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.deps.sessions.add(this);
    this.call.on("data", (message: AgentMessage) => {
      if (this.finished) return;
      this.pending++;
      if (this.pending >= maxPendingMessages) this.call.pause();
      this.enqueue(async () => {
        try {
          await this.handle(message);
        } finally {
          this.pending--;
          if (this.pending < maxPendingMessages / 2 && this.call.isPaused()) this.call.resume();
        }
      });
    });
    this.call.on("end", () => this.finish());
    this.call.on("cancelled", () => this.finish());
    this.call.on("error", (err: unknown) => {
      if (!this.finished) this.logger.info({ err }, "Connect stream failed");
      this.finish();
    });
    this.send({
      kind: {
        case: "welcome",
        value: {
          clusterId: this.clusterId,
          heartbeatIntervalSeconds: this.deps.heartbeatIntervalSeconds,
          serverTime: timestampFromDate(this.deps.now()),
          desiredStateKeys: this.deps.trustedKeys(),
          nonce: this.nonce,
        },
      },
    });
    this.endTurn();
    const proofTimeoutMs = this.deps.connectProofTimeoutMs ?? defaultConnectProofTimeoutMs;
    this.proofTimer = setTimeout(() => {
      if (this.proven) return;
      this.finish(
        new RpcError(
          GrpcStatus.UNAUTHENTICATED,
          `cluster ${this.clusterName} sent no ConnectProof within ${proofTimeoutMs / 1000} s of Welcome; ` +
            "the agent must sign Welcome.nonce with its registered signing key (upgrade the agent)",
        ),
      );
    }, proofTimeoutMs);
    return result;
  }

  // Until the proof verified, the agent gets Welcome and nothing else (no credentials, no commands).
  send(message: HubMessageInit): void {
    if (this.finished || this.call.cancelled || this.call.writableEnded) return;
    if (!this.proven && message.kind?.case !== "welcome") return;
    this.call.write(message);
  }

  close(error?: RpcError): void {
    this.finish(error);
  }

  private finish(error?: RpcError): void {
    if (this.finished) return;
    this.finished = true;
    this.endTurn();
    if (error) this.refused = true;
    clearTimeout(this.timer);
    clearTimeout(this.proofTimer);
    this.deps.sessions.remove(this);
    this.enqueue(() => this.markDisconnected());
    void this.work.then(this.markDone);
    if (error) {
      this.logger.info({ reason: error.message }, "closing Connect stream");
      this.settle?.reject(error);
    } else {
      if (!this.call.cancelled && !this.call.writableEnded) this.call.end();
      this.logger.info("agent disconnected");
      this.settle?.resolve();
    }
  }

  // Writes of one stream run one at a time, in the order the agent sent them.
  private enqueue(task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((err: unknown) => this.onTaskError(err));
  }

  private onTaskError(err: unknown): void {
    if (err instanceof HubError && err.code === "not-found") {
      this.finish(this.deletedError());
      return;
    }
    // A refusal quotes what the agent sent (a StatusReport's names and messages): clip it.
    if (err instanceof HubError && err.code === "invalid-argument") {
      this.logger.warn({ code: err.code, reason: clip(err.message, maxLoggedReason) }, "could not record what the agent sent");
      return;
    }
    this.logger.warn({ err }, "could not record what the agent sent");
  }

  private deletedError(): RpcError {
    return new RpcError(GrpcStatus.UNAUTHENTICATED, `cluster ${this.clusterId} was deleted from the fleet`);
  }

  private async handle(message: AgentMessage): Promise<void> {
    if (this.refused) return;
    if (!this.proven) return this.onProof(message);
    switch (message.kind.case) {
      case "status":
        return this.onStatus(message.kind.value);
      case "heartbeat": {
        const hb = message.kind.value;
        return this.touch(
          hb.observedRevision ? { observedRevision: hb.observedRevision, observedGeneration: Number(hb.observedGeneration) } : {},
        );
      }
      case "credentialsRequest":
        return this.refreshCredentials("requested by the agent");
      case "events":
        return this.onAgentEvents(message.kind.value.events);
      case "proof":
        this.logger.debug("ignoring a second ConnectProof");
        return;
      default:
        this.logger.debug("ignoring an empty or unknown agent message");
    }
  }

  // The first message of a stream must be a ConnectProof that verifies with the cluster's
  // registered signing key; anything else ends the stream before it recorded anything.
  private async onProof(message: AgentMessage): Promise<void> {
    if (message.kind.case !== "proof") {
      this.finish(
        new RpcError(
          GrpcStatus.UNAUTHENTICATED,
          `cluster ${this.clusterName} sent ${message.kind.case ?? "an empty message"} before its ConnectProof; ` +
            "the first message on Connect must prove the agent's signing key (upgrade the agent)",
        ),
      );
      return;
    }
    if (!verifyConnectProof(this.signingPublicKey, this.clusterId, this.nonce, message.kind.value.signature)) {
      this.finish(
        new RpcError(
          GrpcStatus.UNAUTHENTICATED,
          `ConnectProof of cluster ${this.clusterName} does not verify with its registered signing key`,
        ),
      );
      return;
    }
    this.proven = true;
    clearTimeout(this.proofTimer);
    this.logger.info("agent connected and proved its signing key");
    const endTurn = (await this.deps.admission?.acquire()) ?? (() => {});
    try {
      if (this.finished) return;
      await this.touch({ connected: true, session: this.id });
    } finally {
      endTurn();
    }
    this.scheduleRefresh();
  }

  private async onStatus(report: StatusReport): Promise<void> {
    const fields: Partial<ClusterRecord> = {
      observedRevision: report.observedRevision,
      observedGeneration: Number(report.observedGeneration),
    };
    if (report.agentVersion) fields.agentVersion = report.agentVersion;
    if (report.kubernetesVersion) fields.kubernetesVersion = report.kubernetesVersion;
    // The record first: a report from a cluster deleted meanwhile must not leave status behind.
    await this.touch(fields);
    const previous = this.deps.status.get(this.clusterId);
    const merged = mergeStatus(previous, report);
    if (!merged) {
      this.askForWholeStatus();
      return;
    }
    await this.deps.status.put(this.clusterId, merged);
    if (!report.partial) this.wholeStatusAskedAt = undefined;
    this.deps.onStatus(this.clusterId, merged, previous);
  }

  // A partial report needs the whole status it is a delta of; this replica holds none (the agent
  // or the status was lost meanwhile), so it asks for a whole report rather than storing half of
  // one. Asked again only after a heartbeat interval, as partial reports can come in bursts.
  private askForWholeStatus(): void {
    const at = this.deps.now().getTime();
    if (this.wholeStatusAskedAt !== undefined && at - this.wholeStatusAskedAt < this.deps.heartbeatIntervalSeconds * 1000) return;
    this.wholeStatusAskedAt = at;
    this.logger.info("a partial status report came without a whole status to merge it into; asking the agent for a whole one");
    this.send({ kind: { case: "resync", value: { reason: "status", bundles: [] } } });
  }

  // The cluster is this stream's; what the events say is checked where they are recorded.
  private onAgentEvents(events: readonly AgentEvent[]): Promise<void> {
    if (events.length > maxAgentEventsPerMessage) {
      this.logger.warn({ count: events.length, kept: maxAgentEventsPerMessage }, "the agent sent too many events in one message; dropping the rest");
    }
    if (events.length > 0) this.deps.onAgentEvents(this.clusterId, events.slice(0, maxAgentEventsPerMessage));
    return Promise.resolve();
  }

  // Records that the agent is alive, with whatever else it said.
  private async touch(fields: Partial<ClusterRecord>): Promise<void> {
    const lastSeen = this.deps.now().toISOString();
    await this.deps.clusters.update(this.clusterId, (record) => ({
      ...record,
      ...fields,
      lastSeen,
      // Only the newest stream of a cluster may say it is connected.
      ...(record.session === this.id || fields.session === this.id ? { connected: true, session: this.id } : {}),
    }));
  }

  private async markDisconnected(): Promise<void> {
    const lastSeen = this.deps.now().toISOString();
    try {
      await this.deps.clusters.update(this.clusterId, (record) =>
        record.session === this.id ? { ...record, connected: false, session: null, lastSeen } : undefined,
      );
    } catch (err) {
      if (!(err instanceof HubError && err.code === "not-found")) throw err;
    }
  }

  private scheduleRefresh(): void {
    clearTimeout(this.timer);
    if (this.finished) return;
    const refreshAt = this.credentialsExpireAt.getTime() - this.deps.issuer.ttlMs / 3;
    const delay = Math.min(Math.max(0, refreshAt - this.deps.now().getTime()), maxTimerMs);
    this.timer = setTimeout(() => {
      if (this.deps.now().getTime() < refreshAt) this.scheduleRefresh();
      else this.enqueue(() => this.refreshCredentials("less than a third of their lifetime left"));
    }, delay);
  }

  private async refreshCredentials(reason: string): Promise<void> {
    if (this.finished || !this.proven) return;
    const record = await this.deps.clusters.read(this.clusterId);
    if (!record) throw new HubError("not-found", `cluster ${this.clusterId} does not exist`);
    if (record.credentialEpoch > this.epoch) {
      this.finish(new RpcError(GrpcStatus.UNAUTHENTICATED, `credentials of cluster ${record.name} were revoked`));
      return;
    }
    const { credentials, expiresAt } = await this.deps.issuer.issue(record);
    await this.deps.clusters.update(this.clusterId, (r) => ({ ...r, credentialsExpireAt: expiresAt.toISOString() }));
    this.send({ kind: { case: "refreshCredentials", value: { credentials, desiredStateKeys: this.deps.trustedKeys() } } });
    this.credentialsExpireAt = expiresAt;
    this.logger.info({ reason, expiresAt: expiresAt.toISOString() }, "sent fresh credentials");
    this.scheduleRefresh();
  }
}

/** True when `signature` is the cluster's signing key's Ed25519 signature of the Connect proof text. */
export function verifyConnectProof(signingPublicKey: string, clusterId: string, nonce: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== signatureBytes) return false;
  // Node's Ed25519: a reconnect storm verifies one proof per stream.
  return verifyWithNkey(signingPublicKey, connectProofPayload(clusterId, nonce), signature);
}
