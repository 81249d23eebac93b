// /api/v1/promotions: promote a pipeline from a stage to the next (or dry-run it), read the
// records, roll one back. Answers 503 on a hub that follows no Git repository.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { HubError } from "../../errors.js";
import type { PromotionService } from "../../promotion/index.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { DryRunBody, GateRefusalBody, PromoteBody, PromotionBody, PromotionIdParams, PromotionList, PromotionListQuery, RollbackBody } from "../promotion-schemas.js";
import { ErrorBody } from "../schemas.js";

/** Options of {@link promotionRoutes}. */
export interface PromotionRoutesOptions {
  /** Undefined when the hub follows no Git repository. */
  promotions: PromotionService | undefined;
  auth: ApiAuthenticator;
  /** The name of the caller's token: the author of the commits it makes. */
  callerName: (authorization: string | undefined) => string;
}

const security = [{ bearer: [] }];

/** The error of promotion routes on a hub without a Git repository. */
export function noRepository(): HubError {
  return new HubError("unavailable", "promotion needs the hub to follow a fleet repository in Git (GITFLEET_GIT_URL); this hub follows none");
}

/** Promotion routes (viewer reads, admin writes). */
export const promotionRoutes: FastifyPluginAsyncTypebox<PromotionRoutesOptions> = (app, options) => {
  const { auth, callerName } = options;
  const viewer = requireRole(auth, "viewer");
  const admin = requireRole(auth, "admin");
  const service = (): PromotionService => {
    if (!options.promotions) throw noRepository();
    return options.promotions;
  };
  const refusals = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 412: GateRefusalBody, 503: ErrorBody };

  app.post(
    "/promotions",
    {
      onRequest: admin,
      schema: {
        summary: "Promote a pipeline's values from a stage to the next",
        description:
          "Computes the edits of the target stage's overlay, checks the gates of `from`, writes one commit (author: the token's name) and " +
          "records the promotion, which then rolls out and is verified. `dryRun` answers 200 with what it would do and writes nothing. " +
          "Refusals: 404 unknown pipeline or stage, 400 `to` not the stage after `from`, 409 nothing to promote or a conflicting change, " +
          "412 gates not passed (with `gates`) or Git credentials that cannot push, 503 repository unreachable.",
        tags: ["promotions"],
        security,
        body: PromoteBody,
        response: { 200: DryRunBody, 201: PromotionBody, ...refusals },
      },
    },
    async (request, reply) => {
      const { pipeline, from, to, dryRun } = request.body;
      const outcome = await service().promote({ pipeline, from, to, dryRun, author: callerName(request.headers.authorization) });
      if ("dryRun" in outcome) return reply.status(200).send(outcome);
      return reply.status(201).send({ promotion: outcome });
    },
  );

  app.get(
    "/promotions",
    {
      onRequest: viewer,
      schema: {
        summary: "List promotions and rollbacks, newest first",
        tags: ["promotions"],
        security,
        querystring: PromotionListQuery,
        response: { 200: PromotionList, 400: ErrorBody, 401: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => ({ items: await service().list(request.query) }),
  );

  app.get(
    "/promotions/:id",
    {
      onRequest: viewer,
      schema: {
        summary: "Show a promotion or rollback",
        tags: ["promotions"],
        security,
        params: PromotionIdParams,
        response: { 200: PromotionBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => ({ promotion: await service().get(request.params.id) }),
  );

  app.post(
    "/promotions/:id/rollback",
    {
      onRequest: admin,
      schema: {
        summary: "Roll a promotion back",
        description:
          "Writes the reverse of the promotion's edits as one commit, recorded as a promotion of kind rollback pointing at the original " +
          "(`rollbackOf`); the original gets `rolledBackBy` and the state rolled-back. Refusals: 404 unknown id, 409 already rolled back, " +
          "never committed, or a value someone changed since (named).",
        tags: ["promotions"],
        security,
        params: PromotionIdParams,
        body: RollbackBody,
        response: { 200: DryRunBody, 201: PromotionBody, ...refusals },
      },
    },
    async (request, reply) => {
      const outcome = await service().rollback({ id: request.params.id, dryRun: request.body?.dryRun, author: callerName(request.headers.authorization) });
      if ("dryRun" in outcome) return reply.status(200).send(outcome);
      return reply.status(201).send({ promotion: outcome });
    },
  );
  return Promise.resolve();
};
