// The agent's one Connect stream to the hub: status on change, heartbeats, and the hub's
// commands (Welcome, RefreshCredentials, Resync). Reconnects forever with backoff and jitter,
// and renews credentials that ran out while no stream was up (Renew, signed by the agent).
import { GrpcStatus, timestampFromDate, toRpcError } from "@gitfleet/proto";
import type { AgentEvent, Credentials, HubMessage, Resync, StatusReport, TrustedKey } from "@gitfleet/proto";
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { createBackoff } from "./backoff.js";
import type { Backoff } from "./backoff.js";
import { systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import type { HubClient, HubStream, RenewRequestInit } from "./hub-client.js";
import { splitStatus } from "./status-split.js";
import type { StatusDelta } from "./status-split.js";

/** Options of {@link createStatusStream}. */
export interface StatusStreamOptions {
  hub: Pick<HubClient, "connect" | "renew">;
  /** The current gRPC credential; read at every (re)connect, so a refreshed one is used. */
  grpcToken: () => string;
  /** When the current credentials arrived and when they expire (ms since the epoch). */
  credentialsLifetime: () => { receivedAt: number; expiresAt: number };
  /** What the heartbeat says the agent runs. */
  observed: () => { revision: string; generation: bigint };
  /** Stores and applies refreshed or renewed credentials. */
  onCredentials: (credentials: Credentials) => Promise<void>;
  /** Builds a Renew request signed with the agent's signing key, at the current time. */
  renewRequest: () => RenewRequestInit;
  /** Signs Welcome's nonce with the agent's signing key (the ConnectProof signature). */
  connectProof: (nonce: Uint8Array) => Uint8Array;
  /** Asks for a re-read and re-apply of the desired state. */
  onResync: (resync: Resync) => void;
  /** The hub's desired-state keys, from Welcome, RefreshCredentials or RenewResponse (when it sent any). */
  onTrustedKeys?: (keys: TrustedKey[], from: "welcome" | "refresh" | "renew") => Promise<void> | void;
  /** Heartbeat period until the hub's Welcome says otherwise; default 15 s. */
  heartbeatIntervalMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** Reconnect delays after errors; default 0.5 s growing to 30 s, with jitter. */
  backoff?: Backoff;
  /** Reconnect (and renew) delays while the hub refuses the credential; default 1 min growing to 10 min. */
  refusedBackoff?: Backoff;
  /** Source of randomness in [0, 1) for heartbeat and reconnect jitter; injected by tests. */
  random?: () => number;
}

/** The status stream; it owns its reconnect loop. */
export interface StatusStream {
  start(): void;
  /** Closes the stream and ends the loop. */
  stop(): Promise<void>;
  /**
   * Sends what changed in `status` since the hub last got one on this stream (all of it on a new
   * stream); keeps it for the next connect while no stream is up.
   */
  report(status: StatusReport): void;
  /** Sends events (corrections) now, or on the next connect; the oldest beyond 1,000 are dropped. */
  events(events: readonly AgentEvent[]): void;
  /** Asks the hub for fresh credentials and its current keys now (at most every 10 s); false without a stream. */
  requestCredentials(): boolean;
  /** True while a stream is open and the hub has answered it. */
  readonly connected: boolean;
}

// Statuses with which the hub refuses the credential itself (cluster deleted, epoch bumped,
// token expired): retrying soon cannot help, so the loop slows down and says so.
const refusals = new Set<number>([GrpcStatus.UNAUTHENTICATED, GrpcStatus.PERMISSION_DENIED]);
// Statuses that mean "the hub cannot be reached now": a Renew is retried with the normal backoff.
const unreachable = new Set<number>([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED]);

/** How a Renew went: new credentials, a refusal (slow retry), or no hub to ask. */
type RenewOutcome = "renewed" | "refused" | "unreachable";

/** Creates a {@link StatusStream}. */
export function createStatusStream(options: StatusStreamOptions): StatusStream {
  const logger = options.logger ?? pino({ level: "silent" });
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? createBackoff({ minMs: 500, maxMs: 30_000 });
  const refusedBackoff = options.refusedBackoff ?? createBackoff({ minMs: 60_000, maxMs: 600_000 });
  const random = options.random ?? Math.random;
  const stopping = new AbortController();
  let heartbeatMs = options.heartbeatIntervalMs ?? 15_000;
  let latest: StatusReport | undefined;
  let session: { stream: HubStream; sent?: StatusDelta["sent"]; welcomed: boolean } | undefined;
  let queuedEvents: AgentEvent[] = [];
  let lastCredentialsRequest = Number.NEGATIVE_INFINITY;
  let refusedSince: number | undefined;
  let loop: Promise<void> | undefined;

  // Nothing is sent before the hub's Welcome: the first message must be the ConnectProof.
  const sendLatest = (): void => {
    if (!session?.welcomed || !latest) return;
    const delta = splitStatus(latest, session.sent);
    for (const message of delta.messages) {
      if (!session.stream.send({ kind: { case: "status", value: message } })) return;
    }
    session.sent = delta.sent;
  };

  const sendEvents = (): void => {
    if (!session?.welcomed || queuedEvents.length === 0) return;
    // A few hundred events fit the message bound; more go in several messages.
    while (queuedEvents.length > 0) {
      const batch = queuedEvents.slice(0, 100);
      if (!session.stream.send({ kind: { case: "events", value: { events: batch } } })) return;
      queuedEvents = queuedEvents.slice(batch.length);
    }
  };

  const maybeRequestCredentials = (stream: HubStream): void => {
    const { receivedAt, expiresAt } = options.credentialsLifetime();
    const now = clock.now();
    // The hub refreshes with a third of the lifetime left; ask when a quarter is left and it has not.
    const window = Math.max((expiresAt - receivedAt) / 4, 2 * heartbeatMs);
    if (expiresAt - now > window || now - lastCredentialsRequest < 60_000) return;
    lastCredentialsRequest = now;
    logger.info({ expiresAt: new Date(expiresAt).toISOString() }, "credentials expire soon; asking the hub for fresh ones");
    stream.send({ kind: { case: "credentialsRequest", value: {} } });
  };

  const heartbeat = (stream: HubStream): void => {
    const { revision, generation } = options.observed();
    stream.send({
      kind: {
        case: "heartbeat",
        value: { sentAt: timestampFromDate(new Date(clock.now())), observedRevision: revision, observedGeneration: generation },
      },
    });
  };

  // Heartbeats are spread: the first comes after half to all of the interval, the others after
  // 90-100% of it, so agents that reconnected together (a hub restart) do not beat together.
  // Never later than the interval: the hub marks a cluster stale after three of them.
  const heartbeats = async (stream: HubStream, signal: AbortSignal): Promise<void> => {
    let first = true;
    while (!signal.aborted) {
      const share = first ? 0.5 + random() * 0.5 : 0.9 + random() * 0.1;
      first = false;
      await clock.sleep(Math.round(heartbeatMs * share), signal);
      if (signal.aborted) break;
      heartbeat(stream);
      maybeRequestCredentials(stream);
    }
  };

  const trustedKeys = async (keys: TrustedKey[], from: "welcome" | "refresh" | "renew"): Promise<void> => {
    if (keys.length === 0 || !options.onTrustedKeys) return;
    try {
      await options.onTrustedKeys(keys, from);
    } catch (error) {
      logger.error({ err: error }, `cannot take the hub's desired-state keys: ${messageOf(error)}`);
    }
  };
  let lastAskedNow = Number.NEGATIVE_INFINITY;

  const handle = async (message: HubMessage): Promise<void> => {
    switch (message.kind.case) {
      case "welcome": {
        await trustedKeys(message.kind.value.desiredStateKeys, "welcome");
        const seconds = message.kind.value.heartbeatIntervalSeconds;
        if (seconds > 0) heartbeatMs = seconds * 1000;
        logger.info({ hubSaysClusterId: message.kind.value.clusterId, heartbeatSeconds: heartbeatMs / 1000 }, "connected to the hub");
        return;
      }
      case "refreshCredentials": {
        await trustedKeys(message.kind.value.desiredStateKeys, "refresh");
        const credentials = message.kind.value.credentials;
        if (!credentials) return;
        try {
          await options.onCredentials(credentials);
        } catch (error) {
          logger.error({ err: error }, `cannot apply refreshed credentials: ${messageOf(error)}`);
        }
        return;
      }
      case "resync":
        logger.info({ reason: message.kind.value.reason, bundles: message.kind.value.bundles }, "the hub asks for a resync");
        options.onResync(message.kind.value);
        return;
      default:
        logger.debug({ kind: message.kind.case }, "ignoring an unknown hub message");
    }
  };

  // Without a stream the hub cannot refresh the credentials: renew them once they are expired
  // or in the last sixth of their lifetime (the hub refreshes an open stream's at a third).
  const renewalReason = (): string | undefined => {
    const { receivedAt, expiresAt } = options.credentialsLifetime();
    const now = clock.now();
    if (now >= expiresAt) return "the credentials expired";
    if (now >= expiresAt - Math.max(0, expiresAt - receivedAt) / 6) return "the credentials are in the last sixth of their lifetime";
    return undefined;
  };

  const expired = (): boolean => clock.now() >= options.credentialsLifetime().expiresAt;

  const renew = async (reason: string): Promise<RenewOutcome> => {
    const before = options.grpcToken();
    const { expiresAt } = options.credentialsLifetime();
    logger.info({ reason, expiresAt: new Date(expiresAt).toISOString() }, "renewing the credentials with the agent's signing key");
    let credentials: Credentials | undefined;
    try {
      const answer = await options.hub.renew(options.renewRequest(), { signal: stopping.signal });
      credentials = answer.credentials;
      await trustedKeys(answer.desiredStateKeys, "renew");
    } catch (error) {
      if (stopping.signal.aborted) return "unreachable";
      const rpc = toRpcError(error);
      if (unreachable.has(rpc.code)) {
        logger.warn({ status: rpc.codeName }, `cannot reach the hub to renew the credentials: ${rpc.message}`);
        return "unreachable";
      }
      refusedSince ??= clock.now();
      logger.error(
        { status: rpc.codeName, refusedSince: new Date(refusedSince).toISOString() },
        `the hub refuses to renew this agent's credentials (${rpc.codeName}: ${rpc.message}); the cluster may have been deleted. The agent keeps enforcing its last desired state and retries slowly`,
      );
      return "refused";
    }
    if (!credentials) {
      logger.error("the hub answered Renew without credentials; retrying slowly");
      return "refused";
    }
    try {
      await options.onCredentials(credentials);
    } catch (error) {
      logger.error({ err: error }, `cannot apply renewed credentials: ${messageOf(error)}`);
      // Applied in memory but not stored is still good enough to connect with.
      if (options.grpcToken() === before) return "refused";
    }
    logger.info({ expiresAt: new Date(options.credentialsLifetime().expiresAt).toISOString() }, "credentials renewed");
    return "renewed";
  };

  // The hub's first message is Welcome with a nonce; the agent answers with the nonce signed by
  // its signing key before anything else, since the hub records nothing from an unproven stream.
  // Then it sends what the hub needs to know at once: alive, what runs, what it did.
  const onWelcomed = (stream: HubStream, message: HubMessage): void => {
    const nonce = message.kind.case === "welcome" ? message.kind.value.nonce : undefined;
    if (nonce && nonce.length > 0) {
      stream.send({ kind: { case: "proof", value: { signature: options.connectProof(nonce) } } });
    } else {
      // A hub from before ConnectProof sends no nonce and expects no proof.
      logger.warn({ first: message.kind.case }, "the hub's first message carries no nonce to sign; sending no ConnectProof");
    }
    heartbeat(stream);
    sendLatest();
    sendEvents();
    maybeRequestCredentials(stream);
  };

  // One stream from open to close; resolves when the hub ends it, throws on a status.
  const runSession = async (): Promise<void> => {
    const stream = options.hub.connect(options.grpcToken());
    const sessionEnd = new AbortController();
    const onStop = (): void => sessionEnd.abort();
    stopping.signal.addEventListener("abort", onStop, { once: true });
    session = { stream, welcomed: false };
    let beating: Promise<void> = Promise.resolve();
    try {
      for await (const message of stream.messages()) {
        if (!session.welcomed) {
          backoff.reset();
          refusedBackoff.reset();
          refusedSince = undefined;
          await handle(message);
          // Set only now, so that nothing a report() sends meanwhile precedes the proof.
          session.welcomed = true;
          onWelcomed(stream, message);
          beating = heartbeats(stream, sessionEnd.signal);
          continue;
        }
        await handle(message);
      }
    } finally {
      stopping.signal.removeEventListener("abort", onStop);
      sessionEnd.abort();
      session = undefined;
      stream.close();
      await beating;
    }
  };

  // A hub that cannot be reached is tried again at least once per heartbeat interval (with
  // jitter), so a cluster whose link returns is fresh on the hub within about one heartbeat
  // however long it was away.
  const reconnectDelay = (): number => {
    const delay = backoff.next();
    return delay <= heartbeatMs ? delay : Math.round(heartbeatMs * (0.5 + random() * 0.5));
  };

  const runLoop = async (): Promise<void> => {
    // Set when the hub refused the credential on Connect: renew before the next attempt.
    let refusedWith: string | undefined;
    while (!stopping.signal.aborted) {
      let delay: number | undefined;
      const reason = refusedWith ?? renewalReason();
      refusedWith = undefined;
      if (reason !== undefined) {
        const outcome = await renew(reason);
        if (stopping.signal.aborted) break;
        // A refused Renew means Connect would be refused too; expired credentials cannot connect.
        if (outcome === "refused") delay = refusedBackoff.next();
        else if (outcome === "unreachable" && expired()) delay = reconnectDelay();
      }
      if (delay === undefined) {
        try {
          await runSession();
          delay = reconnectDelay();
          if (!stopping.signal.aborted) logger.info({ retryInMs: delay }, "the hub closed the status stream");
        } catch (error) {
          if (stopping.signal.aborted) break;
          const rpc = toRpcError(error);
          if (rpc.code === GrpcStatus.UNAUTHENTICATED && reason === undefined) {
            // Expired, or revoked while the agent still holds its signing key: Renew decides.
            logger.warn({ status: rpc.codeName }, `the hub refused the credential (${rpc.message}); renewing it`);
            refusedWith = `the hub refused the credential: ${rpc.message}`;
            continue;
          }
          if (refusals.has(rpc.code)) {
            delay = refusedBackoff.next();
            if (refusedSince === undefined) refusedSince = clock.now();
            logger.error(
              { status: rpc.codeName, retryInMs: delay, refusedSince: new Date(refusedSince).toISOString() },
              `the hub refuses this agent's credential (${rpc.codeName}: ${rpc.message}); the cluster may have been deleted or re-keyed. The agent keeps enforcing its last desired state and retries slowly`,
            );
          } else {
            refusedSince = undefined;
            delay = reconnectDelay();
            logger.warn({ status: rpc.codeName, retryInMs: delay }, `status stream to the hub failed: ${rpc.message}`);
          }
        }
      }
      await clock.sleep(delay, stopping.signal);
    }
  };

  return {
    start() {
      loop ??= runLoop();
    },
    async stop() {
      stopping.abort();
      session?.stream.close();
      await loop;
    },
    report(status) {
      latest = status;
      sendLatest();
    },
    events(events) {
      queuedEvents.push(...events);
      if (queuedEvents.length > 1_000) {
        logger.warn({ dropped: queuedEvents.length - 1_000 }, "too many events waiting for the hub; dropping the oldest");
        queuedEvents = queuedEvents.slice(-1_000);
      }
      sendEvents();
    },
    requestCredentials() {
      if (!session?.welcomed) return false;
      const now = clock.now();
      if (now - lastAskedNow < 10_000) return true;
      lastAskedNow = now;
      return session.stream.send({ kind: { case: "credentialsRequest", value: {} } });
    },
    get connected() {
      return session?.welcomed ?? false;
    },
  };
}
