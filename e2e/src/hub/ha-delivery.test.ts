// Scenario: three hub replicas on one NATS follow one fleet repository. One of them leads
// delivery; the others answer the same API from its view and forward Git pushes to it. The leader
// is cut off from NATS without releasing anything: it reports not ready, refuses agents, and a
// follower takes over within the lease TTL and publishes the next commit under a higher term.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect as tcpConnect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { DesiredStateSchema, GrpcStatus, fromBinary, type AgentService, type ServiceClient } from "@gitfleet/proto";
import { gitDelivery, webhookSignature } from "@gitfleet/hub";
import { pointerKey } from "@gitfleet/hub/delivery";
import { Kvm } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { startGitServer, type GitServer } from "../lab/git-server.js";
import { isolatedGitEnv } from "../lab/git-server-repos.js";
import { waitFor } from "../lab/process.js";
import { agentClient, api, createToken, openStream, register, skipWithoutNats, startHub, startNatsFixture, type HubFixture, type NatsFixture } from "./harness.js";

const execFileAsync = promisify(execFile);
const TTL_MS = 4_000;
const webhookSecret = "ha-webhook-secret";

const fleetYaml = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: web
    path: apps/web
  - name: broken
    path: apps/broken
  - name: site
    path: apps/site
    targets:
      - { name: staging, clusterSelector: { matchLabels: { env: staging } }, overlay: staging }
      - { name: prod, clusterSelector: { matchLabels: { env: prod } }, overlay: prod }
pipelines:
  - name: site
    bundle: site
    promote:
      fields: [{ file: config.yaml, path: data.version }]
    stages:
      - { name: staging, target: staging, gates: { healthy: false } }
      - { name: prod, target: prod }
`;

const siteConfig = (version: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: site\n  namespace: default\ndata:\n  version: "${version}"\n`;

const seed: Record<string, string> = {
  "fleet.yaml": fleetYaml,
  "apps/web/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: default\ndata:\n  color: blue\n",
  "apps/broken/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
  "apps/site/staging/config.yaml": siteConfig("1.1.0"),
  "apps/site/prod/config.yaml": siteConfig("1.0.0"),
};

/** A TCP relay in front of NATS for one replica, so the test can cut that replica off. */
async function natsRelay(upstreamPort: number): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = tcpConnect(upstreamPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
    const address = server.address();
    if (address && typeof address === "object") port = address.port;
  };
  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  };
  await listen();
  return { url: `nats://127.0.0.1:${port}`, cut: stop, restore: listen, close: stop };
}

