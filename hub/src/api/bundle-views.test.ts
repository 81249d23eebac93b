import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { HealthState, SyncState } from "@gitfleet/proto";
import type { BundleError, FleetBundle } from "../delivery-contract.js";
import type { IndexedBundle } from "../drift/index.js";
import { bundleDetail, bundleSummary, type BundleViewSources } from "./bundle-views.js";

const web: FleetBundle = {
  name: "web",
  path: "apps/web",
  namespace: "web",
  drift: "correct",
  prune: true,
  ignore: [],
  targets: [
    {
      name: "eu",
      clusterSelector: "region=eu",
      overlay: "apps/web/eu",
      variables: { replicas: "3" },
      clusters: [
        { clusterId: "c-eu-2", desiredDigest: "d-eu" },
        { clusterId: "c-eu-1", desiredDigest: "d-eu" },
        { clusterId: "c-gone", desiredDigest: "d-eu" },
      ],
    },
    { name: "us", clusterSelector: "region=us", overlay: "apps/web/us", variables: {}, clusters: [{ clusterId: "c-us-1" }, { clusterId: "c-us-2", desiredDigest: "d-us" }] },
  ],
};

const names: Record<string, string> = { "c-eu-1": "eu-1", "c-eu-2": "eu-2", "c-us-1": "us-1", "c-us-2": "us-2" };

function report(digest: string, sync: SyncState): IndexedBundle {
  return { name: "web", digest, revision: "abc", sync, health: HealthState.HEALTHY, healthRevision: "abc", message: "", drifted: 0 };
}

const reports: Record<string, IndexedBundle> = {
  "c-eu-1": report("d-eu", SyncState.SYNCED),
  "c-eu-2": report("d-old", SyncState.SYNCED),
  "c-us-1": report("d-us-old", SyncState.SYNCED),
};

const errors: Record<string, BundleError[]> = {
  "c-us-1": [{ bundle: "web", target: "us", path: "apps/web/us", commit: "abc", message: "broken" }, { bundle: "platform", message: "other bundle" }],
};

const sources: BundleViewSources = {
  clusterName: (id) => names[id],
  bundle: (id, name) => (name === "web" ? reports[id] : undefined),
  stale: () => false,
  errors: (id) => errors[id] ?? [],
};

void describe("bundle views", () => {
  void test("a summary lists targets with the names of their clusters and counts clusters by state", () => {
    const summary = bundleSummary(web, sources);
    assert.deepEqual(
      summary.targets.map((t) => [t.name, t.clusterSelector, t.overlay, t.clusters]),
      [
        ["eu", "region=eu", "apps/web/eu", ["eu-1", "eu-2"]],
        ["us", "region=us", "apps/web/us", ["us-1", "us-2"]],
      ],
    );
    assert.equal(summary.clusterCount, 4, "a deleted cluster is left out");
    assert.deepEqual(summary.states, { synced: 1, pending: 2, error: 1 });
  });

  void test("the detail shows per cluster its target, desired and applied digests, state and this bundle's errors", () => {
    const detail = bundleDetail(web, "abc", sources);
    assert.equal(detail.commit, "abc");
    assert.deepEqual(
      detail.clusters.map((c) => [c.name, c.target, c.state, c.desiredDigest, c.digest]),
      [
        ["eu-1", "eu", "synced", "d-eu", "d-eu"],
        ["eu-2", "eu", "pending", "d-eu", "d-old"],
        ["us-1", "us", "error", undefined, "d-us-old"],
        ["us-2", "us", "pending", "d-us", undefined],
      ],
    );
    assert.deepEqual(detail.clusters[2]?.errors, [{ bundle: "web", target: "us", path: "apps/web/us", commit: "abc", message: "broken" }]);
    assert.equal(detail.clusters[0]?.health, "healthy");
  });

  void test("a stale cluster is never shown synced or healthy: its state is stale, with what it last reported", () => {
    const detail = bundleDetail(web, "abc", { ...sources, stale: (id) => id === "c-eu-1" });
    const eu1 = detail.clusters.find((c) => c.name === "eu-1");
    assert.equal(eu1?.state, "stale");
    assert.equal(eu1?.sync, "unknown");
    assert.equal(eu1?.health, "unknown");
    assert.deepEqual(eu1?.lastReported, { sync: "synced", health: "healthy" });
    assert.deepEqual(bundleSummary(web, { ...sources, stale: (id) => id === "c-eu-1" }).states, { stale: 1, pending: 2, error: 1 });
  });
});
