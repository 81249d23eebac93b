// Attacks on NATS with an agent's real credentials (issue 11 items 1, 5 and 6), on the lab's
// nats-server: the agent registers through real gRPC with a hub configured as in production
// (agents account, scoped signing key, revocation), then tries to reach past its own desired
// state, to write into the hub's buckets, to list other clusters and to exhaust the server.
// Finally its cluster is deleted through the API and its NATS access ends within seconds.
import { strict as assert } from "node:assert";
import { connect as tcpConnect } from "node:net";
import { after, before, describe, it } from "node:test";
import { agentUserLimits } from "@gitfleet/hub";
import { GrpcStatus, type AgentService, type Credentials, type ServiceClient } from "@gitfleet/proto";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { KeyPair } from "@nats-io/nkeys";
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from "@nats-io/transport-node";
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
  type AgentKeys,
  type HubFixture,
  type NatsFixture,
} from "./harness.js";

const bucket = "gitfleet_desired";
const encoder = new TextEncoder();

interface Agent {
  clusterId: string;
  name: string;
  keys: AgentKeys;
  creds: Credentials;
}

/** Connects to NATS exactly as the agent does: its JWT, its nkey, its inbox prefix. */
function connectAs(agent: Agent, options: { reconnect?: boolean } = {}): Promise<NatsConnection> {
  return connect({
    servers: agent.creds.natsServers,
    authenticator: jwtAuthenticator(agent.creds.natsUserJwt, agent.keys.nats.getSeed()),
    inboxPrefix: agent.creds.natsInboxPrefix,
    reconnect: options.reconnect ?? false,
    timeout: 5_000,
  });
}

/** A request the attacker sends; the result is the answer's text, or why none came. */
async function attempt(nc: NatsConnection, subject: string, body: unknown = undefined): Promise<{ answered: boolean; text: string }> {
  try {
    const payload = body === undefined ? undefined : encoder.encode(JSON.stringify(body));
    const msg = await nc.request(subject, payload, { timeout: 1_500 });
    return { answered: true, text: msg.headers?.hasError ? `${msg.headers.code} ${msg.headers.description}` : msg.string() };
  } catch (err) {
    return { answered: false, text: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * A bare NATS protocol client on a socket, so that the server's own checks are seen rather
 * than the client library's: it authenticates with the JWT and a signature over the nonce,
 * sends `commands` and collects what the server writes until it closes or `waitMs` passes.
 */
async function rawSession(url: string, jwt: string, key: KeyPair, commands: (info: { max_payload: number }) => string[], waitMs = 1_500): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = tcpConnect({ host: hostname, port: Number(port) });
  let received = "";
  let sent = false;
  const done = new Promise<void>((resolve) => {
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
    setTimeout(() => resolve(), waitMs + 3_000);
  });
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("utf8");
    const info = /^INFO (\{.*\})\s*\r\n/.exec(received);
    if (!sent && info) {
      sent = true;
      const parsed = JSON.parse(info[1] ?? "{}") as { nonce: string; max_payload: number };
      const sig = Buffer.from(key.sign(encoder.encode(parsed.nonce))).toString("base64url");
      const connectLine = `CONNECT ${JSON.stringify({ jwt, sig, verbose: false, pedantic: false, protocol: 1, headers: true })}\r\n`;
      socket.write(connectLine + commands(parsed).join("") + "PING\r\n");
      setTimeout(() => socket.end(), waitMs);
    }
  });
  await done;
  socket.destroy();
  return received;
}

