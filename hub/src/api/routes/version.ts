// /api/v1/version: open, like the health routes and Kubernetes' /version. It tells what a
// client or an operator planning an upgrade needs (this hub's version and the agent versions it
// registers) and nothing about the fleet.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { acceptedAgentVersions } from "@gitfleet/proto/rules";
import { VersionView } from "../schemas.js";

/** Options of {@link versionRoutes}. */
export interface VersionRoutesOptions {
  version: string;
}

/** The version route. */
export const versionRoutes: FastifyPluginAsyncTypebox<VersionRoutesOptions> = (app, options) => {
  const body: VersionView = { product: "gitfleet", version: options.version, acceptedAgentVersions: acceptedAgentVersions(options.version) };
  app.get(
    "/version",
    { schema: { summary: "The hub's version and the agent versions it accepts; needs no token", tags: ["version"], response: { 200: VersionView } } },
    () => Promise.resolve(body),
  );
  return Promise.resolve();
};
