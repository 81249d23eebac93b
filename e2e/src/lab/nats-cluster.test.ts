// The lab's 3-node NATS cluster: it forms, a replicated KV bucket outlives a killed server, the
// server rejoins and catches up, and account JWT updates (revocations) reach every server.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { createNatsRevoker, mintAgentNatsJwt } from "@gitfleet/hub";
import { decode, encodeAccount, fmtCreds, type Account } from "@nats-io/jwt";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { startLab, type Lab, type LabInfo } from "./lab.js";
import type { NatsNode } from "./nats.js";
import { createUser } from "@nats-io/nkeys";
import { waitFor } from "./process.js";
import { skipUnlessTool } from "./skip.js";

const skip = skipUnlessTool(
  process.env["GITFLEET_NATS_SERVER_BIN"] ? false : "GITFLEET_NATS_SERVER_BIN is not set (path of a nats-server binary, e.g. built from e2e/servers/nats-server)",
);

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { name: string; current: boolean }[] };
  account_details?: { stream_detail?: { name: string; state: { messages: number; last_seq: number } }[] }[];
}

async function jsz(node: NatsNode, query = ""): Promise<Jsz> {
  const res = await fetch(`${node.monitorUrl}/jsz${query}`);
  if (!res.ok) throw new Error(`${node.name} /jsz answered ${res.status}`);
  return (await res.json()) as Jsz;
}

/** The stream's state as this server's own copy holds it (undefined when it has none). */
async function localStream(node: NatsNode, stream: string): Promise<{ messages: number; last_seq: number } | undefined> {
  const body = await jsz(node, "?accounts=true&streams=true");
  for (const account of body.account_details ?? []) {
    const found = account.stream_detail?.find((s) => s.name === stream);
    if (found) return found.state;
  }
  return undefined;
}

/** An agent user as the hub mints it (scoped signing key of the agents account). */
async function agentUser(info: LabInfo, clusterId: string): Promise<{ publicKey: string; creds: Uint8Array }> {
  const user = createUser();
  const jwt = await mintAgentNatsJwt({
    clusterId,
    clusterName: clusterId,
    userPublicKey: user.getPublicKey(),
    accountPublicKey: info.nats.agentAccountPublicKey,
    accountSigningSeed: info.nats.agentSigningSeed,
    scoped: true,
    expiresAt: new Date(Date.now() + 3_600_000),
  });
  return { publicKey: user.getPublicKey(), creds: fmtCreds(jwt, user) };
}

/** Re-signs the agents account with a revocation of `userPublicKey` and pushes it to one server, as the hub does. */
async function revoke(info: LabInfo, userPublicKey: string, server: string): Promise<void> {
  const system = await connect({ servers: server, authenticator: credsAuthenticator(await readFile(info.nats.systemCreds)), reconnect: false });
  try {
    const account = info.nats.agentAccountPublicKey;
    const held = (await system.request(`$SYS.REQ.ACCOUNT.${account}.CLAIMS.LOOKUP`, undefined, { timeout: 10_000 })).string();
    const claims = decode<Account>(held);
    const { type: _type, version: _version, ...body } = claims.nats;
    const at = Math.floor(Date.now() / 1000) + 1;
    const revocations = { ...(body.revocations ?? {}), [userPublicKey]: at };
    const jwt = await encodeAccount(claims.name, account, { ...body, revocations }, { signer: info.nats.operatorSigningSeed });
    const answer = (await system.request("$SYS.REQ.CLAIMS.UPDATE", new TextEncoder().encode(jwt), { timeout: 10_000 })).json<{ error?: unknown }>();
    assert.equal(answer.error, undefined, `the resolver took the update: ${JSON.stringify(answer)}`);
  } finally {
    await system.close();
  }
}

