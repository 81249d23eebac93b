// /api/v1/drift: fleet-wide drift from the replica's in-memory index, a page at a time, and
// counted per cluster, bundle, kind or manager.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { decodeCursor, type DriftIndex } from "../../drift/index.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { DriftPage, DriftQuery, DriftSummary, DriftSummaryQuery, driftPageLimits } from "../drift-schemas.js";
import { driftFilter } from "../drift-query.js";
import { ErrorBody } from "../schemas.js";

/** Options of {@link driftRoutes}. */
export interface DriftRoutesOptions {
  drift: DriftIndex;
  auth: ApiAuthenticator;
  now: () => Date;
}

const security = [{ bearer: [] }];

/** Drift routes (viewer). */
export const driftRoutes: FastifyPluginAsyncTypebox<DriftRoutesOptions> = (app, options) => {
  const { drift, now } = options;
  const viewer = requireRole(options.auth, "viewer");

  app.get(
    "/drift",
    {
      onRequest: viewer,
      schema: {
        summary: "List drifted objects across the fleet",
        description:
          "Objects drifted, missing or in conflict, one item per object with its drifted fields, ordered by cluster name, bundle, " +
          "API group, kind, namespace and name. A page holds at most `limit` items; `continue` leads to the next one, and `totals` " +
          "count the whole result. Stale clusters are included with `stale: true`: their drift is the last they reported.",
        tags: ["drift"],
        security,
        querystring: DriftQuery,
        response: { 200: DriftPage, 400: ErrorBody, 401: ErrorBody },
      },
    },
    (request) => {
      const { limit, continue: token, ...filters } = request.query;
      const page = drift.query(driftFilter(filters, now()), {
        limit: limit ?? driftPageLimits.default,
        after: token === undefined ? undefined : decodeCursor(token),
      });
      return Promise.resolve({ ...page, continue: page.continue ?? null });
    },
  );

  app.get(
    "/drift/summary",
    {
      onRequest: viewer,
      schema: {
        summary: "Count drifted objects per cluster, bundle, kind or field manager",
        description: "Takes the filters of GET /drift. An object whose fields several managers changed counts once under each with groupBy=manager.",
        tags: ["drift"],
        security,
        querystring: DriftSummaryQuery,
        response: { 200: DriftSummary, 400: ErrorBody, 401: ErrorBody },
      },
    },
    (request) => {
      const { groupBy, ...filters } = request.query;
      return Promise.resolve(drift.summary(driftFilter(filters, now()), groupBy));
    },
  );
  return Promise.resolve();
};
