// Drift and health over time, end to end on the lab: a quiet fleet of workloads that must show no
// drift, a rollout whose pods fail, an agent restart that neither loses nor repeats anything, and
// an agent that stops talking, as a user sees them through the hub's API.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { Agent } from "@gitfleet/agent";
import type { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeConfigFor, mergePatchAs, readObject } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { failAnnotation } from "../lab/workloads.js";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { configMap, manifestsYaml, namespace, writeSeed, type Manifest } from "../fleet/fleet-seed.js";
import { quietWorkloads } from "../fleet/quiet-workloads.js";
import { clusterDetail, driftOf, eventsOf, waitForDrift, waitForEvents, type BundleStateView, type ClusterDetailView } from "../fleet/drift-views.js";

const cluster = "health-us";
const labels = { region: "us" };
// Stale after three heartbeats: 6 s.
const heartbeatIntervalSeconds = 2;
// How long controllers work on the quiet fleet before drift is read; GITFLEET_E2E_QUIET_MS=600000
// runs the ten minutes the issue asks for.
const quietMs = Number(process.env["GITFLEET_E2E_QUIET_MS"] ?? 20_000);

const failingDeployment: Manifest = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "failing" },
  spec: {
    replicas: 1,
    progressDeadlineSeconds: 10,
    selector: { matchLabels: { app: "failing" } },
    template: {
      metadata: { labels: { app: "failing" }, annotations: { [failAnnotation]: "true" } },
      spec: { containers: [{ name: "web", image: "registry.example/web:broken" }] },
    },
  },
};

type BundleSpec = { name: string; drift?: "report"; objects: Manifest[] };
const seedBundles: BundleSpec[] = [
  { name: "quiet", drift: "report", objects: quietWorkloads() },
  { name: "kept", drift: "report", objects: [configMap("kept", { mode: "a" })] },
  { name: "steady", objects: [configMap("steady", { mode: "a" })] },
];

function fleetYaml(specs: readonly BundleSpec[]): string {
  return stringify({
    apiVersion: "gitfleet.dev/v1",
    kind: "Fleet",
    bundles: specs.map((b) => ({ name: b.name, path: b.name, namespace: b.name, clusterSelector: {}, ...(b.drift ? { drift: b.drift } : {}) })),
  });
}

function files(specs: readonly BundleSpec[]): Record<string, string> {
  const out: Record<string, string> = { "fleet.yaml": fleetYaml(specs) };
  for (const b of specs) out[`${b.name}/objects.yaml`] = manifestsYaml(namespace(b.name), ...b.objects);
  return out;
}