void describe("three hub replicas share delivery", { skip: skipWithoutNats, timeout: 300_000 }, () => {
  let temp: string;
  let git: GitServer;
  let nats: NatsFixture;
  let relays: Awaited<ReturnType<typeof natsRelay>>[] = [];
  let hubs: HubFixture[] = [];
  let admin: NatsConnection;
  let client: ServiceClient<typeof AgentService> | undefined;
  let work: string;
  let clusterId = "";
  let grpcToken: string | undefined;

  async function push(files: Record<string, string>, message: string): Promise<string> {
    const env = isolatedGitEnv({ GIT_AUTHOR_NAME: "Operator", GIT_AUTHOR_EMAIL: "op@gitfleet.invalid", GIT_COMMITTER_NAME: "Operator", GIT_COMMITTER_EMAIL: "op@gitfleet.invalid", GIT_TERMINAL_PROMPT: "0" });
    const gitCli = async (...args: string[]): Promise<string> => (await execFileAsync("git", args, { cwd: work, env })).stdout.trim();
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), content);
      await gitCli("add", path);
    }
    await gitCli("commit", "--quiet", "-m", message);
    await gitCli("push", "--quiet", "origin", "main");
    return gitCli("rev-parse", "HEAD");
  }

  const postWebhook = (hub: HubFixture) => {
    const body = JSON.stringify({ ref: "refs/heads/main" });
    return fetch(`${hub.baseUrl}/api/v1/webhooks/git`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": webhookSignature(webhookSecret, body) },
      body,
    });
  };

  const bundlesOf = async (hub: HubFixture) => (await api<{ commit?: string; error?: string; bundles?: unknown[] }>(hub.baseUrl, "GET", "/api/v1/bundles", { token: hubs[0]?.adminToken })).body;
  const readyz = async (hub: HubFixture) => api<{ status: string; role?: string; checks: Record<string, string> }>(hub.baseUrl, "GET", "/readyz");
  const pointer = async () => {
    const entry = await (await new Kvm(admin).open("gitfleet_desired")).get(pointerKey(clusterId));
    return entry && entry.operation === "PUT" ? fromBinary(DesiredStateSchema, entry.value) : undefined;
  };

  before(async () => {
    temp = await mkdtemp(join(tmpdir(), "gitfleet-ha-"));
    const seedDir = join(temp, "seed");
    for (const [path, content] of Object.entries(seed)) {
      await mkdir(dirname(join(seedDir, path)), { recursive: true });
      await writeFile(join(seedDir, path), content);
    }
    git = await startGitServer({ dir: join(temp, "git"), seeds: { fleet: seedDir } });
    work = join(temp, "work");
    await execFileAsync("git", ["clone", "--quiet", git.url("fleet"), work], { env: isolatedGitEnv({ GIT_TERMINAL_PROMPT: "0" }) });
    nats = await startNatsFixture();
    admin = await connect({ servers: nats.lab.url, authenticator: credsAuthenticator(new TextEncoder().encode(nats.adminCreds)) });
    // Each replica reaches NATS through a relay the test can cut.
    relays = await Promise.all([0, 1, 2].map(() => natsRelay(Number(new URL(nats.lab.url).port))));
    // Webhooks deliver; the poll is an hour away.
    const delivery = gitDelivery({ url: git.url("fleet"), branch: "main", pollIntervalMs: 3_600_000 });
    const common = { delivery, webhookSecret, deliveryLeaseTtlMs: TTL_MS };
    const through = (i: number) => ({ ...common, nats: { servers: relays[i]?.url ?? "", creds: nats.adminCreds } });
    // The first replica starts first, and leads.
    const first = await startHub(nats, through(0));
    hubs = [first, ...(await Promise.all([startHub(nats, through(1), first.adminToken), startHub(nats, through(2), first.adminToken)]))];
    const token = await createToken(first, { maxUses: 1 });
    client = agentClient(hubs[1] as HubFixture);
    const registered = await register(client, token.secret, "ha-eu");
    clusterId = registered.clusterId;
    grpcToken = registered.credentials?.grpcToken;
  });

  after(async () => {
    client?.close();
    await Promise.all(hubs.map((h) => h.stop()));
    await Promise.all(relays.map((r) => r.close()));
    await admin?.close();
    await nats?.close();
    await git?.stop();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  it("exactly one replica leads, and /readyz and the metrics say which", async () => {
    assert.deepEqual(hubs.map((h) => h.hub.role), ["leader", "follower", "follower"]);
    for (const [i, hub] of hubs.entries()) {
      const ready = await readyz(hub);
      assert.equal(ready.status, 200);
      assert.equal(ready.body.role, i === 0 ? "leader" : "follower");
      assert.equal(ready.body.checks["nats"], "ok");
    }
    const gauges = await Promise.all(hubs.map(async (h) => /^gitfleet_hub_delivery_leader (\d)$/m.exec(await h.hub.metrics.scrape())?.[1]));
    assert.deepEqual(gauges, ["1", "0", "0"]);
  });

  it("a follower checks Git itself: one that cannot reach it says so in /readyz and stays ready", async () => {
    // A fourth replica whose Git URL leads nowhere; the leader's Git is fine.
    const unreachable = gitDelivery({ url: "http://127.0.0.1:9/fleet.git", branch: "main", pollIntervalMs: 3_600_000 });
    const lost = await startHub(nats, { webhookSecret, deliveryLeaseTtlMs: TTL_MS, delivery: unreachable, nats: { servers: nats.lab.url, creds: nats.adminCreds } }, hubs[0]?.adminToken);
    try {
      assert.equal(lost.hub.role, "follower");
      const ready = await waitFor(
        async () => {
          const r = await readyz(lost);
          return r.body.checks["git"] !== "ok" ? r : undefined;
        },
        { what: "the replica to report its own Git check", timeoutMs: 15_000, intervalMs: 200 },
      );
      assert.equal(ready.status, 200, "Git down does not make a replica unready");
      assert.match(ready.body.checks["git"] ?? "", /^this replica: cannot reach branch main of http:\/\/127\.0\.0\.1:9\/fleet\.git: /);
      for (const hub of hubs) assert.equal((await readyz(hub)).body.checks["git"], "ok", "the others reach Git");
    } finally {
      await lost.stop();
    }
  });

  it("followers answer bundles, bundle errors and the source state like the leader", async () => {
    const leader = await waitFor(() => hubs.find((h) => h.hub.role === "leader"), { what: "a leader", timeoutMs: TTL_MS * 3 });
    const followers = hubs.filter((h) => h !== leader);
    const expected = await waitFor(
      async () => {
        const view = await bundlesOf(leader);
        return view.commit && (await api<{ errors?: unknown[] }>(leader.baseUrl, "GET", "/api/v1/clusters/ha-eu", { token: leader.adminToken })).body ? view : undefined;
      },
      { what: "the leader to resolve the seeded commit", timeoutMs: 30_000 },
    );
    for (const follower of followers) {
      await waitFor(async () => JSON.stringify(await bundlesOf(follower)) === JSON.stringify(await bundlesOf(leader)) || undefined, {
        what: "a follower to answer the leader's bundles",
        timeoutMs: 15_000,
      });
      const detail = await api<{ clusters: { name: string; state: string; errors: { message: string }[] }[] }>(follower.baseUrl, "GET", "/api/v1/bundles/broken", { token: leader.adminToken });
      const leaderDetail = await api<typeof detail.body>(leader.baseUrl, "GET", "/api/v1/bundles/broken", { token: leader.adminToken });
      assert.equal(detail.status, 200);
      assert.deepEqual(detail.body.clusters.map((c) => [c.name, c.state]), [["ha-eu", "error"]]);
      assert.deepEqual(detail.body, leaderDetail.body);
      assert.equal((await readyz(follower)).body.checks["git"], "ok");
    }
    assert.ok(expected.commit);
  });

  it("a Git push received by a follower is fetched and published by the leader", async () => {
    const sha = await push({ "apps/web/config.yaml": seed["apps/web/config.yaml"]?.replace("blue", "green") ?? "" }, "web: green");
    assert.equal((await postWebhook(hubs[2] as HubFixture)).status, 202);
    await waitFor(async () => (await pointer())?.revision === sha || undefined, { what: "the leader to publish the pushed commit", timeoutMs: 30_000 });
    const published = await pointer();
    assert.ok((published?.leaderTerm ?? 0n) >= 1n, "published under the leader's term");
    for (const hub of hubs) await waitFor(async () => (await bundlesOf(hub)).commit === sha || undefined, { what: "every replica to show the new head", timeoutMs: 15_000 });
  });

  it("a follower reads Git on demand for a promotion: the dry run shows the edit and the gates", async () => {
    const follower = hubs[1] as HubFixture;
    const dryRun = await api<{ dryRun?: boolean; diff?: { file: string; diff: string }[]; gates?: { passed: boolean; gates: { gate: string; passed: boolean; reason: string }[] } }>(follower.baseUrl, "POST", "/api/v1/promotions", {
      token: follower.adminToken,
      body: { pipeline: "site", from: "staging", to: "prod", dryRun: true },
    });
    assert.equal(dryRun.status, 200, JSON.stringify(dryRun.body));
    assert.equal(dryRun.body.dryRun, true);
    assert.deepEqual(dryRun.body.diff?.map((d) => d.file), ["apps/site/prod/config.yaml"]);
    assert.match(dryRun.body.diff?.[0]?.diff ?? "", /-\s+version: "1\.0\.0"\n\+\s+version: "1\.1\.0"/);
    // Gates read the live state every replica shares: staging has no cluster yet.
    assert.equal(dryRun.body.gates?.passed, false);
    assert.ok(dryRun.body.gates?.gates.some((g) => g.gate === "min-clusters" && !g.passed));
  });

  it("a leader cut off from NATS is not ready, refuses agents, and a follower takes over within the TTL and publishes", async () => {
    const termBefore = (await pointer())?.leaderTerm ?? 0n;
    const old = await waitFor(() => hubs.find((h) => h.hub.role === "leader"), { what: "a leader", timeoutMs: TTL_MS * 3 });
    const relay = relays[hubs.indexOf(old)];
    assert.ok(relay);
    const [b, c] = hubs.filter((h) => h !== old) as [HubFixture, HubFixture];
    const stream = openStream(agentClient(old), grpcToken);
    await stream.next("welcome", "the leader to welcome the agent before the cut");
    const cutAt = Date.now();
    await relay.cut();
    const closed = await stream.closed();
    assert.equal(closed?.code, GrpcStatus.UNAVAILABLE, "the agent is sent to another replica");
    const notReady = await waitFor(async () => ((await readyz(old)).status === 503 ? readyz(old) : undefined), { what: "the cut replica to report not ready", timeoutMs: 10_000 });
    assert.equal(notReady.body.checks["nats"], "disconnected");
    assert.equal(notReady.body.status, "not ready");
    const successor = await waitFor(() => [b, c].find((h) => h.hub.role === "leader"), { what: "a follower to take the lease over", timeoutMs: TTL_MS * 3 });
    const tookMs = Date.now() - cutAt;
    assert.ok(tookMs <= TTL_MS + 1_500, `the successor took over ${tookMs} ms after the cut (TTL ${TTL_MS} ms)`);
    assert.equal(old.hub.role, "follower", "the cut leader stepped down on its own");
    const refused = openStream(agentClient(old), grpcToken);
    assert.equal((await refused.closed())?.code, GrpcStatus.UNAVAILABLE, "new streams are refused while NATS is away");

    const other = successor === b ? c : b;
    const sha = await push({ "apps/web/config.yaml": seed["apps/web/config.yaml"]?.replace("blue", "red") ?? "" }, "web: red");
    assert.equal((await postWebhook(other)).status, 202);
    await waitFor(async () => (await pointer())?.revision === sha || undefined, { what: "the successor to publish the next commit", timeoutMs: 30_000 });
    assert.ok(((await pointer())?.leaderTerm ?? 0n) > termBefore, "published under the successor's newer term");
    await waitFor(async () => (await bundlesOf(other)).commit === sha || undefined, { what: "the other follower to follow the new leader's view", timeoutMs: 15_000 });

    // NATS back: the old leader rejoins as a follower and is ready again.
    await relay.restore();
    const back = await waitFor(async () => ((await readyz(old)).status === 200 ? readyz(old) : undefined), { what: "the old leader to be ready again", timeoutMs: 30_000 });
    assert.equal(back.body.role, "follower");
    assert.deepEqual(hubs.map((h) => h.hub.role).filter((r) => r === "leader"), ["leader"]);
    await waitFor(async () => (await bundlesOf(old)).commit === sha || undefined, { what: "the old leader to answer the new leader's view", timeoutMs: 15_000 });
  });
});
