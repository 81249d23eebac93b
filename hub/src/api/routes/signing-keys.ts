// /api/v1/signing-keys: the hub's desired-state signing keys (public halves), rotation and
// retirement (docs/protocol.md, "Signed desired state").
import { Type, type FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { SigningKeyService } from "../../signing/index.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { ErrorBody } from "../schemas.js";

/** Options of {@link signingKeyRoutes}. */
export interface SigningKeyRoutesOptions {
  keys: SigningKeyService;
  auth: ApiAuthenticator;
}

const security = [{ bearer: [] }];

const SigningKey = Type.Object({
  id: Type.String(),
  publicKey: Type.String({ description: "ed25519: and the raw public key in base64url" }),
  endorsedBy: Type.String({ description: "The key that endorsed this one; empty for the first key" }),
  createdAt: Type.String(),
  active: Type.Boolean({ description: "True for the key that signs desired state now" }),
});
const SigningKeyList = Type.Object({ items: Type.Array(SigningKey) });
const Rotation = Type.Object({
  key: SigningKey,
  resigned: Type.Integer({ description: "Cluster pointers re-signed with the new key" }),
  failed: Type.Array(Type.String(), { description: "Clusters whose pointer could not be re-signed now; their next publish signs it" }),
});
const KeyIdParams = Type.Object({ id: Type.String({ pattern: "^sk-[0-9a-f]{16}$" }) });

/** Signing key routes: list (viewer), rotate and retire (admin). */
export const signingKeyRoutes: FastifyPluginAsyncTypebox<SigningKeyRoutesOptions> = (app, options) => {
  const { keys, auth } = options;
  const viewer = requireRole(auth, "viewer");
  const admin = requireRole(auth, "admin");

  app.get(
    "/signing-keys",
    {
      onRequest: viewer,
      schema: {
        summary: "The desired-state signing keys agents trust (public halves), the active one marked",
        tags: ["signing-keys"],
        security,
        response: { 200: SigningKeyList, 401: ErrorBody, 403: ErrorBody },
      },
    },
    () => ({ items: keys.list() }),
  );

  app.post(
    "/signing-keys/rotate",
    {
      onRequest: admin,
      schema: {
        summary: "Create a signing key endorsed by the active one, sign with it, and re-sign every cluster's desired state",
        tags: ["signing-keys"],
        security,
        response: { 200: Rotation, 401: ErrorBody, 403: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const outcome = await keys.rotate();
      request.log.info({ key: outcome.key.id, resigned: outcome.resigned }, "desired-state signing key rotated");
      return outcome;
    },
  );

  app.delete(
    "/signing-keys/:id",
    {
      onRequest: admin,
      schema: {
        summary: "Retire a signing key that no longer signs; agents stop trusting it",
        tags: ["signing-keys"],
        security,
        params: KeyIdParams,
        response: { 204: Type.Null(), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 412: ErrorBody },
      },
    },
    async (request, reply) => {
      await keys.retire(request.params.id);
      request.log.info({ key: request.params.id }, "desired-state signing key retired");
      return reply.status(204).send(null);
    },
  );
  return Promise.resolve();
};