/** Connects as the user; undefined when that works, else the error. */
async function tryConnect(url: string, creds: Uint8Array): Promise<Error | undefined> {
  try {
    const nc = await connect({ servers: url, authenticator: credsAuthenticator(creds), reconnect: false, timeout: 5_000, inboxPrefix: "_INBOX_x" });
    await nc.flush();
    await nc.close();
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

describe("lab NATS cluster (natsNodes: 3)", { skip, timeout: 240_000 }, () => {
  let lab: Lab;
  let adminCreds: Uint8Array;
  const open: NatsConnection[] = [];

  const admin = async (servers: string | string[]): Promise<NatsConnection> => {
    const nc = await connect({ servers, authenticator: credsAuthenticator(adminCreds), name: "cluster-test", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    open.push(nc);
    return nc;
  };

  /** The hub's revoker on this lab, recording revocations in a bucket of its own. */
  const hubRevoker = async (bucket: string) => {
    const info = lab.info();
    const nc = await admin([...info.nats.urls]);
    // As the hub opens gitfleet_hub: reads go to the stream leader, not to any replica.
    const kv = await new Kvm(nc).create(bucket, { replicas: 3, allow_direct: false });
    // A new replicated bucket answers reads once its stream has a leader.
    await waitFor(() => kv.get("ready").then(() => true), { what: `bucket ${bucket} to answer`, timeoutMs: 15_000, intervalMs: 100 });
    return createNatsRevoker({
      kv,
      servers: [...info.nats.urls],
      agentAccountPublicKey: info.nats.agentAccountPublicKey,
      operatorSigningSeed: info.nats.operatorSigningSeed,
      systemCreds: await readFile(info.nats.systemCreds, "utf8"),
      maxUserJwtLifetimeMs: 3_600_000,
    });
  };

  before(async () => {
    lab = await startLab({ clusters: 0, workloads: false, natsNodes: 3 });
    adminCreds = await readFile(lab.nats.adminCredsPath);
  });
  after(async () => {
    await Promise.allSettled(open.map((nc) => nc.close()));
    await lab?.stop();
  });

  test("three servers with distinct names form one JetStream cluster; the lab info lists every URL", async () => {
    const info = lab.info();
    assert.equal(info.nats.urls.length, 3);
    assert.equal(new Set(info.nats.urls).size, 3);
    assert.equal(info.nats.url, info.nats.urls[0], "url stays the first server's");
    assert.deepEqual(info.nats.nodes.map((n) => n.url), info.nats.urls);
    const names = lab.nats.nodes.map((n) => n.name);
    assert.equal(new Set(names).size, 3);
    const bodies = await Promise.all(lab.nats.nodes.map((n) => jsz(n)));
    const leader = bodies[0]?.meta_cluster?.leader;
    assert.ok(leader && names.includes(leader), `meta leader ${leader} is one of ${names.join(", ")}`);
    for (const [i, body] of bodies.entries()) {
      const node = lab.nats.nodes[i];
      assert.ok(node);
      const varz = (await (await fetch(`${node.monitorUrl}/varz`)).json()) as { server_name: string; cluster?: { name?: string } };
      assert.equal(varz.server_name, names[i]);
      assert.equal(varz.cluster?.name, "gitfleet-lab");
      assert.equal(body.meta_cluster?.leader, leader, `${names[i]} knows the same meta leader`);
      assert.equal(body.meta_cluster?.cluster_size, 3);
    }
    // Each server is reachable on its own URL with the lab's JWT chain.
    for (const url of info.nats.urls) {
      const nc = await admin(url);
      const jsm = await jetstreamManager(nc);
      assert.ok((await jsm.getAccountInfo()).api.total >= 0);
      await nc.close();
    }
  });

  test("a KV bucket with 3 replicas keeps taking writes and reads while its leader is killed, and the server catches up when it rejoins", async () => {
    const nc = await admin([...lab.nats.urls]);
    const kv: KV = await new Kvm(nc).create("ha_test", { replicas: 3 });
    for (let i = 0; i < 10; i++) await kv.put(`before.${i}`, `v${i}`);
    const jsm = await jetstreamManager(nc);
    const leaderName = (await jsm.streams.info("KV_ha_test")).cluster?.leader;
    const victim = lab.nats.nodes.find((n) => n.name === leaderName);
    assert.ok(victim, `the stream leader ${leaderName} is a lab server`);

    await victim.kill();
    assert.equal(victim.running(), false);
    // A new stream leader is elected within seconds; until then writes may time out.
    const put = (key: string, value: string): Promise<number> =>
      waitFor(() => kv.put(key, value), { what: `put ${key} with ${victim.name} down`, timeoutMs: 30_000, intervalMs: 250 });
    for (let i = 0; i < 10; i++) await put(`during.${i}`, `w${i}`);
    for (let i = 0; i < 10; i++) {
      assert.equal((await kv.get(`before.${i}`))?.string(), `v${i}`);
      assert.equal((await kv.get(`during.${i}`))?.string(), `w${i}`);
    }
    const info = await jsm.streams.info("KV_ha_test");
    assert.notEqual(info.cluster?.leader, victim.name, "another server leads the stream");
    assert.equal(info.state.messages, 20);

    await victim.start();
    assert.equal(victim.running(), true);
    // The rejoined server's own copy of the stream catches up with what was written while it was down.
    const caughtUp = await waitFor(
      async () => {
        const state = await localStream(victim, "KV_ha_test");
        return state && state.messages === 20 ? state : undefined;
      },
      { what: `${victim.name} to catch up on KV_ha_test`, timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.equal(caughtUp.last_seq, info.state.last_seq);
    // And it serves the bucket: a client of only that server reads a key written while it was down.
    const direct = await admin(victim.url);
    const kvOnVictim = await new Kvm(direct).open("ha_test");
    assert.equal((await kvOnVictim.get("during.9"))?.string(), "w9");
    await kvOnVictim.put("after", "x");
    assert.equal((await kv.get("after"))?.string(), "x");
  });

  test("an account JWT update pushed to one server reaches every server: a revoked user is refused on all three", async () => {
    const info = lab.info();
    const agent = await agentUser(info, "c-revoked");
    for (const url of info.nats.urls) assert.equal(await tryConnect(url, agent.creds), undefined, `the agent user connects to ${url} before the revocation`);

    await revoke(info, agent.publicKey, info.nats.url);
    for (const url of info.nats.urls) {
      const err = await waitFor(() => tryConnect(url, agent.creds), { what: `the revoked user to be refused at ${url}`, timeoutMs: 15_000, intervalMs: 250 });
      assert.match(err.message, /authorization/i, `refused at ${url}: ${err.message}`);
    }
  });

  // nats-server's full resolver syncs with the other servers every `interval` (10 s in the lab),
  // not when it starts, and a sync request may be answered by the asking server itself: a server
  // that was down during a revocation can take the revoked user for several intervals. The hub
  // therefore pushes the account again from time to time (repush), which this test drives in a
  // loop the way the hub's timer would.
  test("a server that was down during a revocation refuses the user once the hub pushes the account again", async () => {
    const info = lab.info();
    const agent = await agentUser(info, "c-revoked-late");
    const late = lab.nats.nodes[2];
    assert.ok(late);
    assert.equal(await tryConnect(late.url, agent.creds), undefined);
    const revoker = await hubRevoker("revocations_test");
    await late.stop();
    await revoker.revoke(agent.publicKey);
    await waitFor(() => tryConnect(info.nats.url, agent.creds), { what: "the revocation on the first server", timeoutMs: 15_000, intervalMs: 250 });

    await late.start();
    const outcomes: string[] = [];
    const err = await waitFor(
      async () => {
        outcomes.push(await revoker.repush().catch((e: unknown) => `failed: ${(e as Error).message}`));
        return tryConnect(late.url, agent.creds);
      },
      { what: `${late.name} to refuse the revoked user after a re-push`, timeoutMs: 20_000, intervalMs: 1_000 },
    );
    assert.match(err.message, /authorization/i);
    assert.ok(outcomes.some((o) => o === "pushed" || o === "re-signed"), `re-push outcomes: ${outcomes.join(", ")}`);
  });

  test("a re-push with no recorded revocation pushes nothing", async () => {
    const revoker = await hubRevoker("revocations_empty");
    assert.equal(await revoker.repush(), "none");
  });
});
