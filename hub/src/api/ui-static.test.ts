import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import { createApiAuthenticator } from "./auth.js";
import { installErrorHandler } from "./error-handler.js";
import { healthRoutes } from "./routes/health.js";
import { whoamiRoutes } from "./routes/whoami.js";
import { uiContentSecurityPolicy, webUi } from "./ui-static.js";

const admin = "an-admin-token-for-the-ui-static-tests";
const viewer = "a-viewer-token-for-the-ui-static-tests";
const hash = (s: string): string => createHash("sha256").update(s).digest("hex");

async function server(dir: string | undefined): Promise<FastifyInstance> {
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>();
  const ui = webUi(dir);
  installErrorHandler(app, { notFoundPage: (request, reply) => ui.notFoundPage(request, reply) });
  await app.register(swagger, { openapi: { openapi: "3.0.3", info: { title: "test", version: "0" } } });
  await app.register(healthRoutes, { readiness: () => ({ checks: { nats: "ok" } }) });
  await ui.install(app);
  const auth = createApiAuthenticator([
    { name: "alice", role: "admin", hash: hash(admin) },
    { name: "bob", role: "viewer", hash: hash(viewer) },
  ]);
  await app.register(async (api) => api.register(whoamiRoutes, { auth }), { prefix: "/api/v1" });
  await app.ready();
  return app;
}

void describe("the web UI served by the hub", () => {
  let dir: string;
  let app: FastifyInstance;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-ui-"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>gitfleet</title>");
    await writeFile(join(dir, "app.js"), "console.log('app')");
    app = await server(dir);
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  void test("/ is the app's page, with a Content-Security-Policy that allows only the hub itself", async () => {
    const res = await app.inject({ method: "GET", url: "/" });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] ?? "", /text\/html/);
    assert.match(res.body, /<title>gitfleet<\/title>/);
    assert.equal(res.headers["content-security-policy"], uiContentSecurityPolicy);
    assert.match(uiContentSecurityPolicy, /script-src 'self'/);
    assert.doesNotMatch(uiContentSecurityPolicy, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal(res.headers["x-frame-options"], "DENY");
  });

  void test("the app's own routes fall back to the page; its files are served as they are", async () => {
    for (const url of ["/clusters/prod-eu", "/drift?bundle=web", "/pipelines/web"]) {
      const res = await app.inject({ method: "GET", url });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /<title>gitfleet/, url);
    }
    const js = await app.inject({ method: "GET", url: "/app.js" });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers["content-type"] ?? "", /javascript/);
    assert.equal((await app.inject({ method: "GET", url: "/missing.js" })).statusCode, 404);
  });

  void test("the API, probes and metrics are never answered with the page", async () => {
    for (const url of ["/api/v1/nope", "/api", "/metrics", "/api/v1/clusters/x/y/z"]) {
      const res = await app.inject({ method: "GET", url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json<{ error: { code: string } }>().error.code, "not-found", url);
    }
    assert.equal((await app.inject({ method: "GET", url: "/healthz" })).json<{ status: string }>().status, "ok");
    assert.equal((await app.inject({ method: "POST", url: "/drift" })).statusCode, 404, "only GET and HEAD get the page");
  });

  void test("whoami names the caller's token and role, and refuses a caller without one", async () => {
    const as = (token?: string) => app.inject({ method: "GET", url: "/api/v1/whoami", headers: token ? { authorization: `Bearer ${token}` } : {} });
    assert.deepEqual((await as(admin)).json(), { name: "alice", role: "admin" });
    assert.deepEqual((await as(viewer)).json(), { name: "bob", role: "viewer" });
    assert.equal((await as()).statusCode, 401);
    assert.equal((await as("not-a-token-of-this-hub-at-all-xxxxxxxx")).statusCode, 401);
  });

  void test("a hub without a built UI says at / how to build it", async () => {
    const bare = await server(undefined);
    try {
      const res = await bare.inject({ method: "GET", url: "/" });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /npm run build -w @gitfleet\/hub/);
      assert.equal((await bare.inject({ method: "GET", url: "/drift" })).statusCode, 404);
    } finally {
      await bare.close();
    }
  });
});
