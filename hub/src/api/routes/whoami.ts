// /api/v1/whoami: the name and role of the caller's token, so a client (the web UI) can show
// what the caller may do before it tries.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@fastify/type-provider-typebox";
import { HubError } from "../../errors.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { ErrorBody } from "../schemas.js";

/** Options of {@link whoamiRoutes}. */
export interface WhoamiRoutesOptions {
  auth: ApiAuthenticator;
}

/** Answer of GET /api/v1/whoami. */
export const WhoamiView = Type.Object({
  name: Type.String({ description: "The token's name: the author of what it does." }),
  role: Type.Union([Type.Literal("viewer"), Type.Literal("admin")]),
});

/** The whoami route (any accepted token). */
export const whoamiRoutes: FastifyPluginAsyncTypebox<WhoamiRoutesOptions> = (app, options) => {
  app.get(
    "/whoami",
    {
      onRequest: requireRole(options.auth, "viewer"),
      schema: {
        summary: "Name and role of the caller's token",
        tags: ["auth"],
        security: [{ bearer: [] }],
        response: { 200: WhoamiView, 401: ErrorBody },
      },
    },
    (request) => {
      const caller = options.auth.identify(request.headers.authorization);
      if (!caller) throw new HubError("unauthenticated", 'missing or invalid bearer token: send "Authorization: Bearer <token>"');
      return Promise.resolve(caller);
    },
  );
  return Promise.resolve();
};
