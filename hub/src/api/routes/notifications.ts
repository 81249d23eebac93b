// /api/v1/notifications/sinks: the configured notification sinks and how their deliveries went.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Notifications } from "../../notifications/index.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { SinkList } from "../event-schemas.js";
import { ErrorBody } from "../schemas.js";

/** Options of {@link notificationRoutes}. */
export interface NotificationRoutesOptions {
  notifications: Pick<Notifications, "sinks">;
  auth: ApiAuthenticator;
}

/** Notification routes. */
export const notificationRoutes: FastifyPluginAsyncTypebox<NotificationRoutesOptions> = (app, options) => {
  app.get(
    "/notifications/sinks",
    {
      onRequest: requireRole(options.auth, "viewer"),
      schema: {
        summary: "List notification sinks with their delivery outcomes",
        description:
          "For each sink configured on the hub: events pending, attempts on the event in hand, counters, the last success and failure, " +
          "and the latest deliveries. Sink URLs show their scheme and host only.",
        tags: ["events"],
        security: [{ bearer: [] }],
        response: { 200: SinkList, 401: ErrorBody, 503: ErrorBody },
      },
    },
    async () => ({ items: await options.notifications.sinks() }),
  );
  return Promise.resolve();
};
