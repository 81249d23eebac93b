// The fleet event log: a JetStream stream shared by every hub replica. Events are recorded with
// their id as the message id, so JetStream keeps one copy of an event that two replicas, or an
// agent re-sending, record twice. Readers filter by subject (subjects.ts); the stream sequence is
// the cursor of lists and the id of Server-Sent Events.
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { storeError } from "../store/buckets.js";
import { ensureStream, withConsumer } from "../store/streams.js";
import type { FleetEvent, SettledMark } from "./fleet-event.js";
import {
  eventStreamName,
  eventSubject,
  eventSubjectRoot,
  filterSubjects,
  settledSubject,
  settledSubjectRoot,
  type EventFilter,
} from "./subjects.js";

/** Limits of the event stream. */
export interface EventLogLimits {
  /** Events older than this are dropped; default 7 days. */
  maxAgeMs: number;
  /** At most this many events are kept, the oldest dropped first; default 100,000. */
  maxCount: number;
}

/** Default {@link EventLogLimits}. */
export const defaultEventLogLimits: EventLogLimits = { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 };

/** Options of {@link openEventLog}. */
export interface EventLogOptions {
  nc: NatsConnection;
  /** JetStream replicas of the stream (1, 3 or 5). */
  replicas: number;
  limits: EventLogLimits;
  logger: Logger;
}

/** A recorded event with its stream sequence. */
export interface StoredEvent extends FleetEvent {
  sequence: number;
}

/** A list request: a filter, where to start, and how many. */
export interface EventQuery extends EventFilter {
  /** Only events recorded at or after this time. */
  since?: Date | undefined;
  /** Only events after this sequence (a `continue` cursor). */
  after?: number | undefined;
  limit: number;
}

/** A page of events, oldest first; `continue` is set when more match. */
export interface EventPage {
  items: StoredEvent[];
  continue?: string;
}

/** A live reader of the log. */
export interface EventFollower {
  /** Resolves when the reader ended: stopped, or its consumer failed. */
  readonly closed: Promise<void>;
  stop(): Promise<void>;
}

/** The event log. */
export interface EventLog {
  readonly limits: EventLogLimits;
  /** Records an event; resolves false when the stream already held it (same id). */
  record(event: FleetEvent): Promise<boolean>;
  /** Records that an object went back to normal (for the notifier). */
  settle(mark: SettledMark): Promise<void>;
  /** Events matching `query`, oldest first. */
  list(query: EventQuery): Promise<EventPage>;
  /**
   * Calls `onEvent` for every event matching `filter` recorded after sequence `after`
   * (after the newest when undefined; from `since` when given instead).
   */
  follow(filter: EventFilter, start: { after?: number | undefined; since?: Date | undefined }, onEvent: (event: StoredEvent) => void): Promise<EventFollower>;
  /** The newest event of every subject that `subjects` match. */
  lastPerSubject(subjects: readonly string[]): Promise<StoredEvent[]>;
}

const nanos = (ms: number): number => Math.round(ms * 1_000_000);
// Long enough for replicas sweeping on their own timers and agents re-sending after a reconnect.
const duplicateWindowMs = 10 * 60_000;
// How long a list waits for messages its consumer said were there (they may expire meanwhile).
const fetchExpiresMs = 2_000;

/** Decodes a stored event; undefined for anything else on the stream. */
export function decodeEvent(msg: { subject: string; data: Uint8Array; seq: number }): StoredEvent | undefined {
  if (!msg.subject.startsWith(`${eventSubjectRoot}.`)) return undefined;
  try {
    return { ...(JSON.parse(new TextDecoder().decode(msg.data)) as FleetEvent), sequence: msg.seq };
  } catch {
    return undefined;
  }
}

/** Decodes a settled mark; undefined for anything else on the stream. */
export function decodeSettled(msg: { subject: string; data: Uint8Array }): SettledMark | undefined {
  if (!msg.subject.startsWith(`${settledSubjectRoot}.`)) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(msg.data)) as SettledMark;
  } catch {
    return undefined;
  }
}

