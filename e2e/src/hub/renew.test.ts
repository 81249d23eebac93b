// Scenario: an agent renews its credentials with proof of possession of its signing key,
// against a real NATS server: after an outage longer than their lifetime, without a token.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import {
  GrpcStatus,
  renewSignaturePayload,
  timestampDate,
  timestampFromDate,
  type AgentService,
  type RegisterResponse,
  type RenewRequest,
  type ServiceClient,
} from "@gitfleet/proto";
import { createAccount, type KeyPair } from "@nats-io/nkeys";
import { connect, jwtAuthenticator } from "@nats-io/transport-node";
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
  type AgentKeys,
  type HubFixture,
  type NatsFixture,
} from "./harness.js";

/** A RenewRequest as an agent builds it: signed with `signing` over the canonical text. */
function signedRenew(
  signing: KeyPair,
  clusterId: string,
  options: { at: Date; natsUserPublicKey?: string },
): Pick<RenewRequest, "clusterId" | "signedAt" | "signature" | "natsUserPublicKey"> {
  const signedAt = timestampFromDate(options.at);
  const natsUserPublicKey = options.natsUserPublicKey ?? "";
  return {
    clusterId,
    signedAt,
    natsUserPublicKey,
    signature: signing.sign(renewSignaturePayload({ clusterId, signedAt, natsUserPublicKey })),
  };
}

