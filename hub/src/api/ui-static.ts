// The web UI: the built single-page app served at `/`, with the page's security headers and a
// fallback to index.html for the app's own routes (/clusters/x, /drift, ...). The API, the
// health probes and the metrics keep their paths; an unknown path under them stays a JSON 404.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Paths the UI never answers, even when nothing else does. */
const reserved = /^\/(?:api(?:\/|$)|healthz$|readyz$|metrics$)/;

/**
 * The page's Content-Security-Policy: everything from the hub itself, nothing inline, no frames.
 * The app is one script and one style sheet, and calls only the API of the same origin.
 */
export const uiContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Where the built UI is: next to the bundle (`dist/ui` of the npm package), next to the compiled
 * hub (`hub/dist/ui`), or the UI build's output when the hub runs from its sources.
 */
export function defaultUiDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "ui"), join(here, "../ui"), join(here, "../../dist/ui")];
  return candidates.find((dir) => existsSync(join(dir, "index.html")));
}

function pageHeaders(reply: FastifyReply): void {
  void reply.header("content-security-policy", uiContentSecurityPolicy);
  void reply.header("x-content-type-options", "nosniff");
  void reply.header("referrer-policy", "no-referrer");
  void reply.header("x-frame-options", "DENY");
}

/** The web UI's part of the server: routes to register, and the page fallback for the not-found handler. */
export interface UiInstaller {
  /** Registers the static files and `/`. */
  install(app: FastifyInstance): Promise<void>;
  /** Answers a GET of a page no route took with index.html; undefined for anything else. */
  notFoundPage(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined;
}

/**
 * The UI of `dir` at `/`; without a built UI, `/` says how to build it. API paths, probes and
 * metrics are never answered with the page: an unknown one stays the API's JSON 404.
 */
export function webUi(dir: string | undefined): UiInstaller {
  const sendIndex = (reply: FastifyReply): FastifyReply => {
    pageHeaders(reply);
    void reply.header("cache-control", "no-cache");
    return reply.sendFile("index.html");
  };
  return {
    async install(app) {
      if (dir === undefined) {
        app.get("/", { schema: { hide: true } }, (_request, reply) => {
          pageHeaders(reply);
          return reply
            .type("text/plain; charset=utf-8")
            .send("The gitfleet web UI is not built into this hub. Build it with `npm run build -w @gitfleet/hub`; the API is at /api/v1.\n");
        });
        return;
      }
      await app.register(fastifyStatic, {
        root: dir,
        prefix: "/",
        // index.html and the page fallback are answered with the page's headers, below.
        index: false,
        wildcard: true,
        // File names carry no hash: the browser revalidates (a 304 when nothing changed).
        cacheControl: true,
        maxAge: 0,
        setHeaders: (reply) => {
          void reply.header("content-security-policy", uiContentSecurityPolicy);
          void reply.header("x-content-type-options", "nosniff");
        },
      });
      app.get("/", { schema: { hide: true } }, (_request, reply) => sendIndex(reply));
    },
    notFoundPage(request, reply) {
      if (dir === undefined || (request.method !== "GET" && request.method !== "HEAD")) return undefined;
      const path = request.url.split("?")[0] ?? "/";
      if (reserved.test(path) || /\.[A-Za-z0-9]+$/.test(path)) return undefined;
      return sendIndex(reply);
    },
  };
}
