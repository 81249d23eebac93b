// Scenario: the hub turns what agents report into fleet events, lists them, streams them as
// Server-Sent Events, and delivers them to notification sinks on 127.0.0.1: signed, once per
// state, and after retries to a sink that was down.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { HealthState, SyncState, type AgentService, type ServiceClient } from "@gitfleet/proto";
import { createHubClient, parseApiToken, verifyEventSignature, type SinkConfig, type SinkStatusView, type StoredEvent } from "@gitfleet/hub";
import { jetstream } from "@nats-io/jetstream";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runGitfleet } from "../fleet/gitfleet-cli.js";
import { freePort } from "../lab/ports.js";
import { waitFor } from "../lab/process.js";
import { connectAgent, createReceiver, webBundle, type FakeAgent, type Receiver } from "./event-fixtures.js";
import { agentClient, api, createToken, skipWithoutNats, startHub, startNatsFixture, type HubFixture, type NatsFixture } from "./harness.js";

const secret = "webhook-secret-0123456789";
const viewerToken = "a-viewer-token-for-events-0123456789";
// An event recorded again under another id, as a replica that lost track of a status would.
const repeatedId = "ezzzzzzzzzzzzzzzzzzzz";
const replicas = { path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" };
const sink = (name: string, port: number, init: Partial<SinkConfig> = {}): SinkConfig => ({
  name,
  type: "webhook",
  url: `http://127.0.0.1:${port}/hooks/${name}?token=hunter2`,
  secret,
  types: [],
  maxAttempts: 100,
  maxAgeMs: 3_600_000,
  timeoutMs: 2_000,
  initialBackoffMs: 200,
  maxBackoffMs: 500,
  ...init,
});

/** Reads `count` events from an SSE body, then lets go of it. */
async function readSse(body: ReadableStream<Uint8Array>, count: number): Promise<Array<{ id: string; event: StoredEvent }>> {
  const out: Array<{ id: string; event: StoredEvent }> = [];
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (out.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const messages = text.split("\n\n");
    text = messages.pop() ?? "";
    for (const message of messages) {
      const id = /^id: (.*)$/m.exec(message)?.[1];
      const data = /^data: (.*)$/m.exec(message)?.[1];
      if (id !== undefined && data !== undefined) out.push({ id, event: JSON.parse(data) as StoredEvent });
    }
  }
  await reader.cancel().catch(() => undefined);
  return out;
}

void describe("fleet events", { skip: skipWithoutNats, timeout: 120_000 }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;
  let agent: FakeAgent;
  let admin: NatsConnection;
  const ops = createReceiver();
  const late = createReceiver();
  let opsPort: number;
  let latePort: number;

  const list = async (query: string): Promise<{ items: StoredEvent[]; continue?: string }> => {
    const res = await api<{ items: StoredEvent[]; continue?: string }>(fixture.baseUrl, "GET", `/api/v1/events${query}`, { token: viewerToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const eventsOf = async (type: string, count: number): Promise<StoredEvent[]> =>
    await waitFor(async () => {
      const { items } = await list(`?cluster=edge-1&type=${type}`);
      return items.length >= count ? items : undefined;
    }, { what: `${count} ${type} event(s) of edge-1`, timeoutMs: 10_000 });
  const sinks = async (): Promise<SinkStatusView[]> =>
    (await api<{ items: SinkStatusView[] }>(fixture.baseUrl, "GET", "/api/v1/notifications/sinks", { token: viewerToken })).body.items;
  const caughtUp = async (index: number, what: string): Promise<SinkStatusView> =>
    await waitFor(async () => {
      const status = (await sinks())[index];
      return status?.pending === 0 ? status : undefined;
    }, { what: `${what} to have nothing pending`, timeoutMs: 10_000 });
  const bodies = (receiver: Receiver): StoredEvent[] => receiver.received.map((r) => JSON.parse(r.body) as StoredEvent);

  before(async () => {
    nats = await startNatsFixture();
    opsPort = await freePort();
    latePort = await freePort();
    await ops.listen(opsPort);
    fixture = await startHub(nats, {
      heartbeatIntervalSeconds: 1,
      apiTokens: [parseApiToken(viewerToken, "viewer", "test")],
      notificationSinks: [sink("ops", opsPort), sink("late", latePort, { types: ["drift-detected"] })],
    });
    client = agentClient(fixture);
    agent = await connectAgent(client, (await createToken(fixture)).secret, "edge-1");
    admin = await connect({ servers: nats.lab.url, authenticator: credsAuthenticator(new TextEncoder().encode(nats.adminCreds)) });
  });

  after(async () => {
    await agent?.leave().catch(() => undefined);
    client?.close();
    await admin?.close();
    await fixture?.stop();
    await Promise.all([ops.close(), late.close()]);
    await nats?.close();
  });

  it("records what each status change means, once, and the agent's corrections once", async () => {
    agent.report(webBundle());
    agent.report(webBundle({ drift: replicas }));
    // An agent that restarted reports the same drift in a whole report: nothing new.
    agent.report(webBundle({ drift: replicas }));
    agent.corrected("fix-1", "/spec/replicas");
    agent.corrected("fix-1", "/spec/replicas");
    agent.report(webBundle({ health: HealthState.DEGRADED }));
    agent.report(webBundle({ health: HealthState.DEGRADED, sync: SyncState.FAILED, message: "apply Deployment web/web: forbidden" }));
    await eventsOf("sync-failed", 1);
    const { items } = await list("?cluster=edge-1");
    assert.deepEqual(
      items.map((e) => [e.type, e.bundle, e.resource?.name ?? "-"]),
      [
        ["drift-detected", "web", "web"],
        ["drift-corrected", "web", "web"],
        ["health-degraded", "web", "-"],
        ["sync-failed", "web", "-"],
      ],
    );
    const [drift] = items;
    assert.deepEqual(drift?.fields, [replicas]);
    assert.equal(drift?.cluster.id, agent.clusterId);
    assert.equal(drift?.message, "Deployment web/web drifted: /spec/replicas changed by kubectl-edit");
    assert.ok(items.every((e, i) => i === 0 || e.sequence > (items[i - 1]?.sequence ?? 0)), "oldest first");
  });

  it("filters by type, object and time, and pages with continue", async () => {
    assert.deepEqual((await list("?type=health-degraded,sync-failed")).items.map((e) => e.type), ["health-degraded", "sync-failed"]);
    assert.deepEqual((await list("?kind=Deployment&namespace=web&name=web")).items.map((e) => e.type), ["drift-detected", "drift-corrected"]);
    assert.deepEqual((await list("?cluster=no-such-cluster")).items, []);
    assert.deepEqual((await list(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).items, []);
    const first = await list("?cluster=edge-1&limit=3");
    assert.equal(first.items.length, 3);
    assert.ok(first.continue, "a first page says where to continue");
    const second = await list(`?cluster=edge-1&limit=3&continue=${first.continue}`);
    assert.deepEqual(second.items.map((e) => e.type), ["sync-failed"]);
    assert.equal(second.continue, undefined);
    const bad = await api<{ error: { message: string } }>(fixture.baseUrl, "GET", "/api/v1/events?type=drift", { token: viewerToken });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.message, 'querystring/type: "drift" is not an event type');
  });

  it("answers 401 without a token, and describes its routes in the OpenAPI document", async () => {
    const paths = ["/api/v1/events", "/api/v1/events/stream", "/api/v1/notifications/sinks"];
    for (const path of paths) {
      const res = await api<{ error: { code: string } }>(fixture.baseUrl, "GET", path);
      assert.equal(res.status, 401, path);
      assert.equal(res.body.error.code, "unauthenticated");
    }
    type Operation = { security?: unknown[]; responses: Record<string, unknown> };
    const doc = await api<{ paths: Record<string, { get?: Operation }> }>(fixture.baseUrl, "GET", "/api/v1/openapi.json");
    for (const path of paths) {
      const get = doc.body.paths[path]?.get;
      assert.ok(get?.security?.length, `${path} is documented as needing a token`);
      assert.ok(get.responses["200"] && get.responses["401"], `${path} documents 200 and 401`);
    }
  });

  it("streams new events as Server-Sent Events, and resumes after Last-Event-ID", async () => {
    const hub = createHubClient({ url: fixture.baseUrl, token: viewerToken });
    const stop = new AbortController();
    const live = readSse(await hub.stream("/events/stream?cluster=edge-1&type=drift-detected", { signal: stop.signal }), 1);
    agent.report(webBundle({ health: HealthState.DEGRADED, sync: SyncState.FAILED, message: "apply Deployment web/web: forbidden", drift: { ...replicas, live: "7" } }));
    const [first] = await live;
    stop.abort();
    assert.equal(first?.event.type, "drift-detected");
    assert.equal(first?.event.fields?.[0]?.live, "7");
    assert.equal(first?.id, String(first?.event.sequence));
    // Left open on purpose: stopping the hub must end it rather than wait for the client.
    void hub.stream("/events/stream", { signal: AbortSignal.timeout(60_000) }).catch(() => undefined);

    const all = (await list("?cluster=edge-1")).items;
    const resumed = await readSse(await hub.stream("/events/stream?cluster=edge-1", { lastEventId: String(all[0]?.sequence), signal: AbortSignal.timeout(10_000) }), all.length - 1);
    assert.deepEqual(resumed.map((m) => m.event.id), all.slice(1).map((e) => e.id));
  });

  it("delivers each event to a webhook once, signed with the sink's secret", async () => {
    const expected = (await list("?cluster=edge-1")).items.map((e) => e.id);
    await waitFor(() => ops.received.length >= expected.length, { what: `${expected.length} deliveries to the ops webhook`, timeoutMs: 10_000 });
    assert.deepEqual(bodies(ops).map((e) => e.id), expected);
    for (const { headers, body } of ops.received) {
      const timestamp = headers["x-gitfleet-timestamp"] as string;
      assert.ok(verifyEventSignature({ secret, body, timestamp, signature: headers["x-gitfleet-signature"] as string }), "a valid signature");
      assert.equal(headers["x-gitfleet-event-id"], (JSON.parse(body) as StoredEvent).id);
    }
    const opsSink = await caughtUp(0, "the ops sink");
    assert.equal(opsSink?.url, `http://127.0.0.1:${opsPort}/…`);
    assert.ok(!JSON.stringify(await sinks()).includes("hunter2"), "sink URLs are never shown in full");
    assert.equal(opsSink?.delivered, expected.length);
    assert.equal(opsSink?.pending, 0);
  });

  it("sends the same state of an object once, even when it is recorded again", async () => {
    const [drift] = (await list("?cluster=edge-1&type=drift-detected")).items;
    assert.ok(drift);
    const { sequence: _, ...copy } = { ...drift, id: repeatedId };
    const subject = `gitfleet.events.${agent.clusterId}.drift-detected.web.Deployment.web.web`;
    await jetstream(admin).publish(subject, JSON.stringify(copy), { msgID: copy.id });
    const before = ops.received.length;
    await waitFor(async () => ((await sinks())[0]?.deduplicated ?? 0) >= 1, { what: "the ops sink to skip the repeated state", timeoutMs: 10_000 });
    assert.equal(ops.received.length, before);
    assert.equal((await sinks())[0]?.recent[0]?.outcome, "deduplicated");
  });

  it("delivers to a sink that was down what it missed, in order, after retries", async () => {
    await waitFor(async () => ((await sinks())[1]?.failed ?? 0) >= 2, { what: "failed attempts on the late sink", timeoutMs: 10_000 });
    const down = (await sinks())[1];
    assert.match(down?.lastError ?? "", /cannot connect \(ECONNREFUSED\)/);
    assert.ok((down?.pending ?? 0) >= 2, "both drift events wait");
    await late.listen(latePort);
    const drifts = (await list("?cluster=edge-1&type=drift-detected")).items.map((e) => e.id).filter((id) => id !== repeatedId);
    await waitFor(() => late.received.length >= drifts.length, { what: "the late sink to receive the drift events", timeoutMs: 10_000 });
    assert.deepEqual(bodies(late).map((e) => e.id), drifts);
    assert.ok(Number(late.received[0]?.headers["x-gitfleet-delivery-attempt"]) > 1, "the first one after a retry");
    // What follows the drift events (settled marks, the repeated state) is handled next.
    const up = await caughtUp(1, "the late sink");
    assert.equal(up?.delivered, drifts.length);
    assert.equal(up?.deduplicated, 1, "the repeated state is skipped here too");
    assert.ok(up?.lastSuccessAt);
  });

  it("shows them with gitfleet events, and follows new ones until Ctrl-C", async () => {
    const hub = { hubUrl: fixture.baseUrl, adminToken: viewerToken };
    const table = await runGitfleet(hub, "events", "--cluster", "edge-1", "--type", "drift-detected,sync-failed");
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /^TIME\s+TYPE\s+CLUSTER\s+BUNDLE\s+OBJECT\s+MESSAGE$/);
    assert.match(lines[1] ?? "", /drift-detected\s+edge-1\s+web\s+Deployment\/web\/web\s+Deployment web\/web drifted: \/spec\/replicas changed by kubectl-edit/);

    const cli = fileURLToPath(new URL("../../../hub/src/bin/gitfleet.ts", import.meta.url));
    const follow = spawn(process.execPath, ["--conditions=@gitfleet/source", "--import", "tsx", cli, "events", "--cluster", "edge-1", "--type", "conflict", "--follow", "-o", "json"], {
      env: { ...process.env, GITFLEET_HUB: fixture.baseUrl, GITFLEET_TOKEN: viewerToken },
    });
    let stdout = "";
    let stderr = "";
    follow.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    follow.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follow.once("exit", (code) => resolve(code)));
    // Whether the CLI is following yet or not: it starts an hour back.
    agent.report(webBundle({ drift: { ...replicas, manager: "hpa" }, conflict: true }));
    const line = await waitFor(() => stdout.split("\n").find((l) => l.startsWith("{")), { what: "gitfleet events --follow to print the conflict", timeoutMs: 30_000 });
    assert.equal((JSON.parse(line) as StoredEvent).type, "conflict");
    follow.kill("SIGINT");
    assert.equal(await exited, 0, stderr);
    assert.equal(stderr, "");
  });

  it("records a silent cluster stale, and back when it reports again", async () => {
    await agent.leave();
    const [stale] = await eventsOf("cluster-stale", 1);
    assert.match(stale?.message ?? "", /^cluster edge-1 has not been heard from since /);
    await agent.comeBack();
    const [back] = await eventsOf("cluster-back", 1);
    assert.match(back?.message ?? "", /^cluster edge-1 is back after /);
    assert.equal((await list("?cluster=edge-1&type=cluster-stale,cluster-back")).items.length, 2);
  });
});
