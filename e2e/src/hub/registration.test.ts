// Scenario: registering clusters with registration tokens, against a real NATS server.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { GrpcStatus, type AgentService, type ServiceClient } from "@gitfleet/proto";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import {
  agentClient,
  agentKeys,
  api,
  createToken,
  openStream,
  register,
  refused,
  skipWithoutNats,
  startHub,
  startNatsFixture,
  type HubFixture,
  type NatsFixture,
} from "./harness.js";
import { waitFor } from "../lab/process.js";

void describe("register a cluster with a token", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;
  let offsetMs = 0;

  const clusterNames = async (): Promise<string[]> => {
    const res = await api<{ items: Array<{ name: string }> }>(fixture.baseUrl, "GET", "/api/v1/clusters", { token: fixture.adminToken });
    return res.body.items.map((c) => c.name);
  };
  const tokenUses = async (id: string): Promise<number> => {
    const res = await api<{ items: Array<{ id: string; uses: number }> }>(fixture.baseUrl, "GET", "/api/v1/registration-tokens", {
      token: fixture.adminToken,
    });
    return res.body.items.find((t) => t.id === id)?.uses ?? -1;
  };

  void before(async () => {
    nats = await startNatsFixture();
    // A clock the test can move forward, so expiry needs no sleeping.
    fixture = await startHub(nats, { now: () => new Date(Date.now() + offsetMs) });
    client = agentClient(fixture);
  });

  void after(async () => {
    client?.close();
    await fixture?.stop();
    await nats?.close();
  });

  void it("lets exactly one of two agents racing for a single-use token register", async () => {
    const { secret, id } = await createToken(fixture, { ttl: "1h" });
    const results = await Promise.allSettled([register(client, secret, "race-a"), register(client, secret, "race-b")]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(won.length, 1, "exactly one registration succeeds");
    assert.equal(lost.length, 1);
    refused(GrpcStatus.UNAUTHENTICATED, `registration token ${id} has no uses left (1 of 1 used)`)(lost[0]?.reason);
    const names = await clusterNames();
    assert.equal(names.filter((n) => n.startsWith("race-")).length, 1, "only the winner has a cluster record");
    assert.equal(await tokenUses(id), 1);
  });

  void it("lets exactly n of many racing agents use a token with n uses", async () => {
    const { secret, id } = await createToken(fixture, { maxUses: 3 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => register(client, secret, `crowd-${i}`)));
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 3);
    for (const r of results) {
      if (r.status === "rejected") refused(GrpcStatus.UNAUTHENTICATED, `registration token ${id} has no uses left (3 of 3 used)`)(r.reason);
    }
    assert.equal((await clusterNames()).filter((n) => n.startsWith("crowd-")).length, 3);
  });

  void it("refuses unknown, expired, revoked and used-up tokens with the protocol's messages, creating nothing", async () => {
    const before = await clusterNames();

    await assert.rejects(register(client, "gf_reg_" + "A".repeat(43), "unknown-1"), refused(GrpcStatus.UNAUTHENTICATED, "registration token is not valid"));
    await assert.rejects(register(client, "not-a-token", "unknown-2"), refused(GrpcStatus.UNAUTHENTICATED, "registration token is not valid"));

    const expiring = await createToken(fixture, { ttl: "30m" });
    offsetMs = 31 * 60_000;
    try {
      await assert.rejects(
        register(client, expiring.secret, "expired-1"),
        refused(GrpcStatus.UNAUTHENTICATED, new RegExp(`^registration token ${expiring.id} expired at \\d{4}-\\d\\d-\\d\\dT`)),
      );
    } finally {
      offsetMs = 0;
    }

    const revoked = await createToken(fixture, { ttl: 3600 });
    const del = await api(fixture.baseUrl, "DELETE", `/api/v1/registration-tokens/${revoked.id}`, { token: fixture.adminToken });
    assert.equal(del.status, 200);
    await assert.rejects(register(client, revoked.secret, "revoked-1"), refused(GrpcStatus.UNAUTHENTICATED, `registration token ${revoked.id} was revoked`));

    const twice = await createToken(fixture, { maxUses: 2 });
    await register(client, twice.secret, "twice-1");
    await register(client, twice.secret, "twice-2");
    await assert.rejects(
      register(client, twice.secret, "twice-3"),
      refused(GrpcStatus.UNAUTHENTICATED, `registration token ${twice.id} has no uses left (2 of 2 used)`),
    );

    const after = await clusterNames();
    assert.deepEqual(after.filter((n) => !before.includes(n)).sort(), ["twice-1", "twice-2"]);
  });

  void it("refuses a taken name or an invalid request without using the token", async () => {
    const first = await createToken(fixture);
    await register(client, first.secret, "taken");
    const second = await createToken(fixture);
    await assert.rejects(register(client, second.secret, "taken"), refused(GrpcStatus.ALREADY_EXISTS, "cluster name taken is already registered"));
    await assert.rejects(register(client, second.secret, "Not_A_DNS_Label"), refused(GrpcStatus.INVALID_ARGUMENT, /cluster_name "Not_A_DNS_Label" is not a DNS label/));
    await assert.rejects(
      register(client, second.secret, "bad-labels", { labels: { "no spaces": "x" } }),
      refused(GrpcStatus.INVALID_ARGUMENT, /labels: key "no spaces"/),
    );
    assert.equal(await tokenUses(second.id), 0, "a refused registration uses nothing");
    await register(client, second.secret, "not-taken");
    assert.equal(await tokenUses(second.id), 1);
  });

  void it("answers a repeated registration whose first answer was lost with the same cluster, until it connects", async () => {
    const single = await createToken(fixture, { maxUses: 1 });
    const keys = agentKeys();
    const first = await register(client, single.secret, "lost-answer", { keys });
    // The agent never saw that answer and asks again, with the same token, name and keys.
    const again = await register(client, single.secret, "lost-answer", { keys });
    assert.equal(again.clusterId, first.clusterId, "the same cluster");
    assert.ok(again.credentials?.grpcToken, "with credentials to connect");
    assert.equal(await tokenUses(single.id), 1, "a repeat takes no use");
    assert.equal((await clusterNames()).filter((n) => n === "lost-answer").length, 1);

    // Other keys are another agent: refused as any registration with a used-up token.
    await assert.rejects(register(client, single.secret, "lost-answer"), refused(GrpcStatus.UNAUTHENTICATED, `registration token ${single.id} has no uses left (1 of 1 used)`));
    // Another token is another registration, with the same keys or others: the name is taken.
    const other = await createToken(fixture);
    await assert.rejects(register(client, other.secret, "lost-answer", { keys }), refused(GrpcStatus.ALREADY_EXISTS, "cluster name lost-answer is already registered"));
    await assert.rejects(register(client, other.secret, "lost-answer"), refused(GrpcStatus.ALREADY_EXISTS, "cluster name lost-answer is already registered"));
    assert.equal(await tokenUses(other.id), 0);

    // Once the cluster has connected, a repeat is refused as before.
    const stream = openStream(client, again.credentials?.grpcToken);
    await stream.next("welcome", "a welcome with the repeated answer's credentials");
    await waitFor(
      async () => (await api<{ connected: boolean }>(fixture.baseUrl, "GET", "/api/v1/clusters/lost-answer", { token: fixture.adminToken })).body.connected || undefined,
      { what: "lost-answer connected", timeoutMs: 10_000, intervalMs: 100 },
    );
    await assert.rejects(register(client, single.secret, "lost-answer", { keys }), refused(GrpcStatus.UNAUTHENTICATED, `registration token ${single.id} has no uses left (1 of 1 used)`));
    stream.call.end();
    await stream.closed();
  });

  void it("gives back the use of a registration that died after taking it, once its name reservation is stale", async () => {
    const single = await createToken(fixture, { maxUses: 1 });
    // What a replica killed between taking the use and storing the record leaves behind.
    const nc = await connect({ servers: nats.lab.url, authenticator: credsAuthenticator(new TextEncoder().encode(nats.adminCreds)) });
    try {
      const js = new Kvm(nc);
      const names = await js.open("gitfleet_cluster_names");
      const tokens = await js.open("gitfleet_tokens");
      const dead = "cdeadregistrationxxxx";
      await names.create("died-midway", JSON.stringify({ clusterId: dead, reservedAt: new Date(Date.now() + offsetMs).toISOString(), tokenId: single.id }));
      const entry = await tokens.get(single.id);
      assert.ok(entry);
      const record = entry.json<{ uses: number; clusterIds: string[] }>();
      await tokens.update(single.id, JSON.stringify({ ...record, uses: 1, clusterIds: [dead] }), entry.revision);
    } finally {
      await nc.close();
    }
    const keys = agentKeys();
    // The agent's retry while the dead registration might still be running: try again later.
    await assert.rejects(register(client, single.secret, "died-midway", { keys }), refused(GrpcStatus.UNAVAILABLE, "cluster name died-midway is being registered by another request; retry in a moment"));
    offsetMs = 61_000;
    try {
      const registered = await register(client, single.secret, "died-midway", { keys });
      assert.ok(registered.clusterId.startsWith("c"));
      const tokens = await api<{ items: Array<{ id: string; uses: number; clusterIds: string[] }> }>(fixture.baseUrl, "GET", "/api/v1/registration-tokens", { token: fixture.adminToken });
      const used = tokens.body.items.find((t) => t.id === single.id);
      assert.equal(used?.uses, 1, "the use went to the cluster that exists");
      assert.deepEqual(used?.clusterIds, [registered.clusterId]);
    } finally {
      offsetMs = 0;
    }
  });

  void describe("the token decides the labels", () => {
    const allowedLabels = { region: ["us", "eu"], team: ["*"] };

    void it("accepts labels the token allows, and any value of a key it allows with \"*\"", async () => {
      const token = await createToken(fixture, { labels: { env: "staging" }, allowedLabels });
      const got = await register(client, token.secret, "allowed-labels", { labels: { region: "us", team: "payments", env: "staging" } });
      assert.deepEqual({ ...got.labels }, { env: "staging", region: "us", team: "payments" });
      const res = await api<{ labels: Record<string, string> }>(fixture.baseUrl, "GET", `/api/v1/clusters/${got.clusterName}`, { token: fixture.adminToken });
      assert.deepEqual(res.body.labels, { env: "staging", region: "us", team: "payments" });
    });

    void it("refuses a label the token does not list, naming it, and uses nothing", async () => {
      const token = await createToken(fixture, { labels: { env: "staging" }, allowedLabels });
      await assert.rejects(
        register(client, token.secret, "unlisted-label", { labels: { region: "eu", tier: "gold" } }),
        refused(GrpcStatus.PERMISSION_DENIED, /label "tier=gold": the registration token does not allow the key "tier"/),
      );
      await assert.rejects(
        register(client, token.secret, "unlisted-value", { labels: { region: "ap" } }),
        refused(GrpcStatus.PERMISSION_DENIED, /label "region=ap": the registration token allows "region" only as "us", "eu"/),
      );
      assert.equal(await tokenUses(token.id), 0, "a refused registration uses nothing");
      assert.ok(!(await clusterNames()).includes("unlisted-label"), "a refused registration creates no cluster");
    });

    void it("refuses an agent label that overrides a preset label, and a token with no allowed labels grants none", async () => {
      const token = await createToken(fixture, { labels: { env: "prod" }, allowedLabels });
      await assert.rejects(
        register(client, token.secret, "override-preset", { labels: { env: "dev" } }),
        refused(GrpcStatus.PERMISSION_DENIED, /label "env=dev": "env" is set to "prod" by the registration token/),
      );
      const bare = await createToken(fixture, { labels: { env: "prod" } });
      await assert.rejects(
        register(client, bare.secret, "no-grant", { labels: { region: "eu" } }),
        refused(GrpcStatus.PERMISSION_DENIED, /label "region=eu": the registration token does not allow the key "region"/),
      );
    });

    void it("lets an admin relabel the cluster through the API all the same", async () => {
      const token = await createToken(fixture, { labels: { env: "prod" } });
      const got = await register(client, token.secret, "relabelled");
      const res = await api<{ labels: Record<string, string> }>(fixture.baseUrl, "PATCH", `/api/v1/clusters/${got.clusterName}`, {
        token: fixture.adminToken,
        body: { labels: { env: "staging", tier: "gold" } },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.labels, { env: "staging", tier: "gold" });
    });

    void it("refuses a token whose allowed labels are malformed or repeat a preset key", async () => {
      const res = await api<{ error: { message: string } }>(fixture.baseUrl, "POST", "/api/v1/registration-tokens", {
        token: fixture.adminToken,
        body: { labels: { env: "prod" }, allowedLabels: { env: ["dev"], "bad key": ["x"] } },
      });
      assert.equal(res.status, 400);
      assert.match(res.body.error.message, /body\/allowedLabels: key "env" is a preset label/);
      assert.match(res.body.error.message, /body\/allowedLabels: key "bad key"/);
    });
  });

  void describe("a registered cluster", () => {
    let registered: Awaited<ReturnType<typeof register>>;
    const keys = agentKeys();
    let admin: NatsConnection;
    let desired: KV;

    void before(async () => {
      const { secret } = await createToken(fixture, { labels: { env: "prod", region: "eu" }, allowedLabels: { team: ["*"] } });
      registered = await register(client, secret, "prod-eu", { keys, labels: { env: "prod", team: "web" } });
      admin = await connect({ servers: nats.lab.url, authenticator: credsAuthenticator(new TextEncoder().encode(nats.adminCreds)) });
      desired = await new Kvm(admin).create("gitfleet_desired", { allow_direct: true });
      await desired.put(`${registered.clusterId}.desired`, "mine");
      await desired.put("cqqqqqqqqqqqqqqqqqqqq.desired", "someone else's");
    });

    void after(async () => {
      await admin?.close();
    });

    void it("gets an id, the token's labels with those it allows, and its desired state location", () => {
      assert.match(registered.clusterId, /^c[a-z2-7]{20}$/);
      assert.equal(registered.clusterName, "prod-eu");
      assert.deepEqual({ ...registered.labels }, { env: "prod", region: "eu", team: "web" });
      assert.deepEqual({ kvBucket: registered.desiredState?.kvBucket, keyPrefix: registered.desiredState?.keyPrefix }, {
        kvBucket: "gitfleet_desired",
        keyPrefix: registered.clusterId,
      });
      assert.equal(registered.heartbeatIntervalSeconds, 15);
      const creds = registered.credentials;
      assert.ok(creds?.grpcToken.startsWith("gf_agt_"));
      assert.deepEqual(creds?.natsServers, [nats.lab.url]);
      assert.equal(creds?.natsInboxPrefix, `_INBOX_${registered.clusterId}`);
    });

    void it("can read its own key space with its NATS JWT and nothing else", async () => {
      const creds = registered.credentials;
      assert.ok(creds);
      const nc = await connect({
        servers: creds.natsServers,
        authenticator: jwtAuthenticator(creds.natsUserJwt, keys.nats.getSeed()),
        inboxPrefix: creds.natsInboxPrefix,
      });
      try {
        const kv = await new Kvm(nc).open("gitfleet_desired", { allow_direct: true });
        assert.equal((await kv.get(`${registered.clusterId}.desired`))?.string(), "mine");
        await assert.rejects(kv.get("cqqqqqqqqqqqqqqqqqqqq.desired"), /permissions violation/i);
      } finally {
        await nc.close();
      }
    });

    void it("cannot connect to NATS with its JWT but another key", async () => {
      const creds = registered.credentials;
      assert.ok(creds);
      await assert.rejects(
        connect({
          servers: creds.natsServers,
          authenticator: jwtAuthenticator(creds.natsUserJwt, agentKeys().nats.getSeed()),
          inboxPrefix: creds.natsInboxPrefix,
          reconnect: false,
        }),
      );
    });
  });
});
