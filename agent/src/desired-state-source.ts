// Follows the cluster's desired state in JetStream KV as a key-scoped NATS user: watches its own
// `<prefix>.desired` pointer, fetches the chunks it names, and hands over complete states.
import { Kvm } from "@nats-io/kv";
import { connect, jwtAuthenticator } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { createBackoff } from "./backoff.js";
import type { Backoff } from "./backoff.js";
import { createWakeup, systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import { loadDesiredState } from "./desired-state.js";
import { natsTlsFor, natsTlsHint } from "./nats-tls.js";
import type { DesiredStateSnapshot, LoadDesiredStateOptions } from "./desired-state.js";

/** What the agent needs to reach NATS as itself. */
export interface NatsAccess {
  servers: string[];
  /** The user JWT the hub minted for the agent's nkey. */
  userJwt: string;
  /** The agent's NATS user nkey seed ("SU..."). */
  userSeed: string;
  /** The only inbox prefix the agent's permissions allow. */
  inboxPrefix: string;
}

/** A source of complete desired states; it owns its connection and retry loop. */
export interface DesiredStateSource {
  start(): void;
  stop(): Promise<void>;
  /** Switches to refreshed credentials: reconnects with the new JWT. */
  updateCredentials(access: NatsAccess): void;
  /** Reads the pointer again and re-fetches every bundle, even if nothing changed. */
  resync(): void;
}

/** Options of {@link createNatsDesiredStateSource}. */
export interface NatsDesiredStateSourceOptions {
  access: NatsAccess;
  /** KV bucket, e.g. "gitfleet_desired". */
  bucket: string;
  /** The cluster's key prefix (its cluster id). */
  keyPrefix: string;
  /** Receives every new complete state, one at a time; a rejection is logged. */
  onState: (state: DesiredStateSnapshot) => Promise<void>;
  /** The state already held (e.g. from the Secret); its pointer revision is not fetched again. */
  initial?: DesiredStateSnapshot | undefined;
  /** Connection name shown by the server. */
  name?: string;
  logger?: Logger;
  clock?: Clock;
  /** Delays between sessions after a failure; default 0.5 s growing to 30 s, with jitter. */
  backoff?: Backoff;
  maxBundleBytes?: number;
  /** CA certificates (PEM) of --nats-ca; TLS is required unless every server is loopback (nats-tls.ts). */
  natsCaPem?: string | undefined;
  /** Checks each pointer before its bundles are fetched (signature, key, generation); see loadDesiredState. */
  verify?: LoadDesiredStateOptions["verify"];
}

/**
 * Creates the NATS desired-state source. The KV is opened with `allow_direct` and without any
 * stream lookup, so every read is a direct get whose subject carries the key, the only kind
 * NATS permissions can scope to one cluster. The watch is an ordered consumer that resumes
 * after a reconnect without replaying, so the source tracks the pointer's revision itself;
 * each new session's watch starts with the pointer's last value and skips it when it is the
 * entry already held.
 */
export function createNatsDesiredStateSource(options: NatsDesiredStateSourceOptions): DesiredStateSource {
  const logger = options.logger ?? pino({ level: "silent" });
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? createBackoff({ minMs: 500, maxMs: 30_000 });
  const pointerKey = `${options.keyPrefix}.desired`;
  const stopping = new AbortController();
  // Cuts a retry wait short when new credentials arrive: the old ones may be why it failed.
  const retryNow = createWakeup(clock);
  const encoder = new TextEncoder();
  let access = options.access;
  let current = options.initial;
  let lastRevision = current?.kvRevision ?? 0;
  let force = false;
  let session: { abort: AbortController; nc?: NatsConnection } | undefined;
  let loop: Promise<void> | undefined;

  const runSession = async (signal: AbortSignal): Promise<void> => {
    const security = natsTlsFor(access.servers, options.natsCaPem);
    const nc = await connect({
      ...(security.tls ? { tls: security.tls } : {}),
      servers: access.servers,
      // Read on every (re)connect, so refreshed credentials apply without a new connection.
      authenticator: jwtAuthenticator(
        () => access.userJwt,
        () => encoder.encode(access.userSeed),
      ),
      inboxPrefix: access.inboxPrefix,
      name: options.name ?? `gitfleet-agent ${options.keyPrefix}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 2_000,
      timeout: 10_000,
    }).catch((error: unknown) => {
      throw new Error(`cannot connect to NATS at ${access.servers.join(", ")}: ${messageOf(error)}${natsTlsHint(security)}`, { cause: error });
    });
    if (session) session.nc = nc;
    const close = (): void => {
      nc.close().catch(() => undefined);
    };
    signal.addEventListener("abort", close, { once: true });
    if (signal.aborted) close();
    const statusLog = logStatus(nc, logger);
    try {
      const kv = await new Kvm(nc).open(options.bucket, { allow_direct: true });
      const watch = await kv.watch({ key: pointerKey });
      // The watch iterator does not end by itself when the connection closes for good.
      void nc.closed().then(() => watch.stop());
      logger.info({ servers: access.servers, key: pointerKey }, "watching the desired state");
      backoff.reset();
      retryNow.clear();
      for await (const entry of watch) {
        if (signal.aborted) break;
        if (entry.operation !== "PUT") {
          logger.warn({ key: entry.key, operation: entry.operation }, "desired state pointer removed; keeping the last state");
          continue;
        }
        // A new session's watch starts with the pointer's last value, usually the one held.
        if (!force && entry.revision === lastRevision) continue;
        if (entry.revision < lastRevision) {
          logger.warn({ revision: entry.revision, held: lastRevision }, "the pointer's KV revision went back (bucket recreated?); taking it");
        }
        const state = await loadDesiredState({
          pointer: entry.value,
          kvRevision: entry.revision,
          keyPrefix: options.keyPrefix,
          reader: {
            get: async (key) => {
              const chunk = await kv.get(key);
              return chunk && chunk.operation === "PUT" ? chunk.value : undefined;
            },
          },
          previous: force ? undefined : current,
          verify: options.verify,
          ...(options.maxBundleBytes !== undefined ? { maxBundleBytes: options.maxBundleBytes } : {}),
        });
        current = state;
        lastRevision = entry.revision;
        force = false;
        logger.info({ revision: state.revision, generation: state.generation.toString(), bundles: state.bundles.length }, "desired state received");
        try {
          await options.onState(state);
        } catch (error) {
          logger.error({ err: error }, `handling the desired state failed: ${messageOf(error)}`);
        }
      }
    } finally {
      signal.removeEventListener("abort", close);
      await nc.close().catch(() => undefined);
      await statusLog;
    }
  };

  const runLoop = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      const abort = new AbortController();
      const onStop = (): void => abort.abort();
      stopping.signal.addEventListener("abort", onStop, { once: true });
      session = { abort };
      try {
        await runSession(abort.signal);
      } catch (error) {
        if (!stopping.signal.aborted) logger.warn({ err: error }, `desired state session failed: ${messageOf(error)}`);
      } finally {
        stopping.signal.removeEventListener("abort", onStop);
        session = undefined;
      }
      if (stopping.signal.aborted) break;
      // A restart asked for (new servers, resync) goes at once; anything else backs off.
      if (abort.signal.aborted) continue;
      const delay = backoff.next();
      logger.debug({ retryInMs: delay }, "reconnecting to NATS");
      await retryNow.wait(delay, stopping.signal);
    }
  };

  return {
    start() {
      loop ??= runLoop();
    },
    async stop() {
      stopping.abort();
      await loop;
    },
    updateCredentials(next) {
      const sameRoute = next.inboxPrefix === access.inboxPrefix && next.servers.join(",") === access.servers.join(",");
      access = next;
      if (!session?.nc || session.nc.isClosed()) {
        // Between sessions, likely because NATS refused the expired credentials: retry at once.
        backoff.reset();
        retryNow.trigger();
      }
      if (sameRoute && session?.nc && !session.nc.isClosed()) {
        logger.info("reconnecting to NATS with refreshed credentials");
        session.nc.reconnect().catch((error: unknown) => logger.warn({ err: error }, "NATS reconnect failed"));
      } else {
        session?.abort.abort();
      }
    },
    resync() {
      force = true;
      session?.abort.abort();
    },
  };
}

// Logs connection events until the connection closes.
async function logStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case "disconnect":
        logger.warn({ server: status.server }, "disconnected from NATS");
        break;
      case "reconnect":
        logger.info({ server: status.server }, "reconnected to NATS");
        break;
      case "error":
        logger.warn({ err: status.error }, "NATS error");
        break;
      default:
        break;
    }
  }
}
