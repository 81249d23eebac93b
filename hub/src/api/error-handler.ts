// The one place where errors become HTTP answers: `{ error: { code, message } }`.
import type { FastifyError, FastifyInstance } from "fastify";
import { HubError, httpStatusOf, type HubErrorCode } from "../errors.js";

function codeForStatus(status: number): HubErrorCode {
  switch (status) {
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

/** Installs the error and not-found handlers on `app`. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | HubError | Error, request, reply) => {
    if (err instanceof HubError) {
      const status = httpStatusOf[err.code];
      if (status >= 500) request.log.error({ err }, "request failed");
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
    return reply.status(500).send({ error: { code: "internal", message: "internal error; see the hub's log" } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: "not-found", message: `no route ${request.method} ${request.url}` } }),
  );
}
