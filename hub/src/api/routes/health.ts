// /healthz (the process answers) and /readyz (NATS connected, stores loaded; the replica's
// delivery role and whether Git is reachable, which does not make a replica unready).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Health } from "../schemas.js";

/** Readiness of a hub replica. */
export interface Readiness {
  /** The replica's delivery role (docs/high-availability.md). */
  role?: "leader" | "follower" | undefined;
  /** Check name to "ok" or what is wrong. */
  checks: Record<string, string>;
  /** Checks reported but not required: the replica stays ready when they fail (Git down). */
  advisory?: readonly string[] | undefined;
}

/** Readiness of the hub's dependencies. */
export type ReadinessProbe = () => Readiness;

/** True when every required check of `readiness` is "ok". */
export function isReady(readiness: Readiness): boolean {
  const advisory = new Set(readiness.advisory ?? []);
  return Object.entries(readiness.checks).every(([name, value]) => value === "ok" || advisory.has(name));
}

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
    {
      schema: {
        summary: "Readiness: NATS connected and stores loaded; the delivery role, and Git reachability (which does not make a replica unready)",
        tags: ["health"],
        response: { 200: Health, 503: Health },
      },
    },
    (_request, reply) => {
      const readiness = options.readiness();
      const ready = isReady(readiness);
      reply.status(ready ? 200 : 503);
      return Promise.resolve({ status: ready ? "ready" : "not ready", ...(readiness.role ? { role: readiness.role } : {}), checks: readiness.checks });
    },
  );
  return Promise.resolve();
};