describe("drift and health over time", { timeout: 600_000 + quietMs }, () => {
  let fleet: Fleet;
  let seed: string;
  let kc: KubeConfig;
  let agent: Agent;

  const bundleOf = (detail: ClusterDetailView, name: string): BundleStateView | undefined => detail.bundles.find((b) => b.name === name);
  const waitForBundle = async (what: string, name: string, check: (b: BundleStateView) => boolean, timeoutMs: number): Promise<BundleStateView> => {
    let last: BundleStateView | undefined;
    try {
      return await waitFor(
        async () => {
          last = bundleOf(await clusterDetail(fleet.api, cluster), name);
          return last && check(last) ? last : undefined;
        },
        { what, timeoutMs, intervalMs: 250 },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
    }
  };

  before(async () => {
    seed = await writeSeed(files(seedBundles));
    fleet = await startFleet({ clusters: [cluster], seed, webhookOnPush: true, hub: { heartbeatIntervalSeconds } });
    kc = kubeConfigFor(fleet.cluster(cluster));
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1, labels });
    agent = await fleet.startAgent(cluster, { token: token.secret, labels });
    await waitForSynced(fleet.api, cluster, await fleet.head(), { timeoutMs: 120_000 });
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  describe("workloads", { concurrency: true }, () => {
    test("a quiet fleet of Deployments, Services, Jobs and a CRD with defaults shows no drift", async () => {
      // Health at the revision the bundle runs (other stories commit meanwhile, so not the head).
      await waitForBundle("the quiet bundle healthy (Deployment available, Job complete)", "quiet", (b) => b.health === "healthy" && b.healthRevision === b.revision, 180_000);
      // Controllers keep writing status, defaults and annotations meanwhile.
      await new Promise((r) => setTimeout(r, quietMs));
      const answer = await driftOf(fleet.api, { bundle: "quiet" });
      assert.deepEqual(answer.items, [], "no drifted object");
      assert.equal(answer.totals.objectsDrifted, 0);
      const quiet = bundleOf(await clusterDetail(fleet.api, cluster), "quiet");
      assert.deepEqual([quiet?.driftedCount, quiet?.missingCount, quiet?.conflictCount], [0, 0, 0]);
      assert.ok((quiet?.resources ?? []).every((r) => r.drift === "in-sync"), JSON.stringify(quiet?.resources.map((r) => [r.resource.kind, r.drift])));
      assert.deepEqual(await eventsOf(fleet.api, { bundle: "quiet", type: "drift-detected,drift-corrected,conflict" }), []);
    });

    test("a Deployment whose pods fail makes its bundle degraded at that revision, with an event", async () => {
      const revision = await fleet.commit(
        files([...seedBundles, { name: "failing", objects: [failingDeployment] }]),
        "failing: a Deployment whose pods never get ready",
      );
      const failing = await waitForBundle("the failing bundle degraded at the new revision", "failing", (b) => b.health === "degraded", 180_000);
      assert.equal(failing.healthRevision, revision, "the health is that of the commit");
      assert.equal(failing.sync, "synced");
      const events = await waitForEvents(fleet.api, { type: "health-degraded", bundle: "failing" }, "a health-degraded event", (e) => e.length >= 1);
      assert.equal(events[0]?.cluster.name, cluster);
      assert.equal(events[0]?.revision, revision);
    });
  });

  test("an agent restart recomputes drift, losing nothing and reporting nothing twice", async () => {
    await mergePatchAs(kc, configMap("kept", { mode: "b" }, "kept"), "kubectl-edit");
    await mergePatchAs(kc, configMap("steady", { mode: "b" }, "steady"), "kubectl-edit");
    const [drifted] = (await waitForDrift(fleet.api, { bundle: "kept" }, "the kept ConfigMap drifted", (a) => a.items.length === 1)).items;
    await waitForEvents(fleet.api, { bundle: "steady", type: "drift-corrected" }, "the steady ConfigMap corrected", (e) => e.length === 1);
    await waitForEvents(fleet.api, { bundle: "kept", type: "drift-detected" }, "drift-detected for kept", (e) => e.length === 1);
    const before = await eventsOf(fleet.api, { type: "drift-detected,drift-corrected,conflict" });

    await agent.stop();
    const restartedAt = Date.now();
    agent = await fleet.startAgent(cluster, { labels });
    // The restarted agent compares the objects anew and reports what it finds.
    const [again] = (
      await waitForDrift(fleet.api, { bundle: "kept" }, "the drift recomputed after the restart", (a) => Date.parse(a.items[0]?.lastSeen ?? "") >= restartedAt, 30_000)
    ).items;
    assert.deepEqual(again?.fields, drifted?.fields, "the same drift");
    assert.equal(again?.firstSeen, drifted?.firstSeen, "first seen before the restart");
    assert.equal((await readObject<Manifest & { data: Record<string, string> }>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept", namespace: "kept" } }))?.data["mode"], "b", "a report-mode object is not re-applied by a restart");
    await waitForSynced(fleet.api, cluster, await fleet.head());
    // Give the restarted agent's reports time to become events, if they were to.
    await new Promise((r) => setTimeout(r, 3_000));
    const afterRestart = await eventsOf(fleet.api, { type: "drift-detected,drift-corrected,conflict" });
    assert.deepEqual(afterRestart.map((e) => e.id), before.map((e) => e.id), "no event lost or repeated");
    assert.deepEqual((await driftOf(fleet.api, { bundle: "steady" })).items, [], "the corrected object stays in sync");
  });

  test("a stopped agent makes its cluster stale, never in sync, until it is back", async () => {
    await agent.stop();
    const stopped = Date.now();
    const detail = await waitFor(
      async () => {
        const d = await clusterDetail(fleet.api, cluster);
        return d.stale ? d : undefined;
      },
      { what: `${cluster} stale`, timeoutMs: 5 * heartbeatIntervalSeconds * 1000 },
    );
    assert.ok(Date.now() - stopped >= heartbeatIntervalSeconds * 1000, "not stale before it missed heartbeats");
    assert.ok(detail.bundles.every((b) => b.sync === "unknown" && b.health === "unknown"), JSON.stringify(detail.bundles.map((b) => [b.name, b.sync, b.health])));
    const drift = await driftOf(fleet.api, {});
    assert.equal(drift.totals.clustersStale, 1);
    assert.ok(drift.items.every((i) => i.stale), "its last reported drift is marked stale");
    await waitForEvents(fleet.api, { type: "cluster-stale", cluster }, "a cluster-stale event", (e) => e.length === 1);

    agent = await fleet.startAgent(cluster, { labels });
    await waitFor(async () => !(await clusterDetail(fleet.api, cluster)).stale || undefined, { what: `${cluster} back`, timeoutMs: 30_000 });
    await waitForEvents(fleet.api, { type: "cluster-back", cluster }, "a cluster-back event", (e) => e.length === 1);
    await waitForSynced(fleet.api, cluster, await fleet.head());
  });
});