void describe("renew credentials with the agent's signing key", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;
  let cluster: RegisterResponse;
  let keys: AgentKeys;
  // The hub's clock runs this far ahead of the real one, so expiry needs no sleeping.
  let offsetMs = 0;
  const hubNow = () => new Date(Date.now() + offsetMs);

  void before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats, { now: hubNow });
    client = agentClient(fixture);
    const { secret } = await createToken(fixture);
    keys = agentKeys();
    cluster = await register(client, secret, "edge-renew", { keys });
  });

  void after(async () => {
    client?.close();
    await fixture?.stop();
    await nats?.close();
  });

  void it("gives an agent whose credentials expired fresh ones, and the new token opens Connect", async () => {
    offsetMs = 2 * 3_600_000;
    try {
      const stale = openStream(client, cluster.credentials?.grpcToken);
      const refusal = await stale.closed();
      assert.equal(refusal?.code, GrpcStatus.UNAUTHENTICATED);
      assert.match(refusal?.details ?? "", /^gRPC credential of cluster \S+ expired at .*; the agent renews its credentials with Renew$/);

      const renewed = await client.renew(signedRenew(keys.signing, cluster.clusterId, { at: hubNow() }));
      const fresh = renewed.credentials;
      assert.ok(fresh?.expiresAt, "Renew returns credentials with an expiry");
      assert.ok(timestampDate(fresh.expiresAt).getTime() > hubNow().getTime(), "the new credentials are valid on the hub's clock");
      assert.ok(fresh.grpcToken.startsWith("gf_agt_") && fresh.grpcToken !== cluster.credentials?.grpcToken);
      assert.deepEqual(fresh.natsServers, [nats.lab.url]);
      assert.equal(fresh.natsInboxPrefix, `_INBOX_${cluster.clusterId}`);

      const stream = openStream(client, fresh.grpcToken);
      const welcome = await stream.next("welcome", "a welcome for the renewed token");
      assert.equal(welcome.clusterId, cluster.clusterId);
      stream.call.end();
      await stream.closed();

      // The NATS JWT is minted for the agent's registered NATS key.
      const nc = await connect({
        servers: fresh.natsServers,
        authenticator: jwtAuthenticator(fresh.natsUserJwt, keys.nats.getSeed()),
        inboxPrefix: fresh.natsInboxPrefix,
        reconnect: false,
      });
      await nc.close();
      cluster.credentials = fresh;
    } finally {
      offsetMs = 0;
    }
  });

  void it("leaves an open stream running, and re-keys the NATS user when asked", async () => {
    const stream = openStream(client, cluster.credentials?.grpcToken);
    await stream.next("welcome");
    const newNats = agentKeys().nats;
    // The previous test's Renew was signed two hours ahead (on the hub's clock then); a Renew must
    // be signed later than the last one accepted, so this one is signed on a clock later still.
    offsetMs = 2 * 3_600_000 + 60_000;
    let renewed;
    try {
      renewed = await client.renew(
        signedRenew(keys.signing, cluster.clusterId, { at: hubNow(), natsUserPublicKey: newNats.getPublicKey() }),
      );
    } finally {
      offsetMs = 0;
    }
    const fresh = renewed.credentials;
    assert.ok(fresh);

    const nc = await connect({
      servers: fresh.natsServers,
      authenticator: jwtAuthenticator(fresh.natsUserJwt, newNats.getSeed()),
      inboxPrefix: fresh.natsInboxPrefix,
      reconnect: false,
    });
    await nc.close();
    await assert.rejects(
      connect({
        servers: fresh.natsServers,
        authenticator: jwtAuthenticator(fresh.natsUserJwt, keys.nats.getSeed()),
        inboxPrefix: fresh.natsInboxPrefix,
        reconnect: false,
      }),
      "the new JWT is not for the old NATS key",
    );

    // The stream opened before the renewal still works, and its refresh uses the new key too.
    stream.call.write({ kind: { case: "credentialsRequest", value: {} } });
    const refreshed = (await stream.next("refreshCredentials")).credentials;
    assert.ok(refreshed);
    const again = await connect({
      servers: refreshed.natsServers,
      authenticator: jwtAuthenticator(refreshed.natsUserJwt, newNats.getSeed()),
      inboxPrefix: refreshed.natsInboxPrefix,
      reconnect: false,
    });
    await again.close();
    assert.equal(stream.ended, false, "renewing revoked nothing");
    stream.call.end();
    await stream.closed();
    keys = { ...keys, nats: newNats };
  });

  void it("refuses a signature by another key, a tampered signature and a skewed clock", async () => {
    await assert.rejects(
      client.renew(signedRenew(agentKeys().signing, cluster.clusterId, { at: new Date() })),
      refused(GrpcStatus.UNAUTHENTICATED, "Renew signature of cluster edge-renew does not verify with its registered signing key"),
    );

    const tampered = signedRenew(keys.signing, cluster.clusterId, { at: new Date() });
    tampered.signature = Uint8Array.from(tampered.signature, (b, i) => (i === 10 ? b ^ 0x40 : b));
    await assert.rejects(client.renew(tampered), refused(GrpcStatus.UNAUTHENTICATED, /does not verify/));

    // A signature over one NATS key does not cover another.
    const swapped = signedRenew(keys.signing, cluster.clusterId, { at: new Date(), natsUserPublicKey: agentKeys().nats.getPublicKey() });
    swapped.natsUserPublicKey = agentKeys().nats.getPublicKey();
    await assert.rejects(client.renew(swapped), refused(GrpcStatus.UNAUTHENTICATED, /does not verify/));

    await assert.rejects(
      client.renew(signedRenew(keys.signing, cluster.clusterId, { at: new Date(Date.now() - 6 * 60_000) })),
      refused(GrpcStatus.UNAUTHENTICATED, /^Renew of cluster edge-renew refused for clock skew: .* behind the hub's clock/),
    );
    await assert.rejects(
      client.renew(signedRenew(keys.signing, cluster.clusterId, { at: new Date(Date.now() + 6 * 60_000) })),
      refused(GrpcStatus.UNAUTHENTICATED, /clock skew: .* ahead of the hub's clock/),
    );
  });

  void it("refuses a malformed request, naming the field", async () => {
    await assert.rejects(
      client.renew(signedRenew(keys.signing, cluster.clusterId, { at: new Date(), natsUserPublicKey: createAccount().getPublicKey() })),
      refused(GrpcStatus.INVALID_ARGUMENT, "invalid RenewRequest: nats_user_public_key must be a U... (user) public nkey"),
    );
  });

  void it("refuses a replayed Renew: the same request twice, even at once; a fresh one is accepted", async () => {
    const { secret } = await createToken(fixture);
    const replayKeys = agentKeys();
    const target = await register(client, secret, "edge-replay", { keys: replayKeys });
    const captured = signedRenew(replayKeys.signing, target.clusterId, { at: new Date() });

    const first = await client.renew(captured);
    assert.ok(first.credentials?.grpcToken.startsWith("gf_agt_"), "the first use of the request is accepted");
    await assert.rejects(client.renew(captured), refused(GrpcStatus.UNAUTHENTICATED, /^replayed Renew for cluster edge-replay: signed_at /));

    // A request signed later is accepted; sent twice at once, only one of the two gets credentials
    // (the cluster record's last signed_at is set with compare-and-set).
    const fresh = signedRenew(replayKeys.signing, target.clusterId, { at: new Date(Date.now() + 5) });
    const outcomes = await Promise.allSettled([client.renew(fresh), client.renew(fresh)]);
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1, "exactly one of two identical Renews is accepted");
    const rejection = outcomes.find((o) => o.status === "rejected");
    assert.ok(rejection && refused(GrpcStatus.UNAUTHENTICATED, /^replayed Renew/)(rejection.reason));

    // An older request captured before the last accepted one is a replay too.
    await assert.rejects(client.renew(captured), refused(GrpcStatus.UNAUTHENTICATED, /^replayed Renew/));
    const later = await client.renew(signedRenew(replayKeys.signing, target.clusterId, { at: new Date(Date.now() + 10) }));
    assert.ok(later.credentials, "a fresh request is accepted");
  });

  void it("refuses an unknown cluster and a deleted one", async () => {
    const unknown = "cqqqqqqqqqqqqqqqqqqqq";
    await assert.rejects(
      client.renew(signedRenew(keys.signing, unknown, { at: new Date() })),
      refused(GrpcStatus.UNAUTHENTICATED, new RegExp(`^cluster ${unknown} is not registered`)),
    );

    const deleted = await api(fixture.baseUrl, "DELETE", "/api/v1/clusters/edge-renew", { token: fixture.adminToken });
    assert.equal(deleted.status, 200);
    await assert.rejects(
      client.renew(signedRenew(keys.signing, cluster.clusterId, { at: new Date() })),
      refused(GrpcStatus.UNAUTHENTICATED, new RegExp(`^cluster ${cluster.clusterId} is not registered \\(it was deleted, or never was\\)`)),
    );
  });
});
