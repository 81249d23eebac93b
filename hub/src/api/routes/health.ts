// /healthz (the process answers) and /readyz (NATS connected, buckets open).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Health } from "../schemas.js";

/** Readiness of the hub's dependencies: check name to "ok" or what is wrong. */
export type ReadinessProbe = () => Record<string, string>;

/** Options of {@link healthRoutes}. */
export interface HealthRoutesOptions {
  readiness: ReadinessProbe;
}

/** Health routes; open, they reveal nothing but state. */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = (app, options) => {
  app.get(
    "/healthz",
    { schema: { summary: "Liveness", tags: ["health"], response: { 200: Health } } },
    () => Promise.resolve({ status: "ok" }),
  );
  app.get(
    "/readyz",
    { schema: { summary: "Readiness: NATS connected and buckets open", tags: ["health"], response: { 200: Health, 503: Health } } },
    (_request, reply) => {
      const checks = options.readiness();
      const ready = Object.values(checks).every((v) => v === "ok");
      reply.status(ready ? 200 : 503);
      return Promise.resolve({ status: ready ? "ready" : "not ready", checks });
    },
  );
  return Promise.resolve();
};
