import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import type { HistoryEntry } from "../../history/index.js";
import type { ClusterRecord } from "../../store/clusters.js";
import { createApiAuthenticator } from "../auth.js";
import { installErrorHandler } from "../error-handler.js";
import { historyRoutes } from "./history.js";

const viewer = "a-viewer-token-for-history-tests";

const entry = (i: number): HistoryEntry => ({
  revision: `rev-${i}`,
  reachedAt: new Date(Date.UTC(2026, 4, 1, 12, i)).toISOString(),
  bundles: [{ name: "web", digest: `d-${i}`, since: new Date(Date.UTC(2026, 4, 1, 12, i)).toISOString() }],
  ...(i % 2 === 0 ? { subject: `commit ${i}`, author: "alice", email: "alice@gitfleet.invalid", committedAt: "2026-05-01T11:00:00.000Z" } : {}),
  ...(i === 4 ? { promotion: "p-01hx" } : {}),
});

void describe("the history route", () => {
  let app: FastifyInstance;
  const asked: Array<[string, number]> = [];
  void before(async () => {
    app = Fastify({ ajv: { customOptions: { removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>();
    installErrorHandler(app);
    await app.register(swagger, { openapi: { openapi: "3.0.3", info: { title: "test", version: "0" }, components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } } } });
    const auth = createApiAuthenticator([{ name: "viewer", role: "viewer", hash: createHash("sha256").update(viewer).digest("hex") }]);
    const entries = [0, 1, 2, 3, 4].map(entry).reverse();
    await app.register(historyRoutes, {
      prefix: "/api/v1",
      clusters: { getByName: (name) => (name === "prod-us-1" ? ({ id: "cabc", name } as ClusterRecord) : undefined) },
      history: {
        list: (clusterId, limit) => {
          asked.push([clusterId, limit]);
          return Promise.resolve(entries.slice(0, limit));
        },
      },
      auth,
    });
    await app.ready();
  });
  void after(() => app.close());

  const get = async (url: string, token: string | null = viewer) => {
    const res = await app.inject({ method: "GET", url, headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };

  void test("lists a cluster's revisions newest first, with subject, author and promotion when known", async () => {
    const { status, body } = await get("/api/v1/clusters/prod-us-1/history?limit=3");
    assert.equal(status, 200);
    assert.deepEqual(asked.at(-1), ["cabc", 3]);
    assert.deepEqual(body, { cluster: "prod-us-1", items: [entry(4), entry(3), entry(2)] });
    await get("/api/v1/clusters/prod-us-1/history");
    assert.deepEqual(asked.at(-1), ["cabc", 20], "20 unless asked");
  });

  void test("an unknown cluster is 404, a bad limit 400, no token 401", async () => {
    const unknown = await get("/api/v1/clusters/nowhere/history");
    assert.deepEqual([unknown.status, unknown.body.error], [404, { code: "not-found", message: "cluster nowhere is not registered" }]);
    assert.equal((await get("/api/v1/clusters/prod-us-1/history?limit=0")).status, 400);
    assert.equal((await get("/api/v1/clusters/prod-us-1/history?limit=5000")).status, 400);
    assert.equal((await get("/api/v1/clusters/prod-us-1/history?other=1")).status, 400);
    assert.equal((await get("/api/v1/clusters/prod-us-1/history", null)).status, 401);
  });
});