describe("NATS isolation: attacks with an agent's real credentials", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  let desired: KV;
  let attacker: Agent;
  let victim: Agent;
  let nc: NatsConnection;

  const registerAgent = async (name: string): Promise<Agent> => {
    const { secret } = await createToken(fixture, {});
    const keys = agentKeys();
    const res = await register(client, secret, name, { keys });
    assert.ok(res.credentials, "Register returns credentials");
    return { clusterId: res.clusterId, name, keys, creds: res.credentials };
  };

  /** Every KV stream of the account with its message count, last sequence and consumer count. */
  const hubStreams = async (): Promise<Map<string, string>> => {
    const state = new Map<string, string>();
    for await (const info of jsm.streams.list()) {
      state.set(info.config.name, `${info.state.messages}/${info.state.last_seq}/${info.state.consumer_count}`);
    }
    return state;
  };

  before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats);
    client = agentClient(fixture);
    admin = await connect({ servers: nats.lab.url, authenticator: credsAuthenticator(encoder.encode(nats.adminCreds)) });
    jsm = await jetstreamManager(admin);
    // The desired-state bucket as the hub's delivery creates it.
    desired = await new Kvm(admin).create(bucket, { allow_direct: true, history: 1 });
    attacker = await registerAgent("attacker");
    victim = await registerAgent("victim");
    await desired.put(`${attacker.clusterId}.desired`, "attacker's pointer");
    await desired.put(`${victim.clusterId}.desired`, "victim's pointer");
    await desired.put(`${victim.clusterId}.b.web.digest.0`, "victim's chunk");
    nc = await connectAs(attacker);
  });

  after(async () => {
    await nc?.close();
    await admin?.close();
    client?.close();
    await fixture?.stop();
    await nats?.close();
  });

  it("the agent still does its job: a direct get of its own pointer, and a notification when it changes", async () => {
    const own = await attempt(nc, `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${attacker.clusterId}.desired`);
    assert.deepEqual(own, { answered: true, text: "attacker's pointer" });
    const sub = nc.subscribe(`$KV.${bucket}.${attacker.clusterId}.desired`, { max: 1 });
    await nc.flush();
    await desired.put(`${attacker.clusterId}.desired`, "attacker's pointer v2");
    for await (const m of sub) assert.equal(m.string(), "attacker's pointer v2");
  });

  it("another cluster's direct get, subscription and chunks are refused", async () => {
    for (const key of [`${victim.clusterId}.desired`, `${victim.clusterId}.b.web.digest.0`]) {
      const got = await attempt(nc, `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${key}`);
      assert.equal(got.answered, false, `direct get of ${key}`);
      assert.match(got.text, /permissions violation/i);
    }
    // The old STREAM.MSG.GET path carries no key in its subject: refused as well.
    const msgGet = await attempt(nc, `$JS.API.STREAM.MSG.GET.KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${victim.clusterId}.desired` });
    assert.equal(msgGet.answered, false);
    const nc2 = await connectAs(attacker);
    const seen: string[] = [];
    const refusals: string[] = [];
    const collect = (err: Error | null, m: { subject: string } | undefined): void => {
      if (err) refusals.push(err.message);
      else if (m) seen.push(m.subject);
    };
    nc2.subscribe(`$KV.${bucket}.>`, { callback: collect });
    nc2.subscribe(`$KV.${bucket}.${victim.clusterId}.desired`, { callback: collect });
    await nc2.flush().catch(() => undefined);
    await desired.put(`${victim.clusterId}.desired`, "victim's pointer v2");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(seen, [], "no put of another cluster reaches the attacker");
    assert.equal(refusals.length, 2, `both subscriptions are refused: ${refusals.join("; ")}`);
    for (const r of refusals) assert.match(r, /permissions violation/i);
    await nc2.close().catch(() => undefined);
  });

  it("stream info, account info and stream lists reveal nothing, let alone another cluster", async () => {
    const probes: Array<[string, unknown]> = [
      ["$JS.API.INFO", undefined],
      [`$JS.API.STREAM.INFO.KV_${bucket}`, { subjects_filter: ">" }],
      ["$JS.API.STREAM.LIST", {}],
      ["$JS.API.STREAM.NAMES", {}],
      [`$JS.API.CONSUMER.LIST.KV_${bucket}`, {}],
      [`$JS.API.DIRECT.GET.KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${victim.clusterId}.desired` }],
    ];
    for (const [subject, body] of probes) {
      const got = await attempt(nc, subject, body);
      assert.equal(got.answered, false, `${subject} answered: ${got.text}`);
      assert.doesNotMatch(got.text, new RegExp(victim.clusterId));
    }
  });

  it("a push consumer delivering into any of the hub's $KV. subjects, or a flood of consumers, is refused and lands nothing", async () => {
    const before = await hubStreams();
    const kvStreams = [...before.keys()].filter((s) => s.startsWith("KV_"));
    assert.ok(kvStreams.length >= 5, `the hub's buckets exist: ${kvStreams.join(", ")}`);
    const attempts: Array<Promise<{ answered: boolean; text: string }>> = [];
    for (const stream of kvStreams) {
      const name = stream.slice("KV_".length);
      for (const deliver of [`$KV.${name}.evil`, `$KV.${name}.${victim.clusterId}.desired`]) {
        attempts.push(
          attempt(nc, `$JS.API.CONSUMER.CREATE.KV_${bucket}`, {
            stream_name: `KV_${bucket}`,
            config: { deliver_subject: deliver, deliver_policy: "all", ack_policy: "none", filter_subject: `$KV.${bucket}.>` },
          }),
        );
      }
    }
    // The consumer creation the old permissions allowed an agent, repeated as a flood.
    for (let i = 0; i < 40; i++) {
      attempts.push(
        attempt(nc, `$JS.API.CONSUMER.CREATE.KV_${bucket}.flood${i}.$KV.${bucket}.${attacker.clusterId}.>`, {
          stream_name: `KV_${bucket}`,
          config: { name: `flood${i}`, deliver_policy: "last_per_subject", ack_policy: "none", filter_subject: `$KV.${bucket}.${attacker.clusterId}.>`, deliver_subject: `${attacker.creds.natsInboxPrefix}.flood${i}` },
        }),
      );
    }
    const results = await Promise.all(attempts);
    assert.deepEqual(results.filter((r) => r.answered), [], "every consumer creation is refused");
    assert.equal((await jsm.consumers.info(`KV_${bucket}`, "flood0").catch(() => undefined)), undefined);
    assert.deepEqual(await hubStreams(), before, "no stream gained a message or a consumer");
  });

  it("a direct publish into any $KV. subject changes nothing", async () => {
    const before = await hubStreams();
    for (const stream of before.keys()) {
      if (!stream.startsWith("KV_")) continue;
      const name = stream.slice("KV_".length);
      for (const key of ["evil", `${attacker.clusterId}.desired`, `${victim.clusterId}.desired`, "credential-key", "admin-token"]) {
        nc.publish(`$KV.${name}.${key}`, encoder.encode("forged"));
      }
    }
    await nc.flush().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await hubStreams(), before, "no bucket changed");
    assert.equal((await desired.get(`${victim.clusterId}.desired`))?.string(), "victim's pointer v2");
    assert.equal((await desired.get(`${attacker.clusterId}.desired`))?.string(), "attacker's pointer v2");
  });

  it("subscriptions past the agent's limit are refused by the server", async () => {
    const sub = `$KV.${bucket}.${attacker.clusterId}.desired`;
    const out = await rawSession(nats.lab.url, attacker.creds.natsUserJwt, attacker.keys.nats, () =>
      Array.from({ length: agentUserLimits.subs + 4 }, (_, i) => `SUB ${sub} ${i + 1}\r\n`),
    );
    assert.match(out, /Maximum Subscriptions Exceeded/i, out);
    const refusals = out.match(/Maximum Subscriptions Exceeded/gi)?.length ?? 0;
    assert.equal(refusals, 4, `exactly the subscriptions past ${agentUserLimits.subs} are refused`);
  });

  it("a payload above the limit is refused by the server, which closes the connection", async () => {
    let advertised = 0;
    const out = await rawSession(nats.lab.url, attacker.creds.natsUserJwt, attacker.keys.nats, (info) => {
      advertised = info.max_payload;
      const big = "x".repeat(agentUserLimits.payload * 4);
      return [`PUB $JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${attacker.clusterId}.desired ${big.length}\r\n${big}\r\n`];
    });
    assert.ok(advertised > agentUserLimits.payload, "the server's own max_payload is larger; the agent's limit applies after CONNECT");
    assert.match(out, /Maximum Payload Violation/i, out);
    // The client library learns the limit from the server and refuses before sending.
    assert.equal(nc.info?.max_payload, agentUserLimits.payload);
    assert.throws(() => nc.publish(`$KV.${bucket}.x`, new Uint8Array(agentUserLimits.payload + 1)), /payload/i);
  });

  it("deleting the cluster through the API revokes its NATS user: disconnected within seconds, refused after", async () => {
    const doomed = await registerAgent("doomed");
    await desired.put(`${doomed.clusterId}.desired`, "doomed pointer");
    const live = await connectAs(doomed);
    const closed = live.closed();
    assert.equal((await attempt(live, `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${doomed.clusterId}.desired`)).answered, true);
    const stream = openStream(client, doomed.creds.grpcToken);
    await stream.next("welcome");

    const started = Date.now();
    const res = await api<{ name: string; note: string }>(fixture.baseUrl, "DELETE", `/api/v1/clusters/${doomed.name}`, { token: fixture.adminToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.body.note, /NATS user is revoked/);
    await waitFor(() => live.isClosed(), { what: "the revoked agent's NATS connection to close", timeoutMs: 5_000, intervalMs: 50 });
    const elapsed = Date.now() - started;
    const reason = await closed;
    assert.match(String(reason), /revoked|authorization/i);
    assert.ok(elapsed < 5_000, `closed after ${elapsed} ms`);

    await assert.rejects(connectAs(doomed), /authorization|revoked/i, "the same credentials cannot reconnect");
    assert.equal((await stream.closed())?.code, GrpcStatus.UNAUTHENTICATED);
    const again = openStream(client, doomed.creds.grpcToken);
    assert.equal((await again.closed())?.code, GrpcStatus.UNAUTHENTICATED, "its gRPC token is refused too");

    // The other agents are untouched.
    assert.equal((await attempt(nc, `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${attacker.clusterId}.desired`)).answered, true);
  });
});
