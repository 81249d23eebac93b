// Scenario: agents report drift on their Connect streams and operators read it across the
// fleet: merged partial reports, stale clusters, every replica answering, and 500 clusters'
// statuses fed through the status bucket answered exactly, page by page.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { bucketNames, createStatusStore } from "@gitfleet/hub";
import { DriftMode, DriftState, HealthState, SyncState, timestampFromDate, type AgentService, type RegisterResponse, type ServiceClient } from "@gitfleet/proto";
import { Kvm } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { runGitfleet } from "../fleet/gitfleet-cli.js";
import { waitFor } from "../lab/process.js";
import { expectedDrift, fleetClusterRecord, fleetStatus, type DriftFleetShape } from "./drift-fleet.js";
import {
  agentClient,
  api,
  createToken,
  openStream,
  register,
  skipWithoutNats,
  startHub,
  startNatsFixture,
  type AgentStream,
  type HubFixture,
  type NatsFixture,
} from "./harness.js";

interface DriftAnswer {
  items: Array<{ cluster: string; bundle: string; resource: { kind: string; name: string }; state: string; fields: Array<Record<string, unknown>>; stale: boolean }>;
  totals: { clusters: number; clustersDrifted: number; objectsDrifted: number; clustersStale: number };
  continue: string | null;
}

