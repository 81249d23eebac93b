// /api/v1/pipelines: where each pipeline stands, stage by stage, and lifting the hold that an
// automatic rollback puts on its auto-promotion.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { PipelineViews } from "../../promotion/index.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { PipelineList, PipelineNameParams, PipelineView } from "../promotion-schemas.js";
import { ErrorBody } from "../schemas.js";
import { noRepository } from "./promotions.js";

/** Options of {@link pipelineRoutes}. */
export interface PipelineRoutesOptions {
  /** Undefined when the hub follows no Git repository. */
  pipelines: PipelineViews | undefined;
  auth: ApiAuthenticator;
}

const security = [{ bearer: [] }];

/** Pipeline routes (viewer reads, admin resumes). */
export const pipelineRoutes: FastifyPluginAsyncTypebox<PipelineRoutesOptions> = (app, options) => {
  const viewer = requireRole(options.auth, "viewer");
  const admin = requireRole(options.auth, "admin");
  const views = (): PipelineViews => {
    if (!options.pipelines) throw noRepository();
    return options.pipelines;
  };

  app.get(
    "/pipelines",
    {
      onRequest: viewer,
      schema: {
        summary: "List the pipelines of fleet.yaml",
        tags: ["pipelines"],
        security,
        response: { 200: PipelineList, 401: ErrorBody, 503: ErrorBody },
      },
    },
    async () => ({ items: await views().list() }),
  );

  app.get(
    "/pipelines/:name",
    {
      onRequest: viewer,
      schema: {
        summary: "Show where a pipeline stands, stage by stage",
        description:
          "Per stage: the promoted values, the revision, clusters synced, healthy, drifted and stale, the last promotion into it and its " +
          "state, and whether the gates out of it pass now and why not; and whether auto-promotion is held.",
        tags: ["pipelines"],
        security,
        params: PipelineNameParams,
        response: { 200: PipelineView, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => await views().get(request.params.name),
  );

  app.post(
    "/pipelines/:name/resume",
    {
      onRequest: admin,
      schema: {
        summary: "Resume a pipeline's auto-promotion after an automatic rollback held it",
        tags: ["pipelines"],
        security,
        params: PipelineNameParams,
        response: { 200: PipelineView, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => await views().resume(request.params.name),
  );
  return Promise.resolve();
};
