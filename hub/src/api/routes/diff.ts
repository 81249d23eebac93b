// /api/v1/diff: the rendered desired state of two clusters or stages, or of one cluster at two
// commits, compared object by object and field by field.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { EnvironmentSource } from "../../delivery-contract.js";
import { compareEnvironments, compareRevisions } from "../../environment-diff/index.js";
import { HubError } from "../../errors.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { DiffQuery, DiffView } from "../diff-schemas.js";
import { ErrorBody } from "../schemas.js";

/** Options of {@link diffRoutes}. */
export interface DiffRoutesOptions {
  /** Absent when the hub has no Git source: the route then answers 503. */
  environments: EnvironmentSource | undefined;
  auth: ApiAuthenticator;
}

/** The environment diff route (viewer). */
export const diffRoutes: FastifyPluginAsyncTypebox<DiffRoutesOptions> = (app, options) => {
  const viewer = requireRole(options.auth, "viewer");
  app.get(
    "/diff",
    {
      onRequest: viewer,
      schema: {
        summary: "Compare the desired state of two clusters or stages, or of one cluster at two commits",
        description:
          "`from` and `to` (each a cluster or a pipeline stage; a bare name is a cluster first, then a stage; `cluster:NAME`, " +
          "`stage:NAME` and `stage:PIPELINE/NAME` say which) are rendered at `revision`, by default the last good commit. " +
          "`cluster` with `revisions=A..B` renders one cluster at two commits. The renders are the ones the hub publishes; " +
          "objects are matched by apiVersion, kind, namespace and name, and every differing field is given as a JSON pointer " +
          "with both values. The values of Secrets' fields are withheld.",
        tags: ["promotion"],
        security: [{ bearer: [] }],
        querystring: DiffQuery,
        response: { 200: DiffView, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 412: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const { from, to, revision, cluster, revisions } = request.query;
      const environments = options.environments;
      const pair = from !== undefined || to !== undefined;
      const range = cluster !== undefined || revisions !== undefined;
      if (pair === range) throw new HubError("invalid-argument", "give either from and to (and optionally revision), or cluster and revisions=A..B");
      if (environments === undefined) throw new HubError("unavailable", "environment diffs need the hub's Git source, and this hub has none configured");
      if (pair) {
        if (from === undefined || to === undefined) throw new HubError("invalid-argument", `${from === undefined ? "from" : "to"} is missing: name both sides`);
        return await compareEnvironments(environments, { from, to, revision });
      }
      if (revision !== undefined) throw new HubError("invalid-argument", "revision goes with from and to; with cluster, give revisions=A..B");
      if (cluster === undefined || revisions === undefined) throw new HubError("invalid-argument", `${cluster === undefined ? "cluster" : "revisions"} is missing: give cluster and revisions=A..B`);
      return await compareRevisions(environments, { cluster, revisions });
    },
  );
  return Promise.resolve();
};
