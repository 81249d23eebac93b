// An agent cut off from the hub for longer than its credentials live renews them on its own,
// with proof of possession of its signing key and no new registration token, end to end on
// the lab: real NATS, Git server, kube-apiserver, hub and agent.
import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { IDENTITY_SECRET, type Agent } from "@gitfleet/agent";
import { connect, jwtAuthenticator } from "@nats-io/transport-node";
import { kubeConfigFor, readObject } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { startFleet, waitForSynced, type ClusterStatusView, type Fleet } from "../fleet/fleet.js";

const demoFleet = fileURLToPath(new URL("../../fixtures/plain-fleet", import.meta.url));
// Short enough that an outage outlives the credentials within a test, long enough for the hub
// to refresh them over the stream (it does so with a third of the lifetime left).
const credentialTtlMs = 20_000;

describe("an agent cut off from the hub for longer than its credentials live renews them on its own", { timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  let agent: Agent;
  let tokenId: string;

  const tokenUses = async (): Promise<number | undefined> =>
    (await fleet.api.get<{ items: { id: string; uses: number }[] }>("/registration-tokens")).items.find((t) => t.id === tokenId)?.uses;

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-seed-"));
    await cp(demoFleet, seed, { recursive: true });
    fleet = await startFleet({ clusters: ["edge-1"], seed, credentialTtlMs });
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("an agent registered with short-lived credentials syncs and keeps them fresh over its stream", async () => {
    const created = await fleet.api.post<{ id: string; secret: string }>("/registration-tokens", { ttl: "1h", description: "renewal e2e", labels: { env: "staging", region: "us" } });
    tokenId = created.id;
    agent = await fleet.startAgent("edge-1", { token: created.secret, labels: { env: "staging", region: "us" } });
    await waitForSynced(fleet.api, "edge-1", await fleet.head());
    const first = agent.identity?.credentials;
    assert.ok(first);
    assert.ok(first.expiresAt - first.receivedAt <= credentialTtlMs + 1_000, "the hub issued credentials with the short lifetime");
    await waitFor(() => (agent.identity?.credentials.expiresAt ?? 0) > first.expiresAt, {
      what: "the hub to refresh the agent's credentials over the stream",
      timeoutMs: credentialTtlMs,
    });
  });

  test("the hub is away longer than the credentials live; once back, the agent renews, reconnects and syncs a new commit", async () => {
    const id = agent.identity;
    assert.ok(id);
    await fleet.stopHub();
    await waitFor(() => !agent.hubConnected, { what: "the agent to notice the hub is gone", timeoutMs: 10_000 });
    const held = agent.identity?.credentials;
    assert.ok(held);

    // Wait out the credentials: both the gRPC token and the NATS JWT expire while the hub is down.
    await waitFor(() => Date.now() > held.expiresAt + 1_000, {
      what: "the agent's credentials to expire while the hub is down",
      timeoutMs: credentialTtlMs + 5_000,
      intervalMs: 250,
    });
    assert.equal(agent.identity?.credentials.grpcToken, held.grpcToken, "no hub, no renewal");
    await assert.rejects(
      connect({
        servers: held.natsServers,
        authenticator: jwtAuthenticator(held.natsUserJwt, new TextEncoder().encode(id.natsUserSeed)),
        inboxPrefix: held.natsInboxPrefix,
        reconnect: false,
      }),
      "NATS refuses the expired JWT",
    );

    await fleet.startHub();
    await waitFor(async () => agent.hubConnected && (await fleet.api.get<ClusterStatusView>("/clusters/edge-1")).connected, {
      what: "edge-1 to renew its credentials and reconnect to the restarted hub",
      timeoutMs: 90_000,
    });
    const renewed = agent.identity?.credentials;
    assert.ok(renewed);
    assert.notEqual(renewed.grpcToken, held.grpcToken);
    assert.ok(renewed.expiresAt > Date.now(), "the agent holds valid credentials again");
    assert.equal(agent.identity?.clusterId, id.clusterId, "the same identity");
    const secret = await readObject<{ apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> }>(
      kubeConfigFor(fleet.cluster("edge-1")),
      { apiVersion: "v1", kind: "Secret", metadata: { name: IDENTITY_SECRET, namespace: "gitfleet-system" } },
    );
    const stored = JSON.parse(Buffer.from(secret?.data?.["identity.json"] ?? "", "base64").toString("utf8")) as {
      identity: { clusterId: string; credentials: { grpcToken: string; expiresAt: number } };
    };
    assert.equal(stored.identity.clusterId, id.clusterId);
    assert.ok(stored.identity.credentials.expiresAt > held.expiresAt, "the identity Secret holds the renewed credentials");
    assert.notEqual(stored.identity.credentials.grpcToken, held.grpcToken);
    assert.equal(await tokenUses(), 1, "no second registration: the token was used once");
    assert.deepEqual((await fleet.api.get<{ items: { name: string }[] }>("/clusters")).items.map((c) => c.name), ["edge-1"]);

    // Desired state flows again over NATS with the renewed JWT.
    const sha = await fleet.commit(
      {
        "platform/after-renewal.yaml": [
          "apiVersion: v1",
          "kind: ConfigMap",
          "metadata:",
          "  name: after-renewal",
          "  namespace: observability",
          "data:",
          "  renewed: \"yes\"",
          "",
        ].join("\n"),
      },
      "platform: after the renewal",
    );
    const res = await fleet.webhook();
    assert.equal(res.status, 202);
    await waitForSynced(fleet.api, "edge-1", sha, { timeoutMs: 90_000 });
    const configMap = await readObject<{ apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> }>(kubeConfigFor(fleet.cluster("edge-1")), {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "after-renewal", namespace: "observability" },
    });
    assert.equal(configMap?.data?.["renewed"], "yes");
  });
});
