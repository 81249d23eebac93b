import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { decode, type Account, type SigningKey, type User } from "@nats-io/jwt";
import { createAccount, createUser } from "@nats-io/nkeys";
import { agentsAccountClaims } from "./nats-accounts.js";
import { agentNatsPermissions, agentUserLimits, agentUserTemplate, mintAgentNatsJwt } from "./nats-user-jwt.js";

const cid = "cq3v7tbd2kx5mfw6hz4ay";
const b = "gitfleet_desired";

void describe("agent NATS user JWTs", () => {
  void it("grant exactly the protocol's per-cluster permissions: one direct get, the pointer, the inbox", () => {
    assert.deepEqual(agentNatsPermissions(cid), {
      pub: { allow: [`$JS.API.DIRECT.GET.KV_${b}.$KV.${b}.${cid}.>`] },
      sub: { allow: [`$KV.${b}.${cid}.desired`, `_INBOX_${cid}.>`] },
    });
    const all = [...agentNatsPermissions(cid).pub.allow, ...agentNatsPermissions(cid).sub.allow];
    assert.ok(!all.some((s) => s.includes("CONSUMER") || s.includes("STREAM") || s === "$JS.API.INFO"), "no consumer, stream or account API");
  });

  void it("the scoped signing key's template is the same list with {{tag(cluster)}} and the user limits", () => {
    const template = agentUserTemplate();
    assert.deepEqual(template.pub?.allow, agentNatsPermissions("{{tag(cluster)}}").pub.allow);
    assert.deepEqual(template.sub?.allow, agentNatsPermissions("{{tag(cluster)}}").sub.allow);
    assert.equal(template.subs, agentUserLimits.subs);
    assert.equal(template.payload, agentUserLimits.payload);
  });

  void it("scoped: signed by the agents account's scoped key, carrying only the cluster tag and expiry", async () => {
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
      scoped: true,
      expiresAt,
    });
    const claims = decode<User>(jwt);
    assert.equal(claims.sub, agent.getPublicKey());
    assert.equal(claims.iss, signing.getPublicKey());
    assert.equal(claims.nats.issuer_account, account.getPublicKey());
    assert.equal(claims.exp, expiresAt.getTime() / 1000);
    assert.equal(claims.name, `gitfleet-agent-prod-eu-${cid}`);
    assert.deepEqual(claims.nats.tags, [`cluster:${cid}`]);
    // nats-server refuses a scoped user that carries its own permissions or limits.
    assert.equal(claims.nats.pub, undefined);
    assert.equal(claims.nats.sub, undefined);
    assert.equal(claims.nats.subs, undefined);
    assert.ok(!claims.nats.bearer_token, "not a bearer token: the agent must prove its key");
  });

  void it("unscoped (agents share the hub's account): the permissions and limits are in the JWT", async () => {
    const jwt = await mintAgentNatsJwt({
      clusterId: cid,
      clusterName: "prod-eu",
      userPublicKey: createUser().getPublicKey(),
      accountPublicKey: createAccount().getPublicKey(),
      accountSigningSeed: new TextDecoder().decode(createAccount().getSeed()),
      scoped: false,
      expiresAt: new Date("2030-01-01T01:00:00Z"),
    });
    const claims = decode<User>(jwt);
    assert.deepEqual(claims.nats.pub?.allow, agentNatsPermissions(cid).pub.allow);
    assert.deepEqual(claims.nats.sub?.allow, agentNatsPermissions(cid).sub.allow);
    assert.equal(claims.nats.subs, agentUserLimits.subs);
    assert.equal(claims.nats.payload, agentUserLimits.payload);
  });

  void it("the agents account imports the hub's exports, lists the scoped key and turns JetStream off", () => {
    const hub = createAccount().getPublicKey();
    const claims: Partial<Account> = agentsAccountClaims({ hubAccountPublicKey: hub, scopedSigningKey: "AKEY" });
    assert.deepEqual(claims.imports?.map((i) => [i.type, i.subject, i.account]), [
      ["stream", `$KV.${b}.>`, hub],
      ["service", `$JS.API.DIRECT.GET.KV_${b}.>`, hub],
    ]);
    const key = claims.signing_keys?.[0] as SigningKey;
    assert.equal(key.kind, "user_scope");
    assert.equal(key.key, "AKEY");
    for (const field of ["mem_storage", "disk_storage", "streams", "consumer"] as const) assert.equal(claims.limits?.[field], undefined, field);
    assert.ok((claims.limits?.conn ?? -1) > 0 && (claims.limits?.payload ?? -1) > 0 && (claims.limits?.subs ?? -1) > 0);
  });
});
