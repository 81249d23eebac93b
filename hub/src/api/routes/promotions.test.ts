import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import { createHeadCache, createPipelineHolds, createPipelineViews, createPromotionService } from "../../promotion/index.js";
import { fakeEdits, fakeHoldsKv, fakeLock, fakePipeline, fakeRecords, fakeRepository, fakeStageStates, quietLogger } from "../../test-support/promotion-fakes.js";
import { createApiAuthenticator } from "../auth.js";
import { installErrorHandler } from "../error-handler.js";
import { pipelineRoutes } from "./pipelines.js";
import { promotionRoutes } from "./promotions.js";

const admin = "an-admin-token-for-promotion-tests";
const viewer = "a-viewer-token-for-promotion-tests";
const hash = (s: string) => createHash("sha256").update(s).digest("hex");
const now = () => new Date("2026-05-01T12:00:00Z");

async function server(withRepository: boolean) {
  const repository = fakeRepository({ staging: "1.4.2", "prod-us": "1.4.1", "prod-eu": "1.4.0" }, fakePipeline());
  const stages = fakeStageStates(now);
  const records = fakeRecords();
  const holds = createPipelineHolds({ kv: fakeHoldsKv() });
  const service = createPromotionService({ repository, stages, records, lock: fakeLock(), edits: fakeEdits, logger: quietLogger, now });
  const views = createPipelineViews({ heads: createHeadCache({ repository, maxAgeMs: 0, now }), stages, records, holds, edits: fakeEdits });
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandler(app);
  await app.register(swagger, { openapi: { openapi: "3.0.3", info: { title: "test", version: "0" }, components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } } } });
  const auth = createApiAuthenticator([
    { name: "alice", role: "admin", hash: hash(admin) },
    { name: "someone", role: "viewer", hash: hash(viewer) },
  ]);
  const callerName = (header: string | undefined) => (header?.includes(admin) ? "alice" : "someone");
  await app.register(promotionRoutes, { prefix: "/api/v1", promotions: withRepository ? service : undefined, auth, callerName });
  await app.register(pipelineRoutes, { prefix: "/api/v1", pipelines: withRepository ? views : undefined, auth });
  await app.ready();
  return { app, repository, stages, holds };
}

