// Scenario: operating the hub through its admin API: roles, validation, the
// webhook, the OpenAPI document, and a restart that loses nothing.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { webhookSignature, type HubDelivery } from "@gitfleet/hub";
import type { AgentService, ServiceClient } from "@gitfleet/proto";
import {
  agentClient,
  api,
  createToken,
  openStream,
  register,
  skipWithoutNats,
  startHub,
  startNatsFixture,
  type HubFixture,
  type NatsFixture,
} from "./harness.js";

const viewerToken = "a-viewer-token-for-tests-0001";
const webhookSecret = "the-webhook-secret";

void describe("the hub's admin API", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;
  let fetches = 0;
  const delivery: HubDelivery = {
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    triggerFetch: () => {
      fetches++;
    },
    onClustersChanged: () => undefined,
    errorsFor: () => [],
  };

  void before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats, {
      apiTokens: [{ role: "viewer", hash: (await import("node:crypto")).createHash("sha256").update(viewerToken).digest("hex") }],
      webhookSecret,
      delivery,
    });
    client = agentClient(fixture);
  });

  void after(async () => {
    client?.close();
    await fixture?.stop();
    await nats?.close();
  });

  void it("generates an admin token on the first start and announces it once", async () => {
    assert.equal(fixture.announced.length, 1);
    assert.match(fixture.adminToken, /^gf_adm_[A-Za-z0-9_-]{43}$/);
    const res = await api(fixture.baseUrl, "GET", "/api/v1/registration-tokens", { token: fixture.adminToken });
    assert.equal(res.status, 200);
  });

  void it("answers 401 without a token, 403 to a viewer that writes, and lets a viewer read", async () => {
    const none = await api(fixture.baseUrl, "GET", "/api/v1/clusters");
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, {
      error: { code: "unauthenticated", message: 'missing or invalid bearer token: send "Authorization: Bearer <token>"' },
    });
    assert.equal((await api(fixture.baseUrl, "GET", "/api/v1/clusters", { token: "wrong-token-000000000" })).status, 401);
    assert.equal((await api(fixture.baseUrl, "GET", "/api/v1/clusters", { token: viewerToken })).status, 200);
    assert.equal((await api(fixture.baseUrl, "GET", "/api/v1/registration-tokens", { token: viewerToken })).status, 200);

    // Refused before the body is even validated: an invalid body still gets 403.
    const write = await api(fixture.baseUrl, "POST", "/api/v1/registration-tokens", { token: viewerToken, body: { maxUses: 0 } });
    assert.equal(write.status, 403);
    assert.deepEqual(write.body, {
      error: { code: "permission-denied", message: "this request needs the admin role; the token has the viewer role" },
    });
    assert.equal((await api(fixture.baseUrl, "DELETE", "/api/v1/clusters/nope", { token: viewerToken })).status, 403);
    assert.equal((await api(fixture.baseUrl, "POST", "/api/v1/registration-tokens", { body: {} })).status, 401);
  });

  void it("creates tokens, shows the secret once, and names the wrong field of a bad body", async () => {
    const created = await api<Record<string, unknown> & { secret: string }>(fixture.baseUrl, "POST", "/api/v1/registration-tokens", {
      token: fixture.adminToken,
      body: { ttl: "30m", maxUses: 3, labels: { env: "staging" }, description: "staging rollout" },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.secret, /^gf_reg_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body["maxUses"], 3);
    assert.equal(created.body["state"], "active");
    const ttl = Date.parse(String(created.body["expiresAt"])) - Date.parse(String(created.body["createdAt"]));
    assert.equal(ttl, 30 * 60_000);

    const listed = await api<{ items: Array<Record<string, unknown>> }>(fixture.baseUrl, "GET", "/api/v1/registration-tokens", { token: fixture.adminToken });
    const text = JSON.stringify(listed.body);
    assert.ok(!text.includes(created.body.secret), "the list never shows a secret");
    assert.ok(!text.includes("secretHash"), "nor its hash");

    const bad = async (body: unknown, message: RegExp) => {
      const res = await api<{ error: { code: string; message: string } }>(fixture.baseUrl, "POST", "/api/v1/registration-tokens", {
        token: fixture.adminToken,
        body,
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "invalid-argument");
      assert.match(res.body.error.message, message);
    };
    await bad({ maxUses: 0 }, /body\/maxUses must be >= 1/);
    await bad({ ttl: "soon" }, /body\/ttl: "soon" is not a duration/);
    await bad({ labels: { "bad key": "x" } }, /body\/labels: key "bad key"/);
    await bad({ color: "red" }, /must NOT have additional properties/);

    const missing = await api(fixture.baseUrl, "DELETE", "/api/v1/registration-tokens/taaaaaaaaaaaaaaaaaaaa", { token: fixture.adminToken });
    assert.equal(missing.status, 404);
  });

  void it("filters clusters with a label selector and explains a bad one", async () => {
    const eu = await createToken(fixture, { labels: { env: "prod", region: "eu" } });
    const us = await createToken(fixture, { labels: { env: "prod", region: "us" } });
    const dev = await createToken(fixture, { labels: { env: "dev" } });
    await register(client, eu.secret, "sel-eu");
    await register(client, us.secret, "sel-us");
    await register(client, dev.secret, "sel-dev");
    const names = async (selector: string) => {
      const res = await api<{ items: Array<{ name: string }> }>(
        fixture.baseUrl,
        "GET",
        `/api/v1/clusters?selector=${encodeURIComponent(selector)}`,
        { token: viewerToken },
      );
      assert.equal(res.status, 200);
      return res.body.items.map((c) => c.name).filter((n) => n.startsWith("sel-"));
    };
    assert.deepEqual(await names("env=prod"), ["sel-eu", "sel-us"]);
    assert.deepEqual(await names("env=prod,region notin (us)"), ["sel-eu"]);
    assert.deepEqual(await names("region in (eu,us),env!=dev"), ["sel-eu", "sel-us"]);
    assert.deepEqual(await names("!region"), ["sel-dev"]);
    const bad = await api<{ error: { message: string } }>(fixture.baseUrl, "GET", "/api/v1/clusters?selector=env%20in%20prod", { token: viewerToken });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.message, `selector "env in prod": expected '(' to open the set of values at position 8`);
  });

  void it("accepts a correctly signed Git webhook and refuses any other", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", after: "abc" });
    const post = (signature: string | undefined) =>
      fetch(`${fixture.baseUrl}/api/v1/webhooks/git`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "push", ...(signature ? { "x-hub-signature-256": signature } : {}) },
        body,
      });
    const before = fetches;
    assert.equal((await post(undefined)).status, 401);
    assert.equal((await post(webhookSignature("another-secret", body))).status, 401);
    assert.equal((await post(webhookSignature(webhookSecret, `${body} `))).status, 401);
    assert.equal(fetches, before, "no fetch for a bad signature");
    const ok = await post(webhookSignature(webhookSecret, body));
    assert.equal(ok.status, 202);
    assert.deepEqual(await ok.json(), { accepted: true });
    assert.equal(fetches, before + 1);
  });

  void it("serves health, readiness and the OpenAPI document", async () => {
    assert.deepEqual((await api(fixture.baseUrl, "GET", "/healthz")).body, { status: "ok" });
    const ready = await api(fixture.baseUrl, "GET", "/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: "ready", checks: { nats: "ok", clusters: "ok", status: "ok" } });
    const doc = await api<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(fixture.baseUrl, "GET", "/api/v1/openapi.json");
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    for (const [path, method] of [
      ["/api/v1/registration-tokens", "post"],
      ["/api/v1/registration-tokens", "get"],
      ["/api/v1/registration-tokens/{id}", "delete"],
      ["/api/v1/clusters", "get"],
      ["/api/v1/clusters/{name}", "get"],
      ["/api/v1/clusters/{name}", "delete"],
      ["/api/v1/webhooks/git", "post"],
    ] as const) {
      assert.ok(doc.body.paths[path]?.[method], `openapi.json documents ${method.toUpperCase()} ${path}`);
    }
    const unknown = await api(fixture.baseUrl, "GET", "/api/v1/nothing-here", { token: viewerToken });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { error: { code: "not-found", message: "no route GET /api/v1/nothing-here" } });
  });

  void it("keeps clusters, tokens and the admin token across a restart on the same NATS", async () => {
    const token = await createToken(fixture, { maxUses: 2 });
    const cluster = await register(client, token.secret, "survivor");
    const adminToken = fixture.adminToken;
    client.close();
    await fixture.stop();

    fixture = await startHub(nats, { webhookSecret });
    client = agentClient(fixture);
    assert.deepEqual(fixture.announced, [], "a restart announces no admin token");
    const shown = await api<Record<string, unknown>>(fixture.baseUrl, "GET", "/api/v1/clusters/survivor", { token: adminToken });
    assert.equal(shown.status, 200);
    assert.equal(shown.body["id"], cluster.clusterId);
    const tokens = await api<{ items: Array<{ id: string; uses: number }> }>(fixture.baseUrl, "GET", "/api/v1/registration-tokens", { token: adminToken });
    assert.equal(tokens.body.items.find((t) => t.id === token.id)?.uses, 1);

    // The credential key survived too: the agent's token from before the restart still works.
    const stream = openStream(client, cluster.credentials?.grpcToken);
    await stream.next("welcome", "a welcome for a token issued before the restart");
    stream.call.end();
    await stream.closed();
    await register(client, token.secret, "survivor-2");
  });
});
