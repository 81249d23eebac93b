// Scenario: an agent holds its Connect stream: welcome, status, credentials,
// resync, and what deleting its cluster does to it.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import {
  GrpcStatus,
  HealthState,
  SyncState,
  timestampFromDate,
  type AgentService,
  type RegisterResponse,
  type ServiceClient,
} from "@gitfleet/proto";
import type { ClusterRecord, HubDelivery } from "@gitfleet/hub";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
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

/** A stand-in for the delivery part that records what the hub asks of it. */
function fakeDelivery() {
  const changes: Array<readonly ClusterRecord[]> = [];
  const delivery: HubDelivery = {
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    triggerFetch: () => undefined,
    onClustersChanged: (clusters) => {
      changes.push(clusters);
    },
    errorsFor: (clusterId) =>
      clusterId === watched.id ? [{ bundle: "web", message: "overlays/prod/kustomization.yaml: no such file", reason: "render-failed" }] : [],
  };
  const watched = { id: "" };
  return { delivery, changes, watched };
}

void describe("an agent's Connect stream", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;
  let cluster: RegisterResponse;
  let admin: NatsConnection;
  let desired: KV;
  const fake = fakeDelivery();
  const registeredEvents: string[] = [];

  const show = (name: string) =>
    api<Record<string, unknown>>(fixture.baseUrl, "GET", `/api/v1/clusters/${name}`, { token: fixture.adminToken });

  void before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats, { delivery: fake.delivery });
    fixture.hub.events.on("cluster-registered", (c) => registeredEvents.push(c.name));
    client = agentClient(fixture);
    const { secret } = await createToken(fixture, { labels: { env: "prod" } });
    cluster = await register(client, secret, "edge-1");
    fake.watched.id = cluster.clusterId;
    admin = await connect({ servers: nats.lab.url, authenticator: credsAuthenticator(new TextEncoder().encode(nats.adminCreds)) });
    desired = await new Kvm(admin).create("gitfleet_desired", { allow_direct: true });
  });

  void after(async () => {
    client?.close();
    await admin?.close();
    await fixture?.stop();
    await nats?.close();
  });

  void it("tells the delivery part and listeners about the new cluster at once", async () => {
    assert.deepEqual(registeredEvents, ["edge-1"]);
    await waitFor(() => fake.changes.some((all) => all.some((c) => c.id === cluster.clusterId)), {
      what: "onClustersChanged with the new cluster",
      timeoutMs: 5_000,
    });
  });

  void it("refuses a stream without a valid credential", async () => {
    const none = openStream(client, undefined);
    const missing = await none.closed();
    assert.equal(missing?.code, GrpcStatus.UNAUTHENTICATED);
    assert.match(missing?.details ?? "", /missing gRPC credential/);
    const forged = openStream(client, `${cluster.credentials?.grpcToken ?? ""}x`);
    const invalid = await forged.closed();
    assert.equal(invalid?.code, GrpcStatus.UNAUTHENTICATED);
    assert.equal(invalid?.details, "gRPC credential is not valid");
  });

  void it("welcomes the agent, stores its status and shows it through the API", async () => {
    const stream = openStream(client, cluster.credentials?.grpcToken);
    const welcome = await stream.next("welcome");
    assert.equal(welcome.clusterId, cluster.clusterId);
    assert.equal(welcome.heartbeatIntervalSeconds, 15);
    await waitFor(async () => (await show("edge-1")).body["connected"] === true, { what: "edge-1 to show as connected", timeoutMs: 5_000 });

    stream.call.write({
      kind: {
        case: "status",
        value: {
          observedRevision: "0123456789abcdef0123456789abcdef01234567",
          observedGeneration: 3n,
          reportedAt: timestampFromDate(new Date()),
          agentVersion: "0.2.0",
          bundles: [{ name: "web", digest: "d1", revision: "r1", sync: SyncState.OUT_OF_SYNC, health: HealthState.DEGRADED, resourceCount: 4, driftedCount: 1, message: "drift on Deployment web" }],
        },
      },
    });
    const detail = await waitFor(
      async () => {
        const res = await show("edge-1");
        // The record and the status are two writes: wait for both.
        const both = res.body["observedRevision"] === "0123456789abcdef0123456789abcdef01234567" && (res.body["bundles"] as unknown[]).length > 0;
        return both ? res.body : undefined;
      },
      { what: "the status report to reach the API", timeoutMs: 5_000 },
    );
    assert.equal(detail["agentVersion"], "0.2.0");
    assert.deepEqual(detail["bundles"], [
      {
        name: "web", digest: "d1", revision: "r1", sync: "out-of-sync", health: "degraded", healthRevision: "", driftMode: "unspecified",
        message: "drift on Deployment web", resourceCount: 4, driftedCount: 1, missingCount: 0, conflictCount: 0, omittedResources: 0,
        lastAppliedAt: null, resources: [],
      },
    ]);
    assert.deepEqual(detail["errors"], [{ bundle: "web", message: "overlays/prod/kustomization.yaml: no such file", reason: "render-failed" }]);

    stream.call.end();
    await stream.closed();
    await waitFor(async () => (await show("edge-1")).body["connected"] === false, { what: "edge-1 to show as disconnected", timeoutMs: 5_000 });
  });

  void it("answers a CredentialsRequest with working credentials, and delivers Resync", async () => {
    const stream = openStream(client, cluster.credentials?.grpcToken);
    await stream.next("welcome");
    stream.call.write({ kind: { case: "credentialsRequest", value: {} } });
    const refresh = await stream.next("refreshCredentials");
    const fresh = refresh.credentials;
    assert.ok(fresh, "RefreshCredentials carries credentials");
    assert.ok(fresh.grpcToken.startsWith("gf_agt_") && fresh.natsUserJwt.length > 0);

    await fixture.hub.resync(cluster.clusterId, "operator asked", ["web"]);
    const resync = await stream.next("resync");
    assert.equal(resync.reason, "operator asked");
    assert.deepEqual(resync.bundles, ["web"]);

    const second = openStream(client, fresh.grpcToken);
    await second.next("welcome", "a welcome for the refreshed token");
    second.call.end();
    stream.call.end();
    await Promise.all([stream.closed(), second.closed()]);
  });

  void it("deleting the cluster closes its stream, refuses its token and purges its desired state", async () => {
    await desired.put(`${cluster.clusterId}.desired`, "pointer");
    await desired.put(`${cluster.clusterId}.bundles.web.d1.0`, "chunk");
    const stream = openStream(client, cluster.credentials?.grpcToken);
    await stream.next("welcome");

    const deleted = await api(fixture.baseUrl, "DELETE", "/api/v1/clusters/edge-1", { token: fixture.adminToken });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body["id"], cluster.clusterId);
    // The harness configures revocation, as production should (docs/security.md, "NATS accounts").
    assert.match(String(deleted.body["note"]), /its NATS user is revoked/);

    const closed = await stream.closed();
    assert.equal(closed?.code, GrpcStatus.UNAUTHENTICATED);
    assert.equal(closed?.details, "cluster edge-1 was deleted from the fleet");

    const again = openStream(client, cluster.credentials?.grpcToken);
    const refused = await again.closed();
    assert.equal(refused?.code, GrpcStatus.UNAUTHENTICATED);
    assert.match(refused?.details ?? "", /is not registered \(it was deleted\)/);

    assert.equal((await show("edge-1")).status, 404);
    assert.equal(await desired.get(`${cluster.clusterId}.desired`).then((e) => e?.operation ?? null, () => null), null);
    assert.equal(await desired.get(`${cluster.clusterId}.bundles.web.d1.0`).then((e) => e?.operation ?? null, () => null), null);
    await waitFor(() => fake.changes.at(-1)?.every((c) => c.id !== cluster.clusterId), {
      what: "onClustersChanged without the deleted cluster",
      timeoutMs: 5_000,
    });
  });
});

void describe("credential refresh", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;

  void before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats, { credentialTtlMs: 3_000 });
    client = agentClient(fixture);
  });

  void after(async () => {
    client?.close();
    await fixture?.stop();
    await nats?.close();
  });

  void it("is sent unasked when less than a third of the lifetime is left", async () => {
    const { secret } = await createToken(fixture);
    const cluster = await register(client, secret, "short-lived");
    const stream = openStream(client, cluster.credentials?.grpcToken);
    await stream.next("welcome");
    const first = await stream.next("refreshCredentials", "a RefreshCredentials the agent did not ask for");
    const issued = Number(first.credentials?.expiresAt?.seconds ?? 0n) * 1000;
    assert.ok(issued > Date.now(), "the new credentials are still valid");
    stream.call.end();
    await stream.closed();
  });
});
