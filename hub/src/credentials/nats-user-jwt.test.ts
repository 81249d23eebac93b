import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { decode, type User } from "@nats-io/jwt";
import { createAccount, createUser } from "@nats-io/nkeys";
import { agentNatsPermissions, mintAgentNatsJwt } from "./nats-user-jwt.js";

const cid = "cq3v7tbd2kx5mfw6hz4ay";

void describe("agent NATS user JWTs", () => {
  void it("grant exactly the protocol's per-cluster permissions", () => {
    const b = "gitfleet_desired";
    assert.deepEqual(agentNatsPermissions(cid), {
      pub: {
        allow: [
          "$JS.API.INFO",
          `$JS.API.STREAM.INFO.KV_${b}`,
          `$JS.API.DIRECT.GET.KV_${b}.$KV.${b}.${cid}.>`,
          `$JS.API.CONSUMER.CREATE.KV_${b}.*.$KV.${b}.${cid}.>`,
          `$JS.API.CONSUMER.INFO.KV_${b}.*`,
          `$JS.FC.KV_${b}.>`,
          `$JS.ACK.KV_${b}.>`,
        ],
      },
      sub: { allow: [`_INBOX_${cid}.>`] },
    });
    const all = [...agentNatsPermissions(cid).pub.allow, ...agentNatsPermissions(cid).sub.allow];
    assert.ok(!all.some((s) => s.includes("CONSUMER.DELETE")), "CONSUMER.DELETE is not granted");
  });

  void it("are signed by the account signing key for the agent's key, with issuer_account and expiry", async () => {
    const account = createAccount();
    const signing = createAccount();
    const agent = createUser();
    const expiresAt = new Date("2030-01-01T01:00:00Z");
    const jwt = await mintAgentNatsJwt({
      clusterId: cid,
      clusterName: "prod-eu",
      userPublicKey: agent.getPublicKey(),
      accountPublicKey: account.getPublicKey(),
      accountSigningSeed: new TextDecoder().decode(signing.getSeed()),
      expiresAt,
    });
    const claims = decode<User>(jwt);
    assert.equal(claims.sub, agent.getPublicKey());
    assert.equal(claims.iss, signing.getPublicKey());
    assert.equal(claims.nats.issuer_account, account.getPublicKey());
    assert.equal(claims.exp, expiresAt.getTime() / 1000);
    assert.equal(claims.name, `gitfleet-agent-prod-eu-${cid}`);
    assert.deepEqual(claims.nats.pub?.allow, agentNatsPermissions(cid).pub.allow);
    assert.deepEqual(claims.nats.sub?.allow, [`_INBOX_${cid}.>`]);
    assert.ok(!claims.nats.bearer_token, "not a bearer token: the agent must prove its key");
  });
});
