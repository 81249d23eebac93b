// Scenario: operating the hub through its admin API: roles, validation, the
// webhook, the OpenAPI document, and a restart that loses nothing.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { webhookSignature, type ClusterRecord, type FleetBundles, type HubDelivery } from "@gitfleet/hub";
import type { AgentService, ServiceClient } from "@gitfleet/proto";
import { waitFor } from "../lab/process.js";
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

const viewerToken = "a-viewer-token-for-tests-0001-0123456789";
const webhookSecret = "the-webhook-secret";

void describe("the hub's admin API", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;
  let fetches = 0;
  let seen: readonly ClusterRecord[] = [];
  let fleetView: FleetBundles | undefined;
  const delivery: HubDelivery = {
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    triggerFetch: () => {
      fetches++;
    },
    onClustersChanged: (clusters) => {
      seen = clusters;
    },
    errorsFor: (clusterId) =>
      fleetView === undefined ? [] : [{ bundle: "web", target: "eu", path: "apps/web/eu", commit: fleetView.commit, message: `broken for ${clusterId}`, reason: "object-invalid" }],
    bundles: () => fleetView,
  };

  void before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats, {
      apiTokens: [{ name: "viewer", role: "viewer", hash: (await import("node:crypto")).createHash("sha256").update(viewerToken).digest("hex") }],
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

  void it("lets an admin set and remove a cluster's labels and variables, and tells delivery at once", async () => {
    const token = await createToken(fixture, { labels: { env: "prod" } });
    await register(client, token.secret, "patch-me");
    type Detail = { labels: Record<string, string>; variables: Record<string, string> };
    const patch = (body: unknown, bearer = fixture.adminToken) =>
      api<Detail & { error: { code: string; message: string } }>(fixture.baseUrl, "PATCH", "/api/v1/clusters/patch-me", { token: bearer, body });

    const set = await patch({ labels: { region: "eu" }, variables: { replicas: "5", ingress_host: "eu.example.com" } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.labels, { env: "prod", region: "eu" });
    assert.deepEqual(set.body.variables, { ingress_host: "eu.example.com", replicas: "5" });
    await waitFor(() => seen.find((c) => c.name === "patch-me")?.variables?.["replicas"] === "5", { what: "delivery to hear of the new variables", timeoutMs: 10_000 });
    const shown = await api<Detail>(fixture.baseUrl, "GET", "/api/v1/clusters/patch-me", { token: viewerToken });
    assert.deepEqual(shown.body.variables, { ingress_host: "eu.example.com", replicas: "5" });

    // A JSON merge patch, also under its own media type: null removes a key.
    const removed = await fetch(`${fixture.baseUrl}/api/v1/clusters/patch-me`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${fixture.adminToken}`, "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ labels: { env: null }, variables: { replicas: null } }),
    });
    assert.equal(removed.status, 200);
    const after = (await removed.json()) as Detail;
    assert.deepEqual(after.labels, { region: "eu" });
    assert.deepEqual(after.variables, { ingress_host: "eu.example.com" });

    assert.equal((await patch({ labels: { region: "us" } }, viewerToken)).status, 403);
    const invalid = await patch({ labels: { "bad key": "x" }, variables: { "image-tag": "1", cluster_name: "x" } });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error.message, /^invalid update of cluster patch-me: labels: key "bad key" .*; variables: name "image-tag" must start with a letter .*; variables: name "cluster_name" is reserved/);
    assert.equal((await patch({ annotations: {} })).status, 400);
    assert.equal((await patch({ variables: { n: { nested: "x" } } })).status, 400);
    const missing = await api(fixture.baseUrl, "PATCH", "/api/v1/clusters/nope", { token: fixture.adminToken, body: { labels: {} } });
    assert.equal(missing.status, 404);
  });

  void it("lists bundles with their targets, the clusters each takes and their states", async () => {
    const empty = await api<{ commit: string | null; items: unknown[] }>(fixture.baseUrl, "GET", "/api/v1/bundles", { token: viewerToken });
    assert.deepEqual(empty.body, { commit: null, items: [] }, "nothing before the first resolution");
    const token = await createToken(fixture);
    const eu = await register(client, token.secret, "bundle-eu");
    fleetView = {
      commit: "abc123",
      bundles: [
        {
          name: "web",
          path: "apps/web",
          drift: "correct",
          prune: true,
          ignore: [],
          targets: [{ name: "eu", clusterSelector: "region=eu", overlay: "apps/web/eu", variables: { replicas: "3" }, clusters: [{ clusterId: eu.clusterId }] }],
        },
      ],
    };
    const list = await api<{ commit: string; items: Array<{ name: string; clusterCount: number; states: Record<string, number>; targets: Array<{ clusters: string[] }> }> }>(
      fixture.baseUrl,
      "GET",
      "/api/v1/bundles",
      { token: viewerToken },
    );
    assert.equal(list.status, 200);
    assert.equal(list.body.commit, "abc123");
    assert.deepEqual(list.body.items.map((b) => [b.name, b.clusterCount, b.states, b.targets[0]?.clusters]), [["web", 1, { error: 1 }, ["bundle-eu"]]]);
    const detail = await api<{ clusters: Array<{ name: string; target: string; state: string; errors: Array<{ target: string; path: string; message: string }> }> }>(
      fixture.baseUrl,
      "GET",
      "/api/v1/bundles/web",
      { token: viewerToken },
    );
    assert.equal(detail.status, 200);
    assert.deepEqual(
      detail.body.clusters.map((c) => [c.name, c.target, c.state, c.errors.map((e) => [e.target, e.path, e.message])]),
      [["bundle-eu", "eu", "error", [["eu", "apps/web/eu", `broken for ${eu.clusterId}`]]]],
    );
    const missing = await api<{ error: { message: string } }>(fixture.baseUrl, "GET", "/api/v1/bundles/api", { token: viewerToken });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.message, "bundle api is not known: fleet.yaml at commit abc123 has no such bundle");
    assert.equal((await api(fixture.baseUrl, "GET", "/api/v1/bundles")).status, 401);
    fleetView = undefined;
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
    assert.deepEqual(ready.body, { status: "ready", role: "leader", checks: { nats: "ok", clusters: "ok", status: "ok", git: "ok" } });
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
      ["/api/v1/clusters/{name}", "patch"],
      ["/api/v1/bundles", "get"],
      ["/api/v1/bundles/{name}", "get"],
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
