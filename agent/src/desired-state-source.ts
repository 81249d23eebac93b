// Follows the cluster's desired state as an agent of the agents account (docs/protocol.md, "An
// agent's NATS permissions"): a core subscription on its own `<prefix>.desired` pointer subject
// tells it when the pointer changes, a direct get of the pointer's last value gives the pointer
// and its KV revision, and direct gets fetch the chunks it names.
import { connect } from "@nats-io/transport-node";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { createBackoff } from "./backoff.js";
import type { Backoff } from "./backoff.js";
import { createWakeup, systemClock } from "./clock.js";
import type { Clock, Wakeup } from "./clock.js";
import { loadDesiredState } from "./desired-state.js";
import type { DesiredStateSnapshot, LoadDesiredStateOptions } from "./desired-state.js";
import { natsUserAuthenticator } from "./nats-auth.js";
import { natsTlsFor, natsTlsHint } from "./nats-tls.js";

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
  /**
   * How often the pointer is read again without a notification (a put missed while the
   * connection was down, or a lost message); default 60 s, with ±20 % jitter.
   */
  rereadIntervalMs?: number;
  /** Timeout of one direct get; default 10 s. */
  requestTimeoutMs?: number;
}

/**
 * Creates the NATS desired-state source. The agent's user may not create consumers or read
 * stream info, so the source never opens the KV: it subscribes to its pointer's subject (each
 * put of the pointer reaches it through the agents account's stream import) and reads keys with
 * direct gets (a service import), whose subject carries the key, so permissions scope them to
 * one cluster. A notification, a reconnect, a resync or the slow periodic timer all lead to the
 * same read of the pointer's last value; a read whose KV revision is the one held is skipped.
 */
