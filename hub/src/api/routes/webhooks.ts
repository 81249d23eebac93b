// POST /api/v1/webhooks/git: a push notification from the Git host, signed with the shared secret.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { HubError } from "../../errors.js";
import { Accepted, ErrorBody } from "../schemas.js";
import { verifyWebhookSignature } from "../webhook-signature.js";

/** Options of {@link webhookRoutes}. */
export interface WebhookRoutesOptions {
  /** The shared secret; without one the route answers 404. */
  secret: string | undefined;
  /** Called for every correctly signed push; must not throw. */
  onGitPush: () => void;
}

/** The Git push webhook. Its body is read raw: the signature covers the exact bytes. */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRoutesOptions> = (app, options) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 25 * 1024 * 1024 }, (_request, body, done) => {
    done(null, body);
  });

  app.post(
    "/webhooks/git",
    {
      schema: {
        summary: "Git push webhook (GitHub-style X-Hub-Signature-256); triggers a fetch of the fleet repository",
        tags: ["webhooks"],
        response: { 202: Accepted, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      if (!options.secret) {
        throw new HubError("not-found", "the Git webhook is disabled: set GITFLEET_WEBHOOK_SECRET on the hub");
      }
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = request.headers["x-hub-signature-256"];
      if (!verifyWebhookSignature(options.secret, body, typeof header === "string" ? header : undefined)) {
        throw new HubError(
          "unauthenticated",
          "bad webhook signature: X-Hub-Signature-256 must be sha256=<hex HMAC-SHA256 of the body with the webhook secret>",
        );
      }
      const event = request.headers["x-github-event"];
      if (event !== "ping") options.onGitPush();
      request.log.info({ event }, "Git webhook accepted");
      return reply.status(202).send({ accepted: true });
    },
  );
  return Promise.resolve();
};
