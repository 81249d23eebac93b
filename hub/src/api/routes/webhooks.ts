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

/**
 * The largest push notification read. The hub only needs the signal, not the payload, so a
 * larger one (a push of very many commits) is refused (413) and the next poll picks it up.
 */
export const webhookBodyLimit = 2 * 1024 * 1024;

const signatureHeader = /^sha256=[0-9a-f]{64}$/i;

/** The Git push webhook. Its body is read raw: the signature covers the exact bytes. */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRoutesOptions> = (app, options) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    done(null, body);
  });

  app.post(
    "/webhooks/git",
    {
      bodyLimit: webhookBodyLimit,
      // Everything that can be refused without the body is refused before a byte of it is read:
      // no caller without the secret makes the hub buffer anything.
      onRequest: (request, _reply, done) => {
        if (!options.secret) {
          done(new HubError("not-found", "the Git webhook is disabled: set GITFLEET_WEBHOOK_SECRET on the hub"));
          return;
        }
        const header = request.headers["x-hub-signature-256"];
        if (typeof header !== "string" || !signatureHeader.test(header)) {
          done(new HubError("unauthenticated", badSignature));
          return;
        }
        const length = Number(request.headers["content-length"] ?? 0);
        if (length > webhookBodyLimit) {
          done(tooLarge(`the webhook body is ${length} bytes; at most ${webhookBodyLimit} are read (the hub's poll picks up the push)`));
          return;
        }
        done();
      },
      schema: {
        summary: "Git push webhook (GitHub-style X-Hub-Signature-256); triggers a fetch of the fleet repository",
        tags: ["webhooks"],
        response: { 202: Accepted, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody },
      },
    },
    async (request, reply) => {
      if (!options.secret) {
        throw new HubError("not-found", "the Git webhook is disabled: set GITFLEET_WEBHOOK_SECRET on the hub");
      }
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = request.headers["x-hub-signature-256"];
      if (!verifyWebhookSignature(options.secret, body, typeof header === "string" ? header : undefined)) {
        throw new HubError("unauthenticated", badSignature);
      }
      const event = request.headers["x-github-event"];
      if (event !== "ping") options.onGitPush();
      request.log.info({ event }, "Git webhook accepted");
      return reply.status(202).send({ accepted: true });
    },
  );
  return Promise.resolve();
};

/** A 413 answer (the error handler keeps a 4xx status and message). */
function tooLarge(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 413 });
}

const badSignature = "bad webhook signature: X-Hub-Signature-256 must be sha256=<hex HMAC-SHA256 of the body with the webhook secret>";
