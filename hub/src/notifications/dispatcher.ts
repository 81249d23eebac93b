// Delivers the event stream to one sink. Each sink has a durable JetStream consumer that every
// replica pulls from: one event is in flight at a time (max_ack_pending 1), so a sink gets events
// in order, a failed attempt holds the ones behind it until it is retried (nak with a backoff
// delay) or given up on (term), and nothing is lost while the sink or a replica is down.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import type { Logger } from "pino";
import { decodeEvent, decodeSettled, eventStreamName, eventSubjectRoot, settledSubjectRoot, type StoredEvent } from "../fleet-events/index.js";
import { dedupKeyOf, settledObjectOf } from "./dedup.js";
import type { DeliveryState } from "./delivery-state.js";
import { sinkRequest } from "./payloads.js";
import { afterFailure, isExpired } from "./retry.js";
import type { Sender } from "./sender.js";
import type { DeliveryRecord, SinkStatsStore } from "./sink-stats.js";
import { redactUrl, type SinkConfig } from "./sinks-config.js";

/** Options of {@link startSinkDispatcher}. */
export interface SinkDispatcherOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  sink: SinkConfig;
  state: DeliveryState;
  stats: SinkStatsStore;
  send: Sender;
  /** A consumer no replica pulled from for this long is removed by JetStream. */
  inactiveMs: number;
  logger: Logger;
  now: () => Date;
  /** Delay before pulling again after the consumer failed; default 1 s. */
  retryDelayMs?: number;
  /** Told each delivery outcome (the hub's metrics); must not throw. */
  onOutcome?: ((sinkType: string, outcome: DeliveryRecord["outcome"]) => void) | undefined;
}

/** The durable consumer name of a sink. */
export function sinkConsumerName(sink: string): string {
  return `notify_${sink}`;
}

const nanos = (ms: number): number => Math.round(ms * 1_000_000);

/** The consumer configuration of a sink. */
export function sinkConsumerConfig(sink: SinkConfig, inactiveMs: number): Partial<ConsumerConfig> & { durable_name: string } {
  const events = sink.types.length > 0 ? sink.types.map((type) => `${eventSubjectRoot}.*.${type}.>`) : [`${eventSubjectRoot}.>`];
  return {
    durable_name: sinkConsumerName(sink.name),
    description: `gitfleet notification sink ${sink.name}`,
    ack_policy: AckPolicy.Explicit,
    // A new sink starts with the events recorded from now on.
    deliver_policy: DeliverPolicy.New,
    max_ack_pending: 1,
    ack_wait: nanos(sink.timeoutMs + 30_000),
    max_deliver: -1,
    filter_subjects: [...events, `${settledSubjectRoot}.>`],
    inactive_threshold: nanos(inactiveMs),
  };
}

/** Starts delivering to a sink; returns the function that stops it. */
export function startSinkDispatcher(options: SinkDispatcherOptions): () => Promise<void> {
  const { js, jsm, sink, state, stats, now } = options;
  const logger = options.logger.child({ sink: sink.name, url: redactUrl(sink.url) });
  const durable = sinkConsumerName(sink.name);
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let wake: (() => void) | undefined;

  const ensureConsumer = async (): Promise<void> => {
    const wanted = sinkConsumerConfig(sink, options.inactiveMs);
    try {
      const { config } = await jsm.consumers.info(eventStreamName, durable);
      const same = JSON.stringify([...(config.filter_subjects ?? [])].sort()) === JSON.stringify([...(wanted.filter_subjects ?? [])].sort());
      if (!same || config.ack_wait !== wanted.ack_wait || config.inactive_threshold !== wanted.inactive_threshold) {
        const { filter_subjects = [], ack_wait = 0, inactive_threshold = 0 } = wanted;
        await jsm.consumers.update(eventStreamName, durable, { filter_subjects, ack_wait, inactive_threshold });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await jsm.consumers.add(eventStreamName, wanted);
    }
  };

  const note = async (event: StoredEvent, record: Omit<DeliveryRecord, "eventId" | "sequence" | "type" | "cluster" | "at">): Promise<void> => {
    options.onOutcome?.(sink.type, record.outcome);
    const full: DeliveryRecord = { eventId: event.id, sequence: event.sequence, type: event.type, cluster: event.cluster.name, at: now().toISOString(), ...record };
    await stats.record(sink.name, full).catch((err: unknown) => logger.warn({ err }, "could not record a delivery outcome"));
  };

  const handle = async (msg: JsMsg): Promise<void> => {
    const mark = decodeSettled(msg);
    if (mark) {
      await state.forget(sink.name, settledObjectOf(mark));
      msg.ack();
      return;
    }
    const event = decodeEvent(msg);
    if (!event) {
      msg.term("not a fleet event");
      return;
    }
    const attempt = msg.info.deliveryCount;
    const recordedAt = msg.time.getTime();
    if (isExpired(recordedAt, now().getTime(), sink)) {
      msg.term("older than the sink's maxAge");
      await note(event, { outcome: "given-up", attempt: attempt - 1, error: "older than the sink's maxAge before it could be sent" });
      return;
    }
    const key = dedupKeyOf(event);
    if (await state.wasSent(sink.name, key.object, key.state)) {
      msg.ack();
      await note(event, { outcome: "deduplicated", attempt: 0 });
      return;
    }
    const result = await options.send(sink.url, sinkRequest(sink, event, attempt, now()), sink.timeoutMs);
    if (result.ok) {
      await state.remember(sink.name, key.object, key.state);
      msg.ack();
      logger.debug({ event: event.id, attempt }, "event delivered");
      await note(event, { outcome: "delivered", attempt });
      return;
    }
    const decision = afterFailure({ attempt, recordedAt, now: now().getTime(), policy: sink });
    if (decision.retry) {
      msg.nak(decision.delayMs);
      logger.info({ event: event.id, attempt, error: result.error, retryInMs: decision.delayMs }, "delivery failed; will retry");
      await note(event, { outcome: "failed", attempt, error: result.error, nextAttemptAt: new Date(now().getTime() + decision.delayMs).toISOString() });
    } else {
      msg.term(decision.reason);
      logger.warn({ event: event.id, attempt, error: result.error, reason: decision.reason }, "delivery given up");
      await note(event, { outcome: "given-up", attempt, error: `${result.error}; ${decision.reason}` });
    }
  };

  const pullOnce = async (): Promise<void> => {
    await ensureConsumer();
    const consumer = await js.consumers.get(eventStreamName, durable);
    messages = await consumer.consume({ max_messages: 1, abort_on_missing_resource: true });
    if (stopped) await messages.close();
    for await (const msg of messages) {
      try {
        await handle(msg);
      } catch (err) {
        // Not acknowledged: JetStream hands it out again after ack_wait.
        logger.warn({ err }, "could not handle an event; it will be delivered again");
      }
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        await pullOnce();
      } catch (err) {
        if (!stopped) logger.warn({ err }, "sink consumer failed; pulling again");
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.retryDelayMs ?? 1_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const running = loop();
  return async () => {
    stopped = true;
    wake?.();
    await messages?.close().catch(() => undefined);
    await running;
  };
}
