// /api/v1/registration-tokens: create (secret shown once), list, revoke.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { DurationError, labelProblems, parseDuration } from "@gitfleet/proto/rules";
import { HubError } from "../../errors.js";
import { allowedLabelsProblems } from "../../labels/label-policy.js";
import type { ClusterStore } from "../../store/clusters.js";
import type { RegistrationTokenStore } from "../../store/registration-tokens.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { CreatedTokenView, CreateTokenBody, ErrorBody, TokenIdParams, TokenList, TokenView } from "../schemas.js";
import { clustersByToken, tokenView } from "../views.js";

/** Options of {@link registrationTokenRoutes}. */
export interface RegistrationTokenRoutesOptions {
  tokens: RegistrationTokenStore;
  /** The cluster records, which name the token each cluster registered with. */
  clusters: Pick<ClusterStore, "list">;
  auth: ApiAuthenticator;
  now: () => Date;
}

const maxTtlMs = 366 * 86_400_000;
const security = [{ bearer: [] }];

/** Registration token routes. */
export const registrationTokenRoutes: FastifyPluginAsyncTypebox<RegistrationTokenRoutesOptions> = (app, options) => {
  const { tokens, clusters, auth, now } = options;
  const registeredWith = (tokenId: string): string[] => clustersByToken(clusters.list()).get(tokenId) ?? [];
  const viewer = requireRole(auth, "viewer");
  const admin = requireRole(auth, "admin");

  app.post(
    "/registration-tokens",
    {
      onRequest: admin,
      schema: {
        summary: "Create a registration token; its secret is shown only in this answer",
        tags: ["registration-tokens"],
        security,
        body: CreateTokenBody,
        response: { 201: CreatedTokenView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const ttlMs = parseTtl(body.ttl ?? "1h");
      if (ttlMs > maxTtlMs) throw new HubError("invalid-argument", "body/ttl: a registration token may live at most 366 days");
      const labels = body.labels ?? {};
      const allowedLabels = body.allowedLabels ?? {};
      const problems = [...labelProblems(labels, "body/labels"), ...allowedLabelsProblems(allowedLabels, labels, "body/allowedLabels")];
      if (problems.length > 0) throw new HubError("invalid-argument", problems.join("; "));
      const { secret, token } = await tokens.create({
        ttlMs,
        maxUses: body.maxUses ?? 1,
        labels,
        allowedLabels,
        description: body.description ?? "",
      });
      request.log.info({ token: token.id, maxUses: token.maxUses, expiresAt: token.expiresAt }, "registration token created");
      return reply.status(201).send({ ...tokenView(token, now(), []), secret });
    },
  );

  app.get(
    "/registration-tokens",
    {
      onRequest: viewer,
      schema: {
        summary: "List registration tokens (without secrets)",
        tags: ["registration-tokens"],
        security,
        response: { 200: TokenList, 401: ErrorBody },
      },
    },
    async () => {
      const at = now();
      const byToken = clustersByToken(clusters.list());
      return { items: (await tokens.list()).map((t) => tokenView(t, at, byToken.get(t.id) ?? [])) };
    },
  );

  app.delete(
    "/registration-tokens/:id",
    {
      onRequest: admin,
      schema: {
        summary: "Revoke a registration token",
        tags: ["registration-tokens"],
        security,
        params: TokenIdParams,
        response: { 200: TokenView, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const token = await tokens.revoke(request.params.id);
      request.log.info({ token: token.id }, "registration token revoked");
      return tokenView(token, now(), registeredWith(token.id));
    },
  );
  return Promise.resolve();
};

/** The token's lifetime in milliseconds; a malformed `ttl` is the caller's mistake (400). */
function parseTtl(ttl: string | number): number {
  try {
    return parseDuration(ttl, "body/ttl");
  } catch (err) {
    if (err instanceof DurationError) throw new HubError("invalid-argument", err.message, { cause: err });
    throw err;
  }
}
