// The notification sinks of one hub replica: a dispatcher per configured sink, and what the API
// shows of them.
import { formatDuration } from "@gitfleet/proto/rules";
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { eventStreamName } from "../fleet-events/index.js";
import { bucketNames, openBucket } from "../store/buckets.js";
import { createDeliveryState } from "./delivery-state.js";
import { sinkConsumerName, startSinkDispatcher } from "./dispatcher.js";
import { httpSender, type Sender } from "./sender.js";
import { createSinkStatsStore, type DeliveryOutcome, type SinkStats } from "./sink-stats.js";
import { redactUrl, type SinkConfig } from "./sinks-config.js";

/** Options of {@link startNotifications}. */
export interface NotificationsOptions {
  nc: NatsConnection;
  replicas: number;
  sinks: readonly SinkConfig[];
  /** How long events are kept: what the sinks were sent expires with them. */
  eventMaxAgeMs: number;
  logger: Logger;
  now: () => Date;
  /** How deliveries are sent; HTTP by default. */
  send?: Sender;
  /** Told each delivery outcome (the hub's metrics); must not throw. */
  onOutcome?: ((sinkType: string, outcome: DeliveryOutcome) => void) | undefined;
}

/** A sink as the API shows it: never its URL's path or its secret. */
export interface SinkStatusView extends SinkStats {
  name: string;
  type: string;
  url: string;
  types: string[];
  maxAttempts: number;
  maxAge: string;
  /** Events not yet delivered or given up on, including the one in hand. */
  pending: number;
  /** Attempts made on the event in hand (0 when none failed). */
  attempts: number;
}

/** The running notifications of a replica. */
export interface Notifications {
  /** The configured sinks with their delivery outcomes. */
  sinks(): Promise<SinkStatusView[]>;
  stop(): Promise<void>;
}

/** Opens the notification buckets and starts a dispatcher per sink (none without sinks). */
export async function startNotifications(options: NotificationsOptions): Promise<Notifications> {
  const logger = options.logger.child({ component: "notifications" });
  const { nc, sinks } = options;
  const kvm = new Kvm(nc);
  const [stateKv, statsKv] = await Promise.all([
    openBucket(kvm, bucketNames.notifyState, { replicas: options.replicas, ttlMs: options.eventMaxAgeMs, description: "gitfleet: what each notification sink was last sent per object" }),
    openBucket(kvm, bucketNames.notifySinks, { replicas: options.replicas, description: "gitfleet: delivery outcomes per notification sink" }),
  ]);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const state = createDeliveryState(stateKv);
  const stats = createSinkStatsStore(statsKv);
  const send = options.send ?? httpSender();
  const stops = sinks.map((sink) =>
    startSinkDispatcher({ js, jsm, sink, state, stats, send, inactiveMs: Math.max(options.eventMaxAgeMs, 86_400_000), logger, now: options.now, onOutcome: options.onOutcome }),
  );
  if (sinks.length > 0) logger.info({ sinks: sinks.map((s) => `${s.name} (${s.type}, ${redactUrl(s.url)})`) }, "notification sinks started");

  const pendingOf = async (sink: SinkConfig): Promise<number> => {
    try {
      const info = await jsm.consumers.info(eventStreamName, sinkConsumerName(sink.name));
      return info.num_pending + info.num_ack_pending;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return 0;
      throw err;
    }
  };

  return {
    async sinks() {
      return Promise.all(
        sinks.map(async (sink) => {
          const [sinkStats, pending] = await Promise.all([stats.read(sink.name), pendingOf(sink)]);
          // The event in hand failed as often as the newest records say, back to its first attempt.
          const head = sinkStats.recent[0];
          const attempts = pending > 0 && head?.outcome === "failed" ? head.attempt : 0;
          return {
            name: sink.name,
            type: sink.type,
            url: redactUrl(sink.url),
            types: sink.types,
            maxAttempts: sink.maxAttempts,
            maxAge: formatDuration(sink.maxAgeMs),
            pending,
            attempts,
            ...sinkStats,
          };
        }),
      );
    },
    async stop() {
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}
