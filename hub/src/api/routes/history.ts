// /api/v1/clusters/{name}/history: the revisions a cluster reached, newest first.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { HubError } from "../../errors.js";
import type { HistoryLog } from "../../history/index.js";
import type { ClusterStore } from "../../store/clusters.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { ClusterHistory, ClusterHistoryQuery, historyLimits } from "../history-schemas.js";
import { ClusterNameParams, ErrorBody } from "../schemas.js";

/** Options of {@link historyRoutes}. */
export interface HistoryRoutesOptions {
  clusters: Pick<ClusterStore, "getByName">;
  /** Absent: every history is empty (a hub started without one, in tests). */
  history: Pick<HistoryLog, "list"> | undefined;
  auth: ApiAuthenticator;
}

const security = [{ bearer: [] }];

/** History routes (viewer). */
export const historyRoutes: FastifyPluginAsyncTypebox<HistoryRoutesOptions> = (app, options) => {
  const viewer = requireRole(options.auth, "viewer");
  app.get(
    "/clusters/:name/history",
    {
      onRequest: viewer,
      schema: {
        summary: "List the revisions a cluster reached, newest first: when, the commit's subject and author, and the promotion that made it",
        tags: ["clusters"],
        security,
        params: ClusterNameParams,
        querystring: ClusterHistoryQuery,
        response: { 200: ClusterHistory, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const cluster = options.clusters.getByName(request.params.name);
      if (!cluster) throw new HubError("not-found", `cluster ${request.params.name} is not registered`);
      const items = options.history ? await options.history.list(cluster.id, request.query.limit ?? historyLimits.default) : [];
      return { cluster: cluster.name, items };
    },
  );
  return Promise.resolve();
};