void describe("the promotion and pipeline routes", () => {
  let s: Awaited<ReturnType<typeof server>>;
  let app: FastifyInstance;
  void before(async () => {
    s = await server(true);
    app = s.app;
  });
  void after(() => app.close());

  const call = async (method: "GET" | "POST", url: string, body?: unknown, token: string | null = admin) => {
    const res = await app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };

  void test("a viewer token cannot promote, roll back or resume; no token gets 401", async () => {
    const body = { pipeline: "web", from: "staging", to: "prod-us" };
    assert.equal((await call("POST", "/api/v1/promotions", body, viewer)).status, 403);
    assert.equal((await call("POST", "/api/v1/promotions", body, null)).status, 401);
    assert.equal((await call("POST", "/api/v1/promotions/p-000000000aaaaaaaaaa/rollback", {}, viewer)).status, 403);
    assert.equal((await call("POST", "/api/v1/pipelines/web/resume", {}, viewer)).status, 403);
    assert.equal(s.repository.commits.length, 1);
  });

  void test("refuses a body with unknown fields or names that are no DNS label", async () => {
    const typo = await call("POST", "/api/v1/promotions", { pipeline: "web", from: "staging", to: "prod-us", dryrun: true });
    assert.equal(typo.status, 400);
    assert.equal((await call("POST", "/api/v1/promotions", { pipeline: "Web", from: "staging", to: "prod-us" })).status, 400);
  });

  void test("a dry run answers 200 with gates, values, edits and diff", async () => {
    const res = await call("POST", "/api/v1/promotions", { pipeline: "web", from: "staging", to: "prod-us", dryRun: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body["dryRun"], true);
    assert.deepEqual(res.body["values"], [{ kind: "image", file: "apps/web/prod-us/tag", key: "registry.example.com/web", value: "registry.example.com/web:1.4.2" }]);
    assert.deepEqual(res.body["edits"], [
      {
        kind: "value",
        file: "apps/web/prod-us/tag",
        path: ["images", { match: "name", equals: "registry.example.com/web" }, "newTag"],
        display: "images[registry.example.com/web].newTag",
        before: "1.4.1",
        after: "1.4.2",
      },
    ]);
    assert.equal((res.body["gates"] as { passed: boolean }).passed, true);
    assert.equal((res.body["diff"] as unknown[]).length, 1);
  });

  void test("gates that do not pass answer 412 with the evidence", async () => {
    s.stages.failing.set("staging", "staging-1: Deployment web/web 1 of 3 available");
    try {
      const res = await call("POST", "/api/v1/promotions", { pipeline: "web", from: "staging", to: "prod-us" });
      assert.equal(res.status, 412);
      assert.equal((res.body["error"] as { code: string }).code, "failed-precondition");
      const gates = res.body["gates"] as { passed: boolean; gates: Array<{ gate: string; passed: boolean; message: string; clusters: string[] }> };
      assert.equal(gates.passed, false);
      assert.deepEqual(gates.gates[1], { gate: "healthy", passed: false, message: "staging-1: Deployment web/web 1 of 3 available", clusters: ["staging-1"] });
    } finally {
      s.stages.failing.clear();
    }
  });

  void test("promotes (201), lists, shows, then rolls back (201) and refuses a second rollback (409)", async () => {
    const res = await call("POST", "/api/v1/promotions", { pipeline: "web", from: "staging", to: "prod-us" });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const promotion = res.body["promotion"] as { id: string; state: string; author: string; commit: string; transitions: unknown[] };
    assert.equal(promotion.state, "rolling-out");
    assert.equal(promotion.author, "alice");
    assert.equal(promotion.transitions.length, 3);

    const nothing = await call("POST", "/api/v1/promotions", { pipeline: "web", from: "staging", to: "prod-us" });
    assert.equal(nothing.status, 409);
    assert.deepEqual(nothing.body, { error: { code: "conflict", message: "nothing to promote: prod-us already runs registry.example.com/web:1.4.2" } });

    const list = await call("GET", "/api/v1/promotions?pipeline=web&state=rolling-out", undefined, viewer);
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.body["items"] as Array<{ id: string }>).map((i) => i.id),
      [promotion.id],
    );
    const shown = await call("GET", `/api/v1/promotions/${promotion.id}`, undefined, viewer);
    assert.equal(shown.status, 200);
    assert.equal((shown.body["promotion"] as { commit: string }).commit, promotion.commit);
    assert.equal((await call("GET", "/api/v1/promotions/p-000000000aaaaaaaaaa", undefined, viewer)).status, 404);

    const view = await call("GET", "/api/v1/pipelines/web", undefined, viewer);
    assert.equal(view.status, 200);
    const stages = view.body["stages"] as Array<{ name: string; values: Array<{ value: string }>; lastPromotion: { id: string; state: string } | null; clusters: unknown }>;
    assert.deepEqual(
      stages.map((st) => [st.name, st.values[0]?.value, st.lastPromotion?.state ?? null]),
      [
        ["staging", "registry.example.com/web:1.4.2", null],
        ["prod-us", "registry.example.com/web:1.4.2", "rolling-out"],
        ["prod-eu", "registry.example.com/web:1.4.0", null],
      ],
    );
    assert.deepEqual(stages[0]?.clusters, { total: 1, synced: 1, healthy: 1, drifted: 0, stale: 0 });

    const rollback = await app.inject({ method: "POST", url: `/api/v1/promotions/${promotion.id}/rollback`, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(rollback.statusCode, 201, rollback.body);
    const record = rollback.json<{ promotion: { kind: string; rollbackOf: string } }>().promotion;
    assert.equal(record.kind, "rollback");
    assert.equal(record.rollbackOf, promotion.id);
    const again = await call("POST", `/api/v1/promotions/${promotion.id}/rollback`, {});
    assert.equal(again.status, 409);
  });

  void test("lists pipelines and resumes a held one", async () => {
    await s.holds.hold({ pipeline: "web", since: "2026-05-01T11:00:00.000Z", reason: "promotion p-1 into prod-us failed verification" });
    const list = await call("GET", "/api/v1/pipelines", undefined, viewer);
    assert.deepEqual(list.body, { items: [{ name: "web", bundle: "web", stages: ["staging", "prod-us", "prod-eu"], held: true }] });
    const held = await call("GET", "/api/v1/pipelines/web", undefined, viewer);
    assert.deepEqual(held.body["held"], { pipeline: "web", since: "2026-05-01T11:00:00.000Z", reason: "promotion p-1 into prod-us failed verification" });
    const resumed = await call("POST", "/api/v1/pipelines/web/resume");
    assert.equal(resumed.status, 200);
    assert.equal(resumed.body["held"], null);
    assert.equal((await call("GET", "/api/v1/pipelines/api", undefined, viewer)).status, 404);
  });
});

void describe("the promotion routes on a hub without a Git repository", () => {
  void test("answer 503", async () => {
    const { app } = await server(false);
    try {
      for (const [method, url] of [
        ["GET", "/api/v1/promotions"],
        ["GET", "/api/v1/pipelines"],
        ["GET", "/api/v1/pipelines/web"],
      ] as const) {
        const res = await app.inject({ method, url, headers: { authorization: `Bearer ${admin}` } });
        assert.equal(res.statusCode, 503, url);
        assert.match(res.json<{ error: { message: string } }>().error.message, /follow a fleet repository/);
      }
      const res = await app.inject({ method: "POST", url: "/api/v1/promotions", headers: { authorization: `Bearer ${admin}` }, payload: { pipeline: "web", from: "staging", to: "prod-us" } });
      assert.equal(res.statusCode, 503);
    } finally {
      await app.close();
    }
  });
});