/** Creates the stream, or brings its limits up to date, and returns the log. */
export async function openEventLog(options: EventLogOptions): Promise<EventLog> {
  const { nc, limits } = options;
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await openStream(jsm, options);
  const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

  return {
    limits,
    async record(event) {
      try {
        const ack = await js.publish(eventSubject(event), encode(event), { msgID: event.id });
        return !ack.duplicate;
      } catch (err) {
        throw storeError(`cannot record event ${event.id} (${event.type})`, err);
      }
    },
    async settle(mark) {
      try {
        await js.publish(settledSubject(mark), encode(mark), { msgID: mark.id });
      } catch (err) {
        throw storeError(`cannot record that ${mark.aspect} of bundle ${mark.bundle} settled`, err);
      }
    },
    async list(query) {
      const start = query.after !== undefined ? { opt_start_seq: query.after + 1 } : query.since ? { opt_start_time: query.since.toISOString() } : {};
      return withConsumer(js, eventStreamName, { filter_subjects: filterSubjects(query), ...start }, "event stream", async (consumer, pending) => {
        const items = await fetchEvents(consumer, Math.min(query.limit, pending));
        const last = items.at(-1);
        return { items, ...(last && pending > items.length ? { continue: String(last.sequence) } : {}) };
      });
    },
    async follow(filter, start, onEvent) {
      return await followLog({ js, jsm, filter, start, onEvent, logger: options.logger });
    },
    async lastPerSubject(subjects) {
      return withConsumer(js, eventStreamName, { filter_subjects: [...subjects], deliver_policy: DeliverPolicy.LastPerSubject }, "event stream", (consumer, pending) => fetchEvents(consumer, pending));
    },
  };
}

async function openStream(jsm: JetStreamManager, options: EventLogOptions): Promise<void> {
  const { maxAgeMs, maxCount } = options.limits;
  const outcome = await ensureStream(jsm, {
    config: {
      name: eventStreamName,
      description: "gitfleet fleet events (drift, health, sync, stale clusters)",
      subjects: [`${eventSubjectRoot}.>`, `${settledSubjectRoot}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(maxAgeMs),
      max_msgs: maxCount,
      duplicate_window: nanos(Math.min(duplicateWindowMs, maxAgeMs)),
      num_replicas: options.replicas,
    },
    limits: ["max_age", "max_msgs", "duplicate_window"],
  });
  if (outcome === "updated") options.logger.info({ maxAgeMs, maxCount }, "event stream limits updated");
}

async function fetchEvents(consumer: Consumer, count: number): Promise<StoredEvent[]> {
  const items: StoredEvent[] = [];
  if (count <= 0) return items;
  const messages = await consumer.fetch({ max_messages: count, expires: fetchExpiresMs });
  for await (const msg of messages) {
    const event = decodeEvent(msg);
    if (event) items.push(event);
  }
  return items;
}

async function followLog(input: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  filter: EventFilter;
  start: { after?: number | undefined; since?: Date | undefined };
  onEvent: (event: StoredEvent) => void;
  logger: Logger;
}): Promise<EventFollower> {
  const { js, jsm, filter, start, onEvent } = input;
  // Start at an explicit sequence where one is known: an ordered consumer that resets before
  // its first message would otherwise start again from the beginning of the stream.
  let last = start.after ?? (start.since ? 0 : (await jsm.streams.info(eventStreamName)).state.last_seq);
  const since = start.after === undefined ? start.since?.getTime() : undefined;
  const position = since !== undefined ? { opt_start_time: new Date(since).toISOString() } : { opt_start_seq: last + 1 };
  const consumer = await js.consumers.get(eventStreamName, { filter_subjects: filterSubjects(filter), ...position });
  const messages = await consumer.consume({ max_messages: 64 });
  const closed = (async () => {
    try {
      for await (const msg of messages as AsyncIterable<JsMsg>) {
        if (msg.seq <= last) continue;
        last = msg.seq;
        const event = decodeEvent(msg);
        if (event && (since === undefined || msg.time.getTime() >= since)) onEvent(event);
      }
    } catch (err) {
      input.logger.info({ err }, "event stream reader ended");
    }
  })();
  return {
    closed,
    async stop() {
      await messages.close().catch(() => undefined);
      await closed;
      await consumer.delete().catch(() => false);
    },
  };
}