const seen = timestampFromDate(new Date());
const deployment = (state: DriftState) => ({
  group: "apps", version: "v1", kind: "Deployment", namespace: "web", name: "web", sync: SyncState.SYNCED, health: HealthState.HEALTHY, driftState: state,
  drift: state === DriftState.DRIFTED ? [{ path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" }] : [],
  ...(state === DriftState.DRIFTED ? { driftFirstSeen: seen, driftLastSeen: seen } : {}),
});
const configMap = { version: "v1", kind: "ConfigMap", namespace: "platform", name: "settings", driftState: DriftState.MISSING, driftFirstSeen: seen };
const web = (state: DriftState) => ({
  name: "web", digest: "d-web", revision: "r1", healthRevision: "r1", sync: SyncState.SYNCED, health: HealthState.HEALTHY, driftMode: DriftMode.REPORT,
  resources: [deployment(state)], resourceCount: 1, driftedCount: state === DriftState.DRIFTED ? 1 : 0,
});
const platform = { name: "platform", digest: "d-platform", revision: "r1", resources: [configMap], resourceCount: 1, driftedCount: 1, missingCount: 1 };

void describe("drift reported on Connect streams", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let client: ServiceClient<typeof AgentService>;
  let cluster: RegisterResponse;
  let stream: AgentStream;
  const drift = (query: string, f: HubFixture = fixture, token: string | null = fixture.adminToken) =>
    api<DriftAnswer>(f.baseUrl, "GET", `/api/v1/drift${query}`, { token: token ?? undefined });

  void before(async () => {
    nats = await startNatsFixture();
    // Stale after three heartbeats: 6 s.
    fixture = await startHub(nats, { heartbeatIntervalSeconds: 2 });
    client = agentClient(fixture);
    const { secret } = await createToken(fixture, { labels: { region: "eu" }, maxUses: 2 });
    cluster = await register(client, secret, "edge-eu");
    stream = openStream(client, cluster.credentials?.grpcToken);
    await stream.next("welcome");
  });

  void after(async () => {
    stream?.call.end();
    client?.close();
    await fixture?.stop();
    await nats?.close();
  });

  void it("answers 401 to unauthenticated drift requests", async () => {
    assert.equal((await drift("", fixture, null)).status, 401);
    assert.equal((await api(fixture.baseUrl, "GET", "/api/v1/drift/summary?groupBy=cluster")).status, 401);
  });

  void it("shows each drifted field with its path, values and manager, and merges partial reports", async () => {
    stream.call.write({ kind: { case: "status", value: { observedRevision: "r1", reportedAt: seen, bundles: [web(DriftState.DRIFTED), platform] } } });
    const first = await waitFor(async () => {
      const res = await drift("?clusterSelector=region%3Deu");
      return res.body.totals.objectsDrifted === 2 ? res.body : undefined;
    }, { what: "the reported drift in the drift API", timeoutMs: 5_000 });
    assert.deepEqual(first.items.map((i) => [i.cluster, i.bundle, i.resource.kind, i.state]), [
      ["edge-eu", "platform", "ConfigMap", "missing"],
      ["edge-eu", "web", "Deployment", "drifted"],
    ]);
    assert.deepEqual(first.items[1]?.fields, [{ path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" }]);

    // A delta: web is back in sync; platform, not named, keeps its drift.
    stream.call.write({ kind: { case: "status", value: { observedRevision: "r2", partial: true, bundles: [web(DriftState.IN_SYNC)] } } });
    const merged = await waitFor(async () => {
      const res = await drift("");
      return res.body.totals.objectsDrifted === 1 ? res.body : undefined;
    }, { what: "the partial report merged into the drift API", timeoutMs: 5_000 });
    assert.deepEqual(merged.items.map((i) => i.resource.kind), ["ConfigMap"]);
    const detail = await api<{ observedRevision: string; bundles: Array<{ name: string; driftMode: string; resources: Array<{ drift: string }> }> }>(
      fixture.baseUrl, "GET", "/api/v1/clusters/edge-eu", { token: fixture.adminToken },
    );
    assert.equal(detail.body.observedRevision, "r2");
    assert.deepEqual(detail.body.bundles.map((b) => [b.name, b.driftMode, b.resources.map((r) => r.drift)]), [
      ["web", "report", ["in-sync"]],
      ["platform", "unspecified", ["missing"]],
    ]);
  });

  void it("is answered the same by another replica, from its own watch", async () => {
    const replica = await startHub(nats, {}, fixture.adminToken);
    try {
      const res = await waitFor(async () => {
        const answer = await drift("", replica);
        return answer.body.totals.objectsDrifted === 1 ? answer : undefined;
      }, { what: "the second replica's drift index", timeoutMs: 5_000 });
      assert.deepEqual(res.body.items.map((i) => [i.cluster, i.resource.name]), [["edge-eu", "settings"]]);
    } finally {
      await replica.stop();
    }
  });

  void it("asks for a whole status when a partial one comes with nothing to merge into", async () => {
    const { secret } = await createToken(fixture);
    const other = await register(client, secret, "edge-new");
    const second = openStream(client, other.credentials?.grpcToken);
    try {
      await second.next("welcome");
      second.call.write({ kind: { case: "status", value: { observedRevision: "r1", partial: true, bundles: [platform] } } });
      const resync = await second.next("resync", "a Resync asking for a whole status");
      assert.deepEqual([resync.reason, resync.bundles], ["status", []]);
      const detail = await api<{ bundles: unknown[] }>(fixture.baseUrl, "GET", "/api/v1/clusters/edge-new", { token: fixture.adminToken });
      assert.deepEqual(detail.body.bundles, [], "half a status is not stored");
    } finally {
      second.call.end();
    }
  });

  void it("makes a silent cluster stale: never in sync or healthy, its last drift kept", async () => {
    const stale = await waitFor(async () => {
      const res = await api<{ stale: boolean; bundles: Array<{ sync: string; health: string; lastReported?: unknown }> }>(
        fixture.baseUrl, "GET", "/api/v1/clusters/edge-eu", { token: fixture.adminToken },
      );
      return res.body.stale ? res.body : undefined;
    }, { what: "edge-eu to become stale after three silent heartbeat intervals", timeoutMs: 15_000, intervalMs: 250 });
    assert.deepEqual(stale.bundles[0], { ...stale.bundles[0], sync: "unknown", health: "unknown", lastReported: { sync: "synced", health: "healthy" } });
    const res = await drift("?clusterSelector=region%3Deu");
    assert.equal(res.body.totals.clustersStale, 1);
    assert.equal(res.body.items[0]?.stale, true);
  });
});

void describe("drift of 500 clusters fed through the status bucket", { skip: skipWithoutNats }, () => {
  const shape: DriftFleetShape = { clusters: 500, bundles: 20, objects: 10, driftEvery: 100, staleEvery: 100 };
  let nats: NatsFixture;
  let fixture: HubFixture;
  let admin: NatsConnection;

  void before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats);
    admin = await connect({ servers: nats.lab.url, authenticator: credsAuthenticator(new TextEncoder().encode(nats.adminCreds)) });
    const kvm = new Kvm(admin);
    const clusters = await kvm.open(bucketNames.clusters);
    const now = new Date();
    await Promise.all(Array.from({ length: shape.clusters }, (_, i) => clusters.put(fleetClusterRecord(shape, i, now).id, JSON.stringify(fleetClusterRecord(shape, i, now)))));
    // Written as another replica would: the hub sees them through its watch only.
    const writer = createStatusStore({ kv: await kvm.open(bucketNames.status), logger: pino({ level: "silent" }) });
    await Promise.all(Array.from({ length: shape.clusters }, (_, i) => writer.put(fleetClusterRecord(shape, i, now).id, fleetStatus(shape, i, now))));
    await writer.stop();
  });

  void after(async () => {
    await admin?.close();
    await fixture?.stop();
    await nats?.close();
  });

  void it("lists every drifted object once, in order, with exact totals, page by page", async () => {
    const expected = expectedDrift(shape, (labels) => labels["region"] === "eu");
    const all = expectedDrift(shape, () => true);
    await waitFor(async () => (await api<DriftAnswer>(fixture.baseUrl, "GET", "/api/v1/drift?limit=1", { token: fixture.adminToken })).body.totals.objectsDrifted === all.length, {
      what: `all ${all.length} drifted objects in the hub's index`,
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const listed: string[] = [];
    let token: string | null = null;
    do {
      const query = `?clusterSelector=region%3Deu&limit=97${token ? `&continue=${token}` : ""}`;
      const page: DriftAnswer = (await api<DriftAnswer>(fixture.baseUrl, "GET", `/api/v1/drift${query}`, { token: fixture.adminToken })).body;
      assert.deepEqual(page.totals, { clusters: 167, clustersDrifted: 167, objectsDrifted: expected.length, clustersStale: 2 });
      listed.push(...page.items.map((i) => `${i.cluster}/${i.bundle}/${i.resource.kind}/${i.resource.name} ${i.state}`));
      token = page.continue;
    } while (token);
    assert.deepEqual(listed, expected);
  });

  void it("counts them per bundle and state", async () => {
    const res = await api<{ groups: Array<{ key: string; objects: number; drifted: number; missing: number; conflict: number }> }>(
      fixture.baseUrl, "GET", "/api/v1/drift/summary?groupBy=bundle", { token: fixture.adminToken },
    );
    const expected = new Map<string, { key: string; objects: number; drifted: number; missing: number; conflict: number }>();
    for (const entry of expectedDrift(shape, () => true)) {
      const [path = "", state = ""] = entry.split(" ");
      const key = path.split("/")[1] ?? "";
      const group = expected.get(key) ?? { key, objects: 0, drifted: 0, missing: 0, conflict: 0 };
      group.objects++;
      group[state as "drifted" | "missing" | "conflict"]++;
      expected.set(key, group);
    }
    assert.equal(expected.size, 20, "the fleet drifts in every bundle");
    assert.deepEqual(
      res.body.groups.map(({ key, objects, drifted, missing, conflict }) => ({ key, objects, drifted, missing, conflict })),
      [...expected.values()].sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
  });

  void it("are all printed by gitfleet drift, which follows every page", async () => {
    const hub = { hubUrl: fixture.baseUrl, adminToken: fixture.adminToken };
    const listed = await runGitfleet(hub, "drift", "-o", "json");
    assert.equal(listed.code, 0, listed.stderr);
    const answer = JSON.parse(listed.stdout) as { items: DriftAnswer["items"]; totals: DriftAnswer["totals"] };
    const all = expectedDrift(shape, () => true);
    assert.ok(all.length > 500, "more than the hub's default page");
    assert.deepEqual(answer.items.map((i) => `${i.cluster}/${i.bundle}/${i.resource.kind}/${i.resource.name} ${i.state}`), all);
    assert.equal(answer.totals.clustersStale, 5);

    const summary = await runGitfleet(hub, "drift", "summary", "--by", "kind", "--selector", "region=eu", "--state", "conflict");
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stdout, /^KIND\s+CLUSTERS\s+OBJECTS\s+DRIFTED\s+MISSING\s+CONFLICT\n/);
    const conflicts = expectedDrift(shape, (labels) => labels["region"] === "eu").filter((e) => e.endsWith(" conflict")).length;
    assert.match(summary.stdout, new RegExp(`\\n${conflicts} objects drifted in \\d+ of 167 clusters; 2 stale`));
  });
});
