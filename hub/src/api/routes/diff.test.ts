import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import type { EnvironmentCluster, EnvironmentSource } from "../../delivery-contract.js";
import { HubError } from "../../errors.js";
import { createApiAuthenticator } from "../auth.js";
import { installErrorHandler } from "../error-handler.js";
import { diffRoutes } from "./diff.js";

const viewer = "a-viewer-token-for-diff-tests";
const head = "a".repeat(40);

function cluster(name: string, password: string, replicas: number): EnvironmentCluster {
  const objects = [
    { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "web" }, data: { password } },
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "web" }, spec: { replicas, template: { spec: { containers: [{ name: "web", image: "web:1" }] } } } },
  ];
  return { name, bundles: [{ name: "web", target: name, overlay: `apps/web/${name}`, digest: name, objects }], errors: [] };
}

const environments: EnvironmentSource = {
  at(revision) {
    if (revision !== undefined && !head.startsWith(revision)) return Promise.reject(new HubError("not-found", `no commit ${revision} in the history of branch main`));
    const clusters = [cluster("prod-eu", "ZXU=", 3), cluster("prod-us", "dXM=", 5)];
    return Promise.resolve({
      commit: head,
      clusterNames: ["prod-eu", "prod-us"],
      stages: [{ pipeline: "web", bundle: "web", name: "prod-us", target: "prod-us", clusters: ["prod-us"] }],
      cluster: (name) => clusters.find((c) => c.name === name),
    });
  },
};

async function app(source: EnvironmentSource | undefined): Promise<FastifyInstance> {
  const server = Fastify({ ajv: { customOptions: { removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandler(server);
  await server.register(swagger, { openapi: { openapi: "3.0.3", info: { title: "test", version: "0" }, components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } } } });
  const auth = createApiAuthenticator([{ name: "viewer", role: "viewer", hash: createHash("sha256").update(viewer).digest("hex") }]);
  await server.register(diffRoutes, { prefix: "/api/v1", environments: source, auth });
  await server.ready();
  return server;
}

void describe("GET /api/v1/diff", () => {
  let server: FastifyInstance;
  let bare: FastifyInstance;
  void before(async () => {
    server = await app(environments);
    bare = await app(undefined);
  });
  void after(async () => {
    await server.close();
    await bare.close();
  });

  const get = async (url: string, token: string | null = viewer, on = server) => {
    const res = await on.inject({ method: "GET", url, headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>(), text: res.body };
  };

  void test("compares two clusters field by field, withholding the Secret's values", async () => {
    const res = await get("/api/v1/diff?from=prod-us&to=prod-eu");
    assert.equal(res.status, 200, res.text);
    const body = res.body as { objects: { kind: string; fields: unknown[] }[]; counts: unknown; bundles: string[] };
    assert.deepEqual(body.counts, { added: 0, removed: 0, changed: 2, unchanged: 0 });
    assert.deepEqual(body.objects.map((o) => [o.kind, o.fields]), [
      ["Deployment", [{ path: "/spec/replicas", field: "spec.replicas", from: 5, to: 3 }]],
      ["Secret", [{ path: "/data/password", field: "data.password", redacted: true }]],
    ]);
    assert.ok(!res.text.includes("ZXU=") && !res.text.includes("dXM="), "no Secret value in the answer");
    assert.deepEqual(body.bundles, ["web"]);
  });

  void test("names a stage with stage:, and renders at a revision", async () => {
    const res = await get(`/api/v1/diff?from=stage:prod-us&to=prod-eu&revision=${head.slice(0, 7)}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body["from"], { kind: "stage", name: "prod-us", pipeline: "web", commit: head, cluster: "prod-us", clusters: ["prod-us"], uniform: true });
  });

  void test("compares one cluster over a range", async () => {
    const res = await get(`/api/v1/diff?cluster=prod-us&revisions=${head.slice(0, 7)}..`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body["counts"], { added: 0, removed: 0, changed: 0, unchanged: 2 });
  });

  void test("refuses what it cannot answer, with a clear status and message", async () => {
    const cases: [string, number, RegExp][] = [
      ["/api/v1/diff", 400, /give either from and to/],
      ["/api/v1/diff?from=prod-us", 400, /to is missing/],
      ["/api/v1/diff?from=prod-us&to=prod-eu&cluster=prod-us&revisions=aaaa..", 400, /give either from and to/],
      ["/api/v1/diff?cluster=prod-us&revisions=aaaa..&revision=aaaa", 400, /revision goes with from and to/],
      ["/api/v1/diff?cluster=prod-us", 400, /revisions is missing/],
      ["/api/v1/diff?from=prod-us&to=prod-eu&revision=main", 400, /revision/],
      ["/api/v1/diff?from=prod-us&to=prod-eu&colour=red", 400, /additional properties/],
      ["/api/v1/diff?from=prod-us&to=nowhere", 404, /no cluster or stage named nowhere/],
      ["/api/v1/diff?from=prod-us&to=prod-eu&revision=bbbbbbb", 404, /no commit bbbbbbb/],
      ["/api/v1/diff?cluster=prod-us&revisions=HEAD~1..HEAD", 400, /not a range A\.\.B/],
    ];
    for (const [url, status, message] of cases) {
      const res = await get(url);
      assert.equal(res.status, status, `${url}: ${res.text}`);
      assert.match((res.body as { error: { message: string } }).error.message, message, url);
    }
    assert.equal((await get("/api/v1/diff?from=prod-us&to=prod-eu", null)).status, 401);
    const none = await get("/api/v1/diff?from=prod-us&to=prod-eu", viewer, bare);
    assert.equal(none.status, 503);
    assert.match(none.text, /need the hub's Git source/);
  });
});
