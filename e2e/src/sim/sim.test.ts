// The fleet simulator end to end, so that it cannot rot: 50 simulated clusters in 2 worker
// processes against a real hub, NATS and Git server of the lab. They register with a token,
// converge to the head commit, follow a new commit, and the drivers (drift, failing health,
// disconnect waves, silence) show in the hub's API as they would for real agents.
import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { startFleet, type Fleet } from "../fleet/fleet.js";
import { waitFor } from "../lab/process.js";
import { skipUnlessTool } from "../lab/skip.js";
import { startSimFleet, type SimFleet } from "./index.js";

const fixture = fileURLToPath(new URL("../../fixtures/sim-fleet", import.meta.url));
const CLUSTERS = 50;

interface ClusterRow {
  name: string;
  connected: boolean;
  stale: boolean;
  observedRevision?: string;
  bundles?: { name: string; sync: string; health: string; revision: string; drifted: number }[];
}

const skip = skipUnlessTool(process.env["GITFLEET_NATS_SERVER_BIN"] ? false : "GITFLEET_NATS_SERVER_BIN is not set (run through `npm test`)");

void describe("the fleet simulator: 50 simulated clusters on the real hub, NATS and Git server", { timeout: 240_000, skip }, () => {
  let seed: string;
  let fleet: Fleet;
  let sim: SimFleet;
  let head: string;

  const rows = async (): Promise<Map<string, ClusterRow>> => {
    const page = await fleet.api.get<{ items: ClusterRow[] }>("/clusters?bundles=true&limit=500");
    return new Map(page.items.filter((c) => c.name.startsWith("sim-")).map((c) => [c.name, c]));
  };
  const everyCluster = async (what: string, check: (row: ClusterRow) => boolean, timeoutMs = 60_000): Promise<void> => {
    await waitFor(
      async () => {
        const all = await rows();
        return all.size === CLUSTERS && [...all.values()].every(check);
      },
      { what: `every simulated cluster ${what} in the hub's API`, timeoutMs, intervalMs: 500 },
    );
  };

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-sim-seed-"));
    await cp(fixture, seed, { recursive: true });
    // No kube-apiserver at all: the simulated clusters bring their own in-memory stores.
    fleet = await startFleet({ clusters: [], seed, logLevel: "warn", hub: { heartbeatIntervalSeconds: 2 } });
    head = await fleet.head();
  });

  after(async () => {
    await sim?.stop();
    await fleet?.stop();
    await rm(seed, { recursive: true, force: true });
  });

  test("50 clusters register with one token, connect, and converge to the head commit", async () => {
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: CLUSTERS, labels: { fleet: "sim" } });
    sim = await startSimFleet({
      grpcAddress: fleet.grpcAddress,
      caPem: fleet.tls.certPem,
      registrationToken: token.secret,
      clusters: CLUSTERS,
      processes: 2,
      workerStderr: "inherit",
    });
    await sim.waitFor((f) => f.registered() === CLUSTERS && f.connected() === CLUSTERS, 90_000, "every cluster registered and connected");
    await sim.waitFor((f) => f.firstReported(head).size === CLUSTERS, 60_000, `every cluster reporting ${head.slice(0, 12)}`);
    assert.deepEqual(sim.errors(), new Map(), "no simulated cluster failed to start");
    assert.equal(sim.registrations().size, CLUSTERS, "every registration is timed");
    for (const [name, timing] of sim.registrations()) assert.ok(timing.registeredAt >= timing.startedAt, `${name}: registered after it started`);
    await everyCluster("connected, synced and healthy at the head commit", (c) => {
      const app = c.bundles?.find((b) => b.name === "app");
      return c.connected && c.observedRevision === head && app?.sync === "synced" && app.health === "healthy";
    });
    const stats = await sim.stats();
    assert.equal(stats.length, 2);
    assert.equal(stats.reduce((n, s) => n + s.clusters, 0), CLUSTERS, "the clusters are spread over both processes");
  });

  test("a commit that changes every cluster's desired state is reported by every cluster", async () => {
    const pushedAt = Date.now();
    const sha = await fleet.commit({ "app/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n  cluster: ${cluster_name}\n  release: \"2\"\n" }, "app: release 2");
    assert.equal((await fleet.webhook()).status, 202);
    await sim.waitFor((f) => f.firstReported(sha).size === CLUSTERS, 60_000, `every cluster reporting ${sha.slice(0, 12)}`);
    for (const [name, at] of sim.firstReported(sha)) assert.ok(at >= pushedAt, `${name} reported the new commit after it was pushed`);
    assert.ok([...sim.revisions().values()].every((r) => r === sha), "the newest revision of every cluster is the new commit");
    await everyCluster("synced at the new commit", (c) => c.observedRevision === sha && c.bundles?.find((b) => b.name === "app")?.sync === "synced");
    head = sha;
  });

  test("drift of a tenth of the clusters shows in the hub's drift API", async () => {
    const drifted = await sim.drift(0.1);
    assert.equal(drifted.length, CLUSTERS / 10);
    const answer = await waitFor(
      async () => {
        const res = await fleet.api.get<{ items: { cluster: string; state: string; fields: { manager: string }[] }[]; totals: { clustersDrifted: number } }>("/drift?limit=500");
        return res.totals.clustersDrifted === drifted.length ? res : undefined;
      },
      { what: `${drifted.length} drifted clusters in GET /drift`, timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.deepEqual([...new Set(answer.items.map((i) => i.cluster))].sort(), [...drifted].sort());
    assert.ok(answer.items.every((i) => i.state === "drifted" && i.fields.some((f) => f.manager === "kubectl-edit")), "drift is attributed to the editing field manager");
  });

  test("failing health on some clusters shows as degraded; restoring it heals them", async () => {
    const failed = new Set(await sim.failHealth(0.1));
    assert.equal(failed.size, CLUSTERS / 10);
    await everyCluster("healthy or, where health failed, degraded", (c) => {
      const health = c.bundles?.find((b) => b.name === "app")?.health;
      return failed.has(c.name) ? health === "degraded" : health === "healthy";
    });
    await sim.restoreHealth();
    await everyCluster("healthy again", (c) => c.bundles?.find((b) => b.name === "app")?.health === "healthy");
  });

  test("a disconnect wave drops a share of the streams, and every cluster comes back", async () => {
    const wave = await sim.disconnectWave(0.3, 1_500);
    assert.equal(wave.length, 15);
    assert.ok(sim.connected() <= CLUSTERS, "counts stay bounded");
    await sim.waitFor((f) => f.connected() < CLUSTERS, 10_000, "the wave to take streams down");
    await sim.waitFor((f) => f.connected() === CLUSTERS, 60_000, "every stream back after the wave");
    await everyCluster("connected after the wave", (c) => c.connected && c.observedRevision === head);
    assert.equal(sim.registrations().size, CLUSTERS, "reconnecting clusters kept their identity and did not register again");
  });

  test("clusters that stop answering go stale in the hub, and recover when they answer again", async () => {
    const silent = new Set(await sim.stopAnswering(0.1));
    assert.equal(silent.size, CLUSTERS / 10);
    // Three heartbeats of 2 s without a word.
    await everyCluster("stale where silent, connected elsewhere", (c) => (silent.has(c.name) ? c.stale : c.connected), 45_000);
    await sim.resumeAnswering();
    await everyCluster("connected again", (c) => c.connected, 60_000);
  });

  test("stop ends every worker process", async () => {
    const pids = (await sim.stats()).map((s) => s.pid);
    await sim.stop();
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone`);
    }
  });
});
