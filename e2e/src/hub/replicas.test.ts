// Scenario: two hub replicas on one NATS behave as one hub.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { GrpcStatus, type AgentService, type ServiceClient } from "@gitfleet/proto";
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

void describe("two hub replicas", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let a: HubFixture;
  let b: HubFixture;
  let clientA: ServiceClient<typeof AgentService>;
  let clientB: ServiceClient<typeof AgentService>;

  void before(async () => {
    nats = await startNatsFixture();
    a = await startHub(nats);
    b = await startHub(nats, {}, a.adminToken);
    clientA = agentClient(a);
    clientB = agentClient(b);
  });

  void after(async () => {
    clientA?.close();
    clientB?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await nats?.close();
  });

  void it("share one admin token, announced only by the first", () => {
    assert.equal(a.announced.length, 1);
    assert.deepEqual(b.announced, []);
  });

  void it("see each other's registrations and share name uniqueness", async () => {
    const token = await createToken(a, { maxUses: 2 });
    const cluster = await register(clientA, token.secret, "shared-1");
    const seen = await waitFor(
      async () => {
        const res = await api<{ id?: string }>(b.baseUrl, "GET", "/api/v1/clusters/shared-1", { token: a.adminToken });
        return res.status === 200 ? res.body : undefined;
      },
      { what: "replica b to see the cluster registered through a", timeoutMs: 5_000 },
    );
    assert.equal(seen.id, cluster.clusterId);
    await assert.rejects(register(clientB, token.secret, "shared-1"), (err: { code?: number }) => err.code === GrpcStatus.ALREADY_EXISTS);
  });

  void it("accept each other's credentials, route resyncs and close streams on deletion", async () => {
    const token = await createToken(b);
    const cluster = await register(clientB, token.secret, "roaming");
    const stream = openStream(clientA, cluster.credentials?.grpcToken);
    await stream.next("welcome", "replica a to welcome a token issued by b");

    await b.hub.resync(cluster.clusterId, "asked through b");
    assert.equal((await stream.next("resync", "a Resync sent through the other replica")).reason, "asked through b");

    const deleted = await api(b.baseUrl, "DELETE", "/api/v1/clusters/roaming", { token: a.adminToken });
    assert.equal(deleted.status, 200);
    const closed = await stream.closed();
    assert.equal(closed?.code, GrpcStatus.UNAUTHENTICATED);
    assert.equal(closed?.details, "cluster roaming was deleted from the fleet");
  });
});
