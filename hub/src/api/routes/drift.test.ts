import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import { DriftState } from "@gitfleet/proto";
import { createDriftIndex } from "../../drift/index.js";
import { testBundle, testReport, testResource } from "../../test-support/status-reports.js";
import { createApiAuthenticator } from "../auth.js";
import { installErrorHandler } from "../error-handler.js";
import { driftRoutes } from "./drift.js";

const viewer = "a-viewer-token-for-drift-tests";
const now = new Date("2026-05-01T12:00:00Z");

/** 30 clusters, half in eu, each with one drifted Deployment and one missing ConfigMap. */
function index() {
  const drift = createDriftIndex({ staleAfterMs: 45_000, now: () => now });
  for (let i = 0; i < 30; i++) {
    const id = `c${i}`;
    drift.putCluster({ id, name: `cluster-${String(i).padStart(2, "0")}`, labels: { region: i % 2 ? "us" : "eu" }, lastSeen: now.toISOString() });
    drift.putStatus(
      id,
      testReport([
        testBundle("web", [
          testResource({ kind: "Deployment", name: "web", state: DriftState.DRIFTED, fields: [["/spec/replicas", "3", "5", "kubectl-edit"]], firstSeen: now }),
          testResource({ kind: "ConfigMap", name: "web", state: DriftState.MISSING }),
        ]),
      ]),
    );
  }
  return drift;
}

void describe("the drift routes", () => {
  let app: FastifyInstance;
  void before(async () => {
    app = Fastify({ ajv: { customOptions: { removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>();
    installErrorHandler(app);
    await app.register(swagger, { openapi: { openapi: "3.0.3", info: { title: "test", version: "0" }, components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } } } });
    const auth = createApiAuthenticator([{ name: "viewer", role: "viewer", hash: createHash("sha256").update(viewer).digest("hex") }]);
    await app.register(driftRoutes, { prefix: "/api/v1", drift: index(), auth, now: () => now });
    await app.ready();
  });
  void after(() => app.close());

  const get = async (url: string, token: string | null = viewer) => {
    const res = await app.inject({ method: "GET", url, headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };

  void test("answer 401 without a token, on both routes", async () => {
    for (const url of ["/api/v1/drift", "/api/v1/drift/summary?groupBy=cluster"]) {
      const res = await get(url, null);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { error: { code: "unauthenticated", message: 'missing or invalid bearer token: send "Authorization: Bearer <token>"' } });
    }
  });

  void test("let a viewer read every page, each once, with exact totals", async () => {
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const query = `clusterSelector=region%3Deu&limit=4${token ? `&continue=${token}` : ""}`;
      const res = await get(`/api/v1/drift?${query}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const body = res.body as { items: Array<{ cluster: string; resource: { kind: string } }>; totals: unknown; continue: string | null };
      assert.deepEqual(body.totals, { clusters: 15, clustersDrifted: 15, objectsDrifted: 30, clustersStale: 0 });
      seen.push(...body.items.map((i) => `${i.cluster}/${i.resource.kind}`));
      token = body.continue;
      pages++;
    } while (token);
    assert.equal(pages, 8);
    assert.equal(seen.length, 30);
    assert.equal(new Set(seen).size, 30);
    assert.deepEqual(seen.slice(0, 2), ["cluster-00/ConfigMap", "cluster-00/Deployment"]);
  });

  void test("count per group", async () => {
    const res = await get("/api/v1/drift/summary?groupBy=manager&state=drifted,missing");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body["groups"], [
      { key: "", clusters: 30, objects: 30, drifted: 0, missing: 30, conflict: 0 },
      { key: "kubectl-edit", clusters: 30, objects: 30, drifted: 30, missing: 0, conflict: 0 },
    ]);
  });

  void test("answer 400 with a message naming the bad parameter", async () => {
    const bad = async (url: string, message: RegExp) => {
      const res = await get(url);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      const error = res.body["error"] as { code: string; message: string };
      assert.equal(error.code, "invalid-argument");
      assert.match(error.message, message);
    };
    await bad("/api/v1/drift?clusterSelector=region%20in%20eu", /^clusterSelector: selector "region in eu": expected '\(' /);
    await bad("/api/v1/drift?state=broken", /^state: "broken" is not a drift state; use drifted, missing, conflict/);
    await bad("/api/v1/drift?since=yesterday", /^since: "yesterday" is not a duration/);
    await bad("/api/v1/drift?since=2026-13-45T00:00:00Z", /^since: .* is not an RFC 3339 time/);
    await bad("/api/v1/drift?continue=nonsense", /^continue: not a token from a previous drift page/);
    await bad("/api/v1/drift?limit=0", /querystring\/limit must be >= 1/);
    await bad("/api/v1/drift?limit=5001", /querystring\/limit must be <= 5000/);
    await bad("/api/v1/drift?stat=drifted", /must NOT have additional properties/);
    await bad("/api/v1/drift/summary", /must have required property 'groupBy'/);
    await bad("/api/v1/drift/summary?groupBy=color", /querystring\/groupBy/);
  });

  void test("are in the OpenAPI document", () => {
    const paths = (app.swagger() as { paths: Record<string, unknown> }).paths;
    assert.ok(paths["/api/v1/drift"]);
    assert.ok(paths["/api/v1/drift/summary"]);
  });
});
