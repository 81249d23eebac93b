// The one place where errors become HTTP answers: `{ error: { code, message } }`.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FailedAuthCounter } from "./failed-auth-limit.js";
import { HubError, httpStatusOf, type HubErrorCode } from "../errors.js";

/** The `code` of an answer Fastify or a plugin refused: a HubError code, or one of the HTTP-only ones. */
function codeForStatus(status: number): HubErrorCode | "payload-too-large" | "rate-limited" {
  switch (status) {
    case 413:
      return "payload-too-large";
    case 429:
      return "rate-limited";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission-denied";
    case 404:
      return "not-found";
    case 409:
      return "conflict";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "invalid-argument";
  }
}

/**
 * The message of a 5xx answer: the request id to find the logged error by, and nothing of the
 * error itself (driver, NATS or Git text can name hosts, paths and internals).
 */
export function generic5xxMessage(requestId: string): string {
  return `the hub could not complete the request; its log has the details under request id ${requestId}`;
}

/**
 * Whether a 5xx HubError's own message may be shown: one the hub wrote for the caller ("try
 * again", "this hub has no Git source"), not one that wraps another error (its cause), whose
 * text would leak, and never an internal error.
 */
function showable(err: HubError): boolean {
  return err.code !== "internal" && err.cause === undefined;
}

/** Options of {@link installErrorHandler}. */
export interface ErrorHandlerOptions {
  /** Counts each 401; over its limit, the caller's address is answered 429 with Retry-After. */
  countFailedAuth?: FailedAuthCounter | undefined;
  /**
   * Answers a request no route took before the JSON 404 does (the web UI's pages); returns
   * undefined to leave it to the 404.
   */
  notFoundPage?: ((request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined) | undefined;
}

/** Installs the error and not-found handlers on `app`. */
export function installErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions = {}): void {
  app.setErrorHandler(async (err: FastifyError | HubError | Error, request, reply) => {
    if (err instanceof HubError) {
      const status = httpStatusOf[err.code];
      if (status === 401 && options.countFailedAuth) {
        const waitSeconds = await options.countFailedAuth(request);
        if (waitSeconds !== undefined) {
          request.log.warn({ ip: request.ip, retryAfterSeconds: waitSeconds }, "too many failed authentications from one address");
          return reply
            .status(429)
            .header("retry-after", String(waitSeconds))
            .send({ error: { code: "rate-limited", message: `too many failed authentications from this address; try again in ${waitSeconds} s` } });
        }
      }
      if (status < 500) return reply.status(status).send({ ...err.details, error: { code: err.code, message: err.message } });
      request.log.error({ err }, "request failed");
      if (!showable(err)) return reply.status(status).send({ error: { code: err.code, message: generic5xxMessage(request.id) } });
      return reply.status(status).send({ ...err.details, error: { code: err.code, message: err.message } });
    }
    const fastifyError = err as FastifyError;
    if (fastifyError.validation) {
      // Fastify's message names the field, e.g. "body/maxUses must be >= 1".
      return reply.status(400).send({ error: { code: "invalid-argument", message: fastifyError.message } });
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: codeForStatus(status), message: fastifyError.message } });
    }
    request.log.error({ err }, "request failed");
    return reply.status(500).send({ error: { code: "internal", message: generic5xxMessage(request.id) } });
  });
  app.setNotFoundHandler(
    (request, reply) =>
      options.notFoundPage?.(request, reply) ?? reply.status(404).send({ error: { code: "not-found", message: `no route ${request.method} ${request.url}` } }),
  );
}
