// /api/v1/events: the fleet event log, as pages (oldest first) and as a live Server-Sent Events
// stream that resumes after the Last-Event-ID a client reconnects with.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { HubError } from "../../errors.js";
import type { EventLog, StoredEvent } from "../../fleet-events/index.js";
import type { ClusterStore } from "../../store/clusters.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { EventList, EventListQuery, EventStreamQuery } from "../event-schemas.js";
import { parseEventQuery } from "../event-query.js";
import { ErrorBody } from "../schemas.js";
import { openSse, type SseStream } from "../sse.js";

/** Options of {@link eventRoutes}. */
export interface EventRoutesOptions {
  log: EventLog;
  clusters: ClusterStore;
  auth: ApiAuthenticator;
  now: () => Date;
  /** Interval of the stream's keep-alive comments; default 15 s. */
  keepAliveMs?: number;
}

const security = [{ bearer: [] }];

/** Event routes. */
export const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = (app, options) => {
  const { log, clusters, now } = options;
  const viewer = requireRole(options.auth, "viewer");
  const streams = new Set<SseStream>();
  // Open streams would hold the server's close until their clients leave.
  app.addHook("preClose", (done) => {
    for (const stream of streams) stream.end();
    done();
  });

  app.get(
    "/events",
    {
      onRequest: viewer,
      schema: {
        summary: "List fleet events, oldest first, with filters",
        description:
          "Drift detected and corrected, conflicts, health degraded and recovered, failed syncs, clusters stale and back. " +
          "Filters combine with AND. Pages are oldest first; pass `continue` from one page to get the next. " +
          "Without `since` or `continue` the list starts at the oldest event kept.",
        tags: ["events"],
        security,
        querystring: EventListQuery,
        response: { 200: EventList, 400: ErrorBody, 401: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const { filter, since, none } = parseEventQuery(request.query, clusters, now());
      if (none) return { items: [] };
      const after = request.query.continue === undefined ? undefined : Number(request.query.continue);
      return log.list({ ...filter, since, after, limit: request.query.limit ?? 100 });
    },
  );

  app.get(
    "/events/stream",
    {
      onRequest: viewer,
      schema: {
        summary: "Follow fleet events as Server-Sent Events",
        description:
          "Each event is one SSE message: `id` is its sequence, `data` the event as GET /events lists it. A comment line is sent " +
          "every 15 s to keep the connection open. Without Last-Event-ID or since, the stream starts with the next event recorded; " +
          "a client that reconnects with the Last-Event-ID header gets every event after that one.",
        tags: ["events"],
        security,
        querystring: EventStreamQuery,
        headers: {
          type: "object",
          properties: { "last-event-id": { type: "string", pattern: "^[0-9]{1,16}$", description: "Resume after this event sequence." } },
        },
        response: {
          200: { description: "A text/event-stream of fleet events.", content: { "text/event-stream": { schema: { type: "string" } } } },
          400: ErrorBody,
          401: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { filter, since, none } = parseEventQuery(request.query, clusters, now());
      const header = request.headers["last-event-id"];
      const after = typeof header === "string" ? Number(header) : undefined;
      // Events that arrive before the stream is open wait for it.
      const waiting: StoredEvent[] = [];
      const open: { stream?: SseStream } = {};
      const deliver = (event: StoredEvent): void => {
        if (open.stream) open.stream.send({ id: String(event.sequence), data: JSON.stringify(event) });
        else waiting.push(event);
      };
      // Follow before answering, so that a hub without NATS answers 503 rather than an empty stream.
      const follower = none ? undefined : await log.follow(filter, { after, since }, deliver).catch((err: unknown) => {
        throw err instanceof HubError ? err : new HubError("unavailable", "cannot read the event stream", { cause: err });
      });
      const stream = openSse(request, reply, options.keepAliveMs !== undefined ? { keepAliveMs: options.keepAliveMs } : {});
      open.stream = stream;
      streams.add(stream);
      for (const event of waiting.splice(0)) deliver(event);
      void follower?.closed.then(() => stream.end());
      await stream.ended;
      streams.delete(stream);
      await follower?.stop();
    },
  );
  return Promise.resolve();
};
