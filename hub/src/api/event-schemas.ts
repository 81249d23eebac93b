// TypeBox schemas of the fleet events and notification sinks API.
import { Type, type Static } from "@fastify/type-provider-typebox";
import { fleetEventTypes, type FleetEventType } from "../fleet-events/index.js";

const Timestamp = Type.String({ format: "date-time" });
const EventTypeName = Type.Unsafe<FleetEventType>({ type: "string", enum: [...fleetEventTypes] });

const EventField = Type.Object({
  path: Type.String({ description: "JSON pointer (RFC 6901)." }),
  desired: Type.String({ description: "The value Git asks for, JSON-encoded; empty when absent or redacted." }),
  live: Type.String({ description: "The value in the cluster, JSON-encoded; empty when absent or redacted." }),
  manager: Type.String({ description: "The field manager that wrote the live value." }),
  redacted: Type.Optional(Type.Boolean({ description: "Values withheld (fields of Secrets)." })),
  truncated: Type.Optional(Type.Boolean({ description: "A value was cut at 1 KiB." })),
});

/** A fleet event as the API shows it. */
export const FleetEventView = Type.Object({
  sequence: Type.Integer({ description: "Position in the event log: the cursor of lists and the id of Server-Sent Events." }),
  id: Type.String({ description: "The event's id; the same event recorded twice keeps one id." }),
  type: EventTypeName,
  time: Timestamp,
  cluster: Type.Object({ id: Type.String(), name: Type.String() }),
  bundle: Type.Optional(Type.String()),
  resource: Type.Optional(Type.Object({ apiVersion: Type.String(), kind: Type.String(), namespace: Type.String(), name: Type.String() })),
  driftState: Type.Optional(Type.Union([Type.Literal("drifted"), Type.Literal("missing"), Type.Literal("conflict")])),
  fields: Type.Optional(Type.Array(EventField)),
  fieldsOmitted: Type.Optional(Type.Integer({ description: "Fields the agent left out of fields." })),
  revision: Type.Optional(Type.String()),
  lastSeen: Type.Optional(Type.String({ description: "cluster-stale: last heard from; cluster-back: heard from again." })),
  message: Type.String(),
});

const filters = {
  cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: "A cluster name, or the id of a cluster (also of a deleted one)." })),
  bundle: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  type: Type.Optional(Type.String({ maxLength: 256, description: `Comma-separated event types: ${fleetEventTypes.join(", ")}.` })),
  kind: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  since: Type.Optional(Type.String({ maxLength: 64, description: 'Events recorded at or after this RFC 3339 time, or this long ago ("1h", "30m").' })),
};

/** Query of GET /api/v1/events. */
export const EventListQuery = Type.Object({
  ...filters,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  continue: Type.Optional(Type.String({ pattern: "^[0-9]{1,16}$", description: "The continue value of the previous page." })),
});
/** The validated query of GET /api/v1/events. */
export type EventListQuery = Static<typeof EventListQuery>;

/** Query of GET /api/v1/events/stream. */
export const EventStreamQuery = Type.Object(filters);
/** The validated query of GET /api/v1/events/stream. */
export type EventStreamQuery = Static<typeof EventStreamQuery>;

/** Answer of GET /api/v1/events. */
export const EventList = Type.Object({
  items: Type.Array(FleetEventView, { description: "Oldest first." }),
  continue: Type.Optional(Type.String({ description: "Pass as continue for the next page; absent on the last page." })),
});

const DeliveryRecordView = Type.Object({
  eventId: Type.String(),
  sequence: Type.Integer(),
  type: Type.String(),
  cluster: Type.String(),
  outcome: Type.Union([Type.Literal("delivered"), Type.Literal("failed"), Type.Literal("given-up"), Type.Literal("deduplicated")]),
  attempt: Type.Integer(),
  at: Timestamp,
  error: Type.Optional(Type.String()),
  nextAttemptAt: Type.Optional(Timestamp),
});

/** A notification sink with its delivery outcomes. */
export const SinkView = Type.Object({
  name: Type.String(),
  type: Type.String({ description: "webhook or slack." }),
  url: Type.String({ description: "Scheme and host only: the rest of a sink URL may be a secret." }),
  types: Type.Array(Type.String(), { description: "Event types sent; empty means all." }),
  maxAttempts: Type.Integer(),
  maxAge: Type.String(),
  pending: Type.Integer({ description: "Events not yet delivered or given up on." }),
  attempts: Type.Integer({ description: "Failed attempts on the event in hand." }),
  delivered: Type.Integer(),
  failed: Type.Integer({ description: "Failed attempts (each retried later)." }),
  givenUp: Type.Integer(),
  deduplicated: Type.Integer({ description: "Events not sent: the sink already had that state of that object." }),
  lastSuccessAt: Type.Union([Timestamp, Type.Null()]),
  lastFailureAt: Type.Union([Timestamp, Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  recent: Type.Array(DeliveryRecordView, { description: "The latest deliveries, newest first." }),
});

/** Answer of GET /api/v1/notifications/sinks. */
export const SinkList = Type.Object({ items: Type.Array(SinkView) });
