// JetStream streams of the hub (the event log, cluster histories): opening one with the limits
// the hub was configured with, and reading it with a short-lived ordered consumer.
import type { Consumer, JetStreamClient, JetStreamManager, OrderedConsumerOptions, StreamConfig } from "@nats-io/jetstream";
import { isStreamNotFound, storeError } from "./buckets.js";

/** A stream's wanted configuration; `limits` names the fields brought up to date on an existing stream. */
export interface WantedStream {
  config: Partial<StreamConfig> & { name: string };
  limits: readonly (keyof StreamConfig)[];
}

/**
 * Creates the stream, or updates the fields named in `limits` on an existing one when they
 * differ from `config`. Resolves "updated" only when an existing stream was changed.
 */
export async function ensureStream(jsm: JetStreamManager, wanted: WantedStream): Promise<"created" | "updated" | "unchanged"> {
  const { config, limits } = wanted;
  try {
    try {
      const { config: current } = await jsm.streams.info(config.name);
      if (limits.every((key) => current[key] === config[key])) return "unchanged";
      const changed: Partial<StreamConfig> = Object.fromEntries(limits.map((key) => [key, config[key]]));
      await jsm.streams.update(config.name, { ...current, ...changed });
      return "updated";
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
      await jsm.streams.add(config);
      return "created";
    }
  } catch (err) {
    throw storeError(`cannot open the JetStream stream ${config.name}`, err);
  }
}

/**
 * Runs `read` with a short-lived ordered consumer of `stream` and the number of messages it has
 * to give, then deletes the consumer. Failures become a store error "cannot read the <what>".
 */
export async function withConsumer<T>(
  js: JetStreamClient,
  stream: string,
  options: Partial<OrderedConsumerOptions>,
  what: string,
  read: (consumer: Consumer, pending: number) => Promise<T>,
): Promise<T> {
  let consumer: Consumer;
  try {
    consumer = await js.consumers.get(stream, options);
  } catch (err) {
    throw storeError(`cannot read the ${what}`, err);
  }
  try {
    const { num_pending: pending } = await consumer.info(true);
    return await read(consumer, pending);
  } catch (err) {
    throw storeError(`cannot read the ${what}`, err);
  } finally {
    await consumer.delete().catch(() => false);
  }
}
