// Scenario: a registration token limited to 10 uses, spent by 30 agents registering at once
// through three hub replicas on one NATS: exactly 10 get in, none twice, and no use is lost.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { GrpcStatus, type AgentService, type ServiceClient } from "@gitfleet/proto";
import { waitFor } from "../lab/process.js";
import { agentClient, api, createToken, register, skipWithoutNats, startHub, startNatsFixture, type HubFixture, type NatsFixture } from "./harness.js";

void describe("token uses across three hub replicas", { skip: skipWithoutNats, timeout: 180_000 }, () => {
  let nats: NatsFixture;
  let hubs: HubFixture[] = [];
  let clients: ServiceClient<typeof AgentService>[] = [];

  before(async () => {
    nats = await startNatsFixture();
    const first = await startHub(nats);
    hubs = [first, ...(await Promise.all([startHub(nats, {}, first.adminToken), startHub(nats, {}, first.adminToken)]))];
    clients = hubs.map(agentClient);
  });

  after(async () => {
    for (const client of clients) client.close();
    await Promise.all(hubs.map((h) => h.stop()));
    await nats?.close();
  });

  it("30 concurrent registrations over 3 replicas with a 10-use token: exactly 10 succeed, 10 uses, 10 clusters", async () => {
    const [first] = hubs as [HubFixture];
    const token = await createToken(first, { maxUses: 10 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => register(clients[i % 3] as ServiceClient<typeof AgentService>, token.secret, `spend-${String(i).padStart(2, "0")}`)),
    );
    const succeeded = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as { code?: number; details?: string }] : []));
    assert.equal(succeeded.length, 10, "exactly as many registrations as the token allows");
    assert.equal(new Set(succeeded.map((r) => r.clusterId)).size, 10);
    assert.equal(refused.length, 20);
    for (const err of refused) assert.ok(err.code === GrpcStatus.PERMISSION_DENIED || err.code === GrpcStatus.UNAUTHENTICATED || err.code === GrpcStatus.FAILED_PRECONDITION, `refused with ${err.code}: ${err.details}`);

    for (const hub of hubs) {
      const tokens = await api<{ items: { id: string; uses: number; maxUses: number; state: string; clusterIds: string[] }[] }>(hub.baseUrl, "GET", "/api/v1/registration-tokens", { token: first.adminToken });
      const view = tokens.body.items.find((t) => t.id === token.id);
      assert.equal(view?.uses, 10, "the token shows every use, on every replica");
      assert.equal(view?.state, "used-up");
      const registered = async () =>
        (await api<{ items: { name: string; id: string }[] }>(hub.baseUrl, "GET", "/api/v1/clusters", { token: first.adminToken })).body.items
          .filter((c) => c.name.startsWith("spend-"))
          .map((c) => c.id)
          .sort();
      // Replicas see each other's records through their KV watch, a moment later.
      await waitFor(async () => (await registered()).length >= 10 || undefined, { what: "every replica to see the registered clusters", timeoutMs: 10_000 });
      assert.deepEqual(await registered(), succeeded.map((r) => r.clusterId).sort(), "one cluster record per successful registration");
      // The token lists the clusters registered with it, as the replica knows them.
      const seen = await api<{ items: { id: string; clusterIds: string[] }[] }>(hub.baseUrl, "GET", "/api/v1/registration-tokens", { token: first.adminToken });
      assert.deepEqual([...(seen.body.items.find((t) => t.id === token.id)?.clusterIds ?? [])].sort(), succeeded.map((r) => r.clusterId).sort());
    }
  });

  it("changes to one cluster made through three replicas at once are all kept", async () => {
    const [first] = hubs as [HubFixture];
    const token = await createToken(first, { maxUses: 1 });
    await register(clients[0] as ServiceClient<typeof AgentService>, token.secret, "patched-everywhere");
    // Replicas write from their own copy of the record first; a copy another replica made stale
    // must be refused and read again, never written over.
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api(hubs[i % 3]?.baseUrl ?? "", "PATCH", "/api/v1/clusters/patched-everywhere", { token: first.adminToken, body: { labels: { [`k${i}`]: "set" } } }),
      ),
    );
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    for (const hub of hubs) {
      const labels = async () => (await api<{ labels: Record<string, string> }>(hub.baseUrl, "GET", "/api/v1/clusters/patched-everywhere", { token: first.adminToken })).body.labels;
      await waitFor(async () => Object.keys(await labels()).filter((k) => /^k\d+$/.test(k)).length >= 60 || undefined, { what: "every replica to see all 60 changes", timeoutMs: 10_000 });
      for (let i = 0; i < 60; i++) assert.equal((await labels())[`k${i}`], "set");
    }
  });
});
