import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { HubError } from "../errors.js";
import type { ClusterRecord } from "../store/clusters.js";
import { issueGrpcToken, verifyGrpcToken } from "./grpc-token.js";
import { authenticateAgent, createCredentialIssuer } from "./issuer.js";

const key = randomBytes(32);
const cid = "cq3v7tbd2kx5mfw6hz4ay";
const now = new Date("2030-01-01T00:00:00Z");
const inAnHour = Math.floor(now.getTime() / 1000) + 3600;

function isUnauthenticated(message: RegExp) {
  return (err: unknown) => err instanceof HubError && err.code === "unauthenticated" && message.test(err.message);
}

void describe("gRPC credentials", () => {
  void it("round-trips its claims in the protocol's format", () => {
    const token = issueGrpcToken(key, { cid, epoch: 2, exp: inAnHour });
    assert.match(token, /^gf_agt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const payload = JSON.parse(Buffer.from(token.slice(7, token.indexOf(".")), "base64url").toString()) as unknown;
    assert.deepEqual(payload, { cid, epoch: 2, exp: inAnHour });
    assert.deepEqual(verifyGrpcToken(key, token, now), { cid, epoch: 2, exp: inAnHour });
  });

  void it("refuses a tampered payload, a tampered MAC, another key and garbage", () => {
    const token = issueGrpcToken(key, { cid, epoch: 1, exp: inAnHour });
    const [payload, mac] = token.slice(7).split(".") as [string, string];
    const otherCluster = Buffer.from(JSON.stringify({ cid: "caaaaaaaaaaaaaaaaaaaa", epoch: 1, exp: inAnHour })).toString("base64url");
    const flipped = (mac[0] === "A" ? "B" : "A") + mac.slice(1);
    for (const bad of [`gf_agt_${otherCluster}.${mac}`, `gf_agt_${payload}.${flipped}`, "", "Bearer x", `gf_reg_${payload}.${mac}`]) {
      assert.throws(() => verifyGrpcToken(key, bad, now), isUnauthenticated(/^gRPC credential is not valid$/));
    }
    assert.throws(() => verifyGrpcToken(randomBytes(32), token, now), isUnauthenticated(/not valid/));
  });

  void it("refuses an expired credential and says when it expired", () => {
    const token = issueGrpcToken(key, { cid, epoch: 1, exp: inAnHour });
    const later = new Date((inAnHour + 1) * 1000);
    assert.throws(() => verifyGrpcToken(key, token, later), isUnauthenticated(/expired at 2030-01-01T01:00:00.000Z/));
  });

  void it("authenticates a Bearer token only for an existing cluster of the same or older epoch", async () => {
    const issuer = createCredentialIssuer({
      credentialKey: key,
      accountPublicKey: "unused-here",
      accountSigningSeed: "unused-here",
      natsServers: [],
      ttlMs: 3_600_000,
      now: () => now,
    });
    const record = { id: cid, name: "prod-eu", credentialEpoch: 2 } as ClusterRecord;
    const lookup = { read: (id: string) => Promise.resolve(id === cid ? record : undefined) };
    const current = issueGrpcToken(key, { cid, epoch: 2, exp: inAnHour });
    const old = issueGrpcToken(key, { cid, epoch: 1, exp: inAnHour });

    const identity = await authenticateAgent(issuer, lookup, `Bearer ${current}`);
    assert.equal(identity.cluster.name, "prod-eu");
    await assert.rejects(authenticateAgent(issuer, lookup, `Bearer ${old}`), isUnauthenticated(/was revoked \(epoch 1, current 2\)/));
    await assert.rejects(authenticateAgent(issuer, lookup, undefined), isUnauthenticated(/missing gRPC credential/));
    await assert.rejects(authenticateAgent(issuer, lookup, current), isUnauthenticated(/missing gRPC credential/));
    const gone = { read: () => Promise.resolve(undefined) };
    await assert.rejects(authenticateAgent(issuer, gone, `Bearer ${current}`), isUnauthenticated(/is not registered \(it was deleted\)/));
  });
});
