// Attack: a stolen gRPC token alone keeps nothing alive. Connect earns status, heartbeats and
// fresh credentials only once the agent signed Welcome's nonce with its registered signing key;
// a client holding only the token is closed, on the real hub over real gRPC.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { connectProofPayload, GrpcStatus, timestampFromDate, type AgentService, type ServiceClient } from "@gitfleet/proto";
import { waitFor } from "../lab/process.js";
import {
  agentClient,
  agentKeys,
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

// The hub refreshes credentials with a third of their lifetime left: 2 s after they were issued.
const credentialTtlMs = 3_000;
// Longer than that, so an unproven stream outlives the moment a proven one gets fresh credentials.
const connectProofTimeoutMs = 2_500;

interface ClusterView {
  connected: boolean;
  lastSeen: string | null;
  observedRevision: string;
}

void describe("proof of possession on Connect", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;

  void before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats, { credentialTtlMs, connectProofTimeoutMs });
    client = agentClient(fixture);
  });

  void after(async () => {
    client?.close();
    await fixture?.stop();
    await nats?.close();
  });

  const clusterView = async (name: string): Promise<ClusterView> => {
    const res = await api<ClusterView>(fixture.baseUrl, "GET", `/api/v1/clusters/${name}`, { token: fixture.adminToken });
    assert.equal(res.status, 200);
    return res.body;
  };

  void it("a client with only the bearer token gets no credentials, records nothing, and is closed", async () => {
    const { secret } = await createToken(fixture, { maxUses: 1 });
    const cluster = await register(client, secret, "edge-stolen");
    const stolenToken = cluster.credentials?.grpcToken;

    // Asks for credentials at once, as a thief renewing a stolen token would.
    const asking = openStream(client, stolenToken, { prove: false });
    const welcome = await asking.next("welcome");
    assert.equal(welcome.nonce.length, 32, "Welcome carries a 32-byte nonce");
    asking.call.write({ kind: { case: "credentialsRequest", value: {} } });
    const refusal = await asking.closed();
    assert.equal(refusal?.code, GrpcStatus.UNAUTHENTICATED);
    assert.equal(
      refusal?.details,
      "cluster edge-stolen sent credentialsRequest before its ConnectProof; the first message on Connect must prove the agent's signing key (upgrade the agent)",
    );
    assert.ok(!asking.received.some((m) => m.kind.case === "refreshCredentials"), "no RefreshCredentials on an unproven stream");

    // A forged status is not recorded, and the cluster is never shown connected.
    const forging = openStream(client, stolenToken, { prove: false });
    await forging.next("welcome");
    forging.call.write({ kind: { case: "status", value: { observedRevision: "forged", reportedAt: timestampFromDate(new Date()) } } });
    assert.match((await forging.closed())?.details ?? "", /sent status before its ConnectProof/);
    const view = await clusterView("edge-stolen");
    assert.equal(view.observedRevision, "", "the forged status was not recorded");
    assert.equal(view.lastSeen, null, "an unproven stream does not count as the agent being seen");
    assert.equal(view.connected, false);

    // Waiting does not help: no RefreshCredentials comes while the credentials near their end,
    // and the stream is closed when the proof timeout passes.
    const waiting = openStream(client, stolenToken, { prove: false });
    await waiting.next("welcome");
    const silent = await waiting.closed();
    assert.equal(silent?.code, GrpcStatus.UNAUTHENTICATED);
    assert.match(silent?.details ?? "", /^cluster edge-stolen sent no ConnectProof within 2\.5 s of Welcome/);
    assert.deepEqual(
      waiting.received.map((m) => m.kind.case),
      [],
      "nothing but the Welcome (taken above) was sent, though a proven stream gets fresh credentials 2 s after issue",
    );
  });

  void it("a proof by another key, or over another nonce, is refused", async () => {
    const { secret } = await createToken(fixture, { maxUses: 1 });
    const cluster = await register(client, secret, "edge-forged");
    const token = cluster.credentials?.grpcToken;

    const otherKey = openStream(client, token, { prove: agentKeys().signing });
    await otherKey.next("welcome");
    const refusal = await otherKey.closed();
    assert.equal(refusal?.code, GrpcStatus.UNAUTHENTICATED);
    assert.equal(refusal?.details, "ConnectProof of cluster edge-forged does not verify with its registered signing key");

    // A proof captured from another stream (another nonce) does not carry over.
    const { signing } = agentKeys();
    const replayed = openStream(client, token, { prove: false });
    await replayed.next("welcome");
    const oldNonce = new Uint8Array(32).fill(9);
    replayed.call.write({ kind: { case: "proof", value: { signature: signing.sign(connectProofPayload(cluster.clusterId, oldNonce)) } } });
    assert.match((await replayed.closed())?.details ?? "", /does not verify with its registered signing key/);
  });

  void it("the agent that proves its key is recorded and gets fresh credentials unasked, next to a thief", async () => {
    const { secret } = await createToken(fixture, { maxUses: 1 });
    const cluster = await register(client, secret, "edge-proven");
    const token = cluster.credentials?.grpcToken;
    const thief = openStream(client, token, { prove: false });
    const agent = openStream(client, token);
    await thief.next("welcome");
    const welcome = await agent.next("welcome");
    assert.equal(welcome.clusterId, cluster.clusterId);
    agent.call.write({ kind: { case: "status", value: { observedRevision: "r1", reportedAt: timestampFromDate(new Date()) } } });

    const refresh = await agent.next("refreshCredentials", "a RefreshCredentials the proven agent did not ask for");
    assert.ok(refresh.credentials?.grpcToken.startsWith("gf_agt_"));
    await waitFor(async () => (await clusterView("edge-proven")).observedRevision === "r1", {
      what: "the proven agent's status to be recorded",
      timeoutMs: 5_000,
    });
    assert.equal((await clusterView("edge-proven")).connected, true);

    const thiefEnd = await thief.closed();
    assert.match(thiefEnd?.details ?? "", /sent no ConnectProof/);
    assert.ok(!thief.received.some((m) => m.kind.case === "refreshCredentials"), "the thief's stream got no credentials");
    assert.equal(agent.ended, false, "the proven stream keeps running");
    agent.call.end();
    await agent.closed();
  });

  void it("agents slow to prove their key do not hold up the others: the hub's handshake turns cover only its own work", async () => {
    // As many silent streams as the hub runs handshakes at once (64 by default).
    const silentCount = 64;
    const { secret } = await createToken(fixture, { maxUses: silentCount + 1 });
    const clusters = await Promise.all(Array.from({ length: silentCount + 1 }, (_, i) => register(client, secret, `edge-queue-${i}`)));
    const silent = clusters.slice(0, silentCount).map((c) => openStream(client, c.credentials?.grpcToken, { prove: false }));
    await Promise.all(silent.map((s) => s.next("welcome")));

    const last = clusters[silentCount];
    const agent = openStream(client, last?.credentials?.grpcToken);
    await agent.next("welcome", "Welcome for an agent behind 64 that have not answered theirs");
    await waitFor(async () => (await clusterView(`edge-queue-${silentCount}`)).connected || undefined, {
      what: "the proving agent to be recorded connected",
      timeoutMs: 5_000,
    });
    assert.equal(silent.filter((s) => s.ended).length, 0, "it got in while all 64 silent streams still waited for their proof timeout");

    for (const s of silent) assert.match((await s.closed())?.details ?? "", /sent no ConnectProof/);
    agent.call.end();
    await agent.closed();
  });
});