export function createNatsDesiredStateSource(options: NatsDesiredStateSourceOptions): DesiredStateSource {
  const logger = options.logger ?? pino({ level: "silent" });
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? createBackoff({ minMs: 500, maxMs: 30_000 });
  const rereadMs = options.rereadIntervalMs ?? 60_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const pointerKey = `${options.keyPrefix}.desired`;
  const keySubject = (key: string): string => `$KV.${options.bucket}.${key}`;
  const directGetSubject = (key: string): string => `$JS.API.DIRECT.GET.KV_${options.bucket}.${keySubject(key)}`;
  const stopping = new AbortController();
  // Cuts a retry wait short when new credentials arrive: the old ones may be why it failed.
  const retryNow = createWakeup(clock);
  let access = options.access;
  let current = options.initial;
  let lastRevision = current?.kvRevision ?? 0;
  // The pointer bytes the last read returned, and the newest a notification announced: the
  // server hands a put to subscribers before its stream has stored it, so a read right after the
  // notification can still answer the previous pointer. While it does, the source reads again
  // shortly rather than at the next periodic read.
  let lastPointerBytes: Uint8Array | undefined;
  let announced: { bytes: Uint8Array; heldRevision: number; retries: number } | undefined;
  let force = false;
  let session: { abort: AbortController; nc?: NatsConnection; readNow?: Wakeup } | undefined;
  let loop: Promise<void> | undefined;

  /** The last value of `key`, or undefined when it has none (never written, deleted or purged). */
  const directGet = async (nc: NatsConnection, key: string): Promise<{ value: Uint8Array; revision: number } | undefined> => {
    let msg: Msg;
    try {
      msg = await nc.request(directGetSubject(key), undefined, { timeout: requestTimeoutMs });
    } catch (error) {
      throw new Error(`reading ${key} from ${options.bucket} failed: ${messageOf(error)}`, { cause: error });
    }
    const headers = msg.headers;
    if (headers?.hasError) {
      if (headers.code === 404) return undefined;
      throw new Error(`reading ${key} from ${options.bucket} failed: ${headers.code} ${headers.description}`);
    }
    const operation = headers?.get("KV-Operation") ?? "";
    if (operation === "DEL" || operation === "PURGE") return undefined;
    const revision = Number(headers?.get("Nats-Sequence") ?? "0");
    return { value: msg.data, revision: Number.isSafeInteger(revision) ? revision : 0 };
  };

  const readPointer = async (nc: NatsConnection): Promise<void> => {
    const reread = force;
    const entry = await directGet(nc, pointerKey);
    lastPointerBytes = entry?.value;
    if (!entry) {
      if (lastRevision !== 0) logger.warn({ key: pointerKey }, "desired state pointer removed; keeping the last state");
      return;
    }
    if (!reread && entry.revision === lastRevision) return;
    if (entry.revision < lastRevision) {
      logger.warn({ revision: entry.revision, held: lastRevision }, "the pointer's KV revision went back (bucket recreated?); taking it");
    }
    const state = await loadDesiredState({
      pointer: entry.value,
      kvRevision: entry.revision,
      keyPrefix: options.keyPrefix,
      reader: { get: async (key) => (await directGet(nc, key))?.value },
      previous: reread ? undefined : current,
      verify: options.verify,
      ...(options.maxBundleBytes !== undefined ? { maxBundleBytes: options.maxBundleBytes } : {}),
    });
    current = state;
    lastRevision = entry.revision;
    if (reread) force = false;
    logger.info({ revision: state.revision, generation: state.generation.toString(), bundles: state.bundles.length }, "desired state received");
    try {
      await options.onState(state);
    } catch (error) {
      logger.error({ err: error }, `handling the desired state failed: ${messageOf(error)}`);
    }
  };

  // How soon to read again when the last notification announced a pointer the read did not
  // return yet (and the held revision has not moved since); undefined once it did, or after
  // ANNOUNCED_RETRIES reads, when the periodic read takes over.
  const announcedNotRead = (): number | undefined => {
    const pending = announced;
    if (pending === undefined) return undefined;
    if (lastRevision !== pending.heldRevision || (lastPointerBytes !== undefined && sameBytes(lastPointerBytes, pending.bytes)) || pending.retries >= ANNOUNCED_RETRIES) {
      announced = undefined;
      return undefined;
    }
    const delay = Math.min(50 * 2 ** pending.retries, 2_000);
    pending.retries++;
    logger.debug({ retryInMs: delay }, "the announced desired state is not readable yet; reading again");
    return delay;
  };

  const runSession = async (signal: AbortSignal): Promise<void> => {
    const security = natsTlsFor(access.servers, options.natsCaPem);
    const nc = await connect({
      ...(security.tls ? { tls: security.tls } : {}),
      servers: access.servers,
      // Read on every (re)connect, so refreshed credentials apply without a new connection.
      authenticator: natsUserAuthenticator(() => access),
      inboxPrefix: access.inboxPrefix,
      name: options.name ?? `gitfleet-agent ${options.keyPrefix}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 2_000,
      timeout: 10_000,
    }).catch((error: unknown) => {
      throw new Error(`cannot connect to NATS at ${access.servers.join(", ")}: ${messageOf(error)}${natsTlsHint(security)}`, { cause: error });
    });
    const readNow = createWakeup(clock);
    if (session) {
      session.nc = nc;
      session.readNow = readNow;
    }
    const close = (): void => {
      nc.close().catch(() => undefined);
    };
    signal.addEventListener("abort", close, { once: true });
    if (signal.aborted) close();
    const closed = nc.closed();
    void closed.then(() => readNow.trigger());
    const statusLog = logStatus(nc, logger, () => readNow.trigger());
    try {
      // Every put of the pointer (and a delete or purge) arrives here; the payload is not used:
      // the direct get that follows gives the value together with its revision.
      nc.subscribe(keySubject(pointerKey), {
        callback: (error, msg) => {
          if (error) logger.warn({ err: error }, `desired state notifications failed: ${messageOf(error)}`);
          const operation = msg?.headers?.get("KV-Operation") ?? "";
          if (msg && msg.data.length > 0 && operation !== "DEL" && operation !== "PURGE") {
            announced = { bytes: msg.data.slice(), heldRevision: lastRevision, retries: 0 };
          }
          readNow.trigger();
        },
      });
      await nc.flush();
      logger.info({ servers: access.servers, key: pointerKey }, "following the desired state");
      let first = true;
      while (!signal.aborted && !nc.isClosed()) {
        try {
          await readPointer(nc);
          if (first) {
            backoff.reset();
            retryNow.clear();
            first = false;
          }
        } catch (error) {
          if (signal.aborted || nc.isClosed()) break;
          // The first read of a session proves the credentials; a failure there ends the session.
          if (first) throw error;
          logger.warn({ err: error }, `reading the desired state failed: ${messageOf(error)}`);
        }
        await readNow.wait(announcedNotRead() ?? rereadMs * (0.8 + Math.random() * 0.4), signal);
      }
      const closedWith = nc.isClosed() ? await closed : undefined;
      if (closedWith && !signal.aborted) throw closedWith;
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
      // A restart asked for (new servers) goes at once; anything else backs off.
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
      session?.readNow?.trigger();
    },
  };
}

/** Reads after a notification until the bucket answers the announced pointer: about 6 s in all. */
const ANNOUNCED_RETRIES = 8;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

// Logs connection events until the connection closes; a reconnect asks for a read.
async function logStatus(nc: NatsConnection, logger: Logger, onReconnect: () => void): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case "disconnect":
        logger.warn({ server: status.server }, "disconnected from NATS");
        break;
      case "reconnect":
        logger.info({ server: status.server }, "reconnected to NATS");
        onReconnect();
        break;
      case "error":
        logger.warn({ err: status.error }, "NATS error");
        break;
      default:
        break;
    }
  }
}
