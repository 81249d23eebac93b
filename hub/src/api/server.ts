// The hub's HTTP server: the admin API under /api/v1, health, and the OpenAPI document.
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { BundleErrorSource, EnvironmentSource, FleetBundleSource } from "../delivery-contract.js";
import { HubError } from "../errors.js";
import type { EventLog } from "../fleet-events/index.js";
import type { HistoryLog } from "../history/index.js";
import type { PipelineViews, PromotionService } from "../promotion/index.js";
import type { Notifications } from "../notifications/index.js";
import type { DriftIndex } from "../drift/index.js";
import { metricsResponse, type MetricsSource } from "../metrics/index.js";
import type { ClusterStore } from "../store/clusters.js";
import type { RegistrationTokenStore } from "../store/registration-tokens.js";
import type { StatusStore } from "../store/status.js";
import type { ApiAuthenticator } from "./auth.js";
import { answerFrameworkError, installErrorHandler, maxPathParameterLength } from "./error-handler.js";
import { installFailedAuthLimit, type FailedAuthLimit } from "./failed-auth-limit.js";
import { bundleRoutes } from "./routes/bundles.js";
import { clusterRoutes, type ClusterRemover } from "./routes/clusters.js";
import { diffRoutes } from "./routes/diff.js";
import { eventRoutes } from "./routes/events.js";
import { driftRoutes } from "./routes/drift.js";
import { healthRoutes, type ReadinessProbe } from "./routes/health.js";
import { historyRoutes } from "./routes/history.js";
import { pipelineRoutes } from "./routes/pipelines.js";
import { promotionRoutes } from "./routes/promotions.js";
import { notificationRoutes } from "./routes/notifications.js";
import { registrationTokenRoutes } from "./routes/registration-tokens.js";
import { signingKeyRoutes } from "./routes/signing-keys.js";
import type { SigningKeyService } from "../signing/index.js";
import { versionRoutes } from "./routes/version.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { whoamiRoutes } from "./routes/whoami.js";
import { defaultUiDir, webUi } from "./ui-static.js";

/** The largest JSON body any admin route reads; the Git webhook has its own limit. */
export const jsonBodyLimit = 64 * 1024;

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  logger: Logger;
  tokens: RegistrationTokenStore;
  clusters: ClusterStore;
  status: StatusStore;
  drift: DriftIndex;
  auth: ApiAuthenticator;
  bundleErrors: BundleErrorSource;
  /** The bundles of the last good commit; the bundles API answers empty without it. */
  fleet?: FleetBundleSource | undefined;
  /** Rendered desired state at any commit, for environment diffs; GET /diff answers 503 without it. */
  environments?: EnvironmentSource | undefined;
  removeCluster: ClusterRemover;
  /** The desired-state signing keys; the signing-key routes are absent without. */
  signingKeys?: SigningKeyService | undefined;
  /** The fleet event log. */
  events: EventLog;
  /** Cluster histories; absent, every history answers empty. */
  history?: Pick<HistoryLog, "list"> | undefined;
  /** The promotion service; the promotion routes answer 503 without it (no Git repository). */
  promotions?: PromotionService | undefined;
  /** The pipeline views; the pipeline routes answer 503 without them. */
  pipelines?: PipelineViews | undefined;
  /** The notification sinks, for their delivery outcomes. */
  notifications: Pick<Notifications, "sinks">;
  readiness: ReadinessProbe;
  webhookSecret: string | undefined;
  onGitPush: () => void;
  /** A cluster not heard from for this long is stale (and not connected). */
  staleAfterMs: number;
  /** The hub's version: served at /api/v1/version and shown in the OpenAPI document. */
  version: string;
  /** Serve HTTPS with this certificate chain and key (PEM); plain HTTP without. */
  tls?: { certPem: string; keyPem: string } | undefined;
  /** Failed authentications allowed per client address; default 20 a minute. */
  failedAuthLimit?: FailedAuthLimit | undefined;
  /**
   * Serve GET /metrics (Prometheus text, no token: it holds counts only, see docs/metrics.md);
   * not served without it (the hub serves metrics on a port of their own then, or not at all).
   */
  metrics?: MetricsSource | undefined;
  /** The built web UI served at `/`; default: found next to the hub (see defaultUiDir); "" serves none. */
  uiDir?: string | undefined;
  now?: () => Date;
}

/** The HTTP server of the hub. */
export interface ApiServer {
  /** The Fastify instance, e.g. for `inject` in tests. */
  readonly app: FastifyInstance;
  /** Listens on `host:port` (port 0 picks one); resolves with the bound port. */
  listen(address: string): Promise<number>;
  close(): Promise<void>;
}

/** Splits `host:port` (IPv6 hosts in brackets); throws HubError on anything else. */
export function parseHostPort(address: string, what: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) throw new HubError("invalid-argument", `${what}: expected host:port, got "${address}"`);
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** Builds the HTTP server with every route registered; call `listen` to serve. */
export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const now = options.now ?? (() => new Date());
  // pino's Logger is a FastifyBaseLogger; naming the base type keeps Fastify's generics at their defaults.
  const loggerInstance: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance,
    // A request id that says nothing about how many requests came before; sent back as a header
    // so a caller can quote it, and logged with every line of the request.
    genReqId: () => randomUUID(),
    ...(options.tls
      ? {
          // Fastify types its default server as http.Server; an https.Server serves the same handler.
          serverFactory: (handler: Parameters<typeof createHttpsServer>[1]) =>
            createHttpsServer({ cert: options.tls?.certPem, key: options.tls?.keyPem }, handler) as unknown as Server,
        }
      : {}),
    // JSON bodies of this API are small (a token, a label patch); routes that need more say so.
    bodyLimit: jsonBodyLimit,
    // What the router refuses answers with the API's error body too.
    frameworkErrors: answerFrameworkError,
    routerOptions: { maxParamLength: maxPathParameterLength },
    // Unknown fields are refused, not silently dropped: a typo like "maxuses" must not go unnoticed.
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const ui = webUi(options.uiDir === undefined ? defaultUiDir() : options.uiDir || undefined);
  installErrorHandler(app, { countFailedAuth: await installFailedAuthLimit(app, options.failedAuthLimit), notFoundPage: (request, reply) => ui.notFoundPage(request, reply) });
  app.addHook("onRequest", (request, reply, done) => {
    void reply.header("x-request-id", request.id);
    done();
  });
  // PATCH bodies are JSON merge patches; accept their own media type as well as plain JSON.
  app.addContentTypeParser("application/merge-patch+json", { parseAs: "string" }, app.getDefaultJsonParser("error", "error"));

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "gitfleet hub API", version: options.version },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });

  await app.register(healthRoutes, { readiness: options.readiness });
  const metrics = options.metrics;
  if (metrics) {
    app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
      const { status, type, body } = await metricsResponse(metrics, options.logger);
      return reply.status(status).header("content-type", type).header("cache-control", "no-store").send(body);
    });
  }
  await ui.install(app);
  await app.register(
    async (api) => {
      await api.register(registrationTokenRoutes, { tokens: options.tokens, clusters: options.clusters, auth: options.auth, now });
      if (options.signingKeys) await api.register(signingKeyRoutes, { keys: options.signingKeys, auth: options.auth });
      await api.register(clusterRoutes, {
        clusters: options.clusters,
        status: options.status,
        bundleErrors: options.bundleErrors,
        removeCluster: options.removeCluster,
        auth: options.auth,
        staleAfterMs: options.staleAfterMs,
        now,
      });
      await api.register(bundleRoutes, {
        clusters: options.clusters,
        drift: options.drift,
        bundleErrors: options.bundleErrors,
        fleet: options.fleet ?? { bundles: () => undefined },
        auth: options.auth,
      });
      await api.register(historyRoutes, { clusters: options.clusters, history: options.history, auth: options.auth });
      await api.register(versionRoutes, { version: options.version });
      await api.register(whoamiRoutes, { auth: options.auth });
      await api.register(eventRoutes, { log: options.events, clusters: options.clusters, auth: options.auth, now });
      await api.register(notificationRoutes, { notifications: options.notifications, auth: options.auth });
      await api.register(driftRoutes, { drift: options.drift, auth: options.auth, now });
      await api.register(diffRoutes, { environments: options.environments, auth: options.auth });
      await api.register(promotionRoutes, {
        promotions: options.promotions,
        auth: options.auth,
        // Every promotion route needs a token first, so an unnamed caller never gets this far.
        callerName: (authorization) => options.auth.identify(authorization)?.name ?? "unknown",
      });
      await api.register(pipelineRoutes, { pipelines: options.pipelines, auth: options.auth });
      await api.register(webhookRoutes, { secret: options.webhookSecret, onGitPush: options.onGitPush });
      api.get("/openapi.json", { schema: { hide: true } }, () => app.swagger());
    },
    { prefix: "/api/v1" },
  );
  await app.ready();

  return {
    app,
    async listen(address) {
      const { host, port } = parseHostPort(address, "HTTP address");
      await app.listen({ host, port });
      const bound = app.server.address();
      return typeof bound === "object" && bound !== null ? bound.port : port;
    },
    close: () => app.close(),
  };
}
