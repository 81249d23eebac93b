import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { DriftState } from "@gitfleet/proto";
import { parseSelector } from "../labels/selector.js";
import { testBundle, testReport, testResource } from "../test-support/status-reports.js";
import { decodeCursor } from "./cursor.js";
import { createDriftIndex, type DriftIndex } from "./drift-index.js";
import type { DriftItem } from "./query.js";

const now = new Date("2026-05-01T12:00:00Z");
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const seen = (m: number) => minutesAgo(m).toISOString();

/** Three clusters heard from a minute ago and one stale; eu-1 and us-1 have drift, eu-2 none. */
function fleet(): DriftIndex {
  const index = createDriftIndex({ staleAfterMs: 45_000 * 60, now: () => now });
  index.putCluster({ id: "c-us-1", name: "us-1", labels: { region: "us" }, lastSeen: seen(1) });
  index.putCluster({ id: "c-eu-2", name: "eu-2", labels: { region: "eu" }, lastSeen: seen(1) });
  index.putCluster({ id: "c-eu-1", name: "eu-1", labels: { region: "eu" }, lastSeen: seen(1) });
  index.putCluster({ id: "c-ap-1", name: "ap-1", labels: { region: "ap" }, lastSeen: seen(60) });
  index.putStatus(
    "c-eu-1",
    testReport([
      testBundle("web", [
        testResource({ kind: "Service", name: "web", namespace: "web" }),
        testResource({ kind: "Deployment", name: "web", namespace: "web", state: DriftState.DRIFTED, firstSeen: minutesAgo(30),
          fields: [["/spec/replicas", "3", "5", "kubectl-edit"], ["/spec/template/spec/containers/0/image", '"web:1"', '"web:2"', "kubectl-edit"]] }),
        testResource({ kind: "ConfigMap", name: "web", namespace: "web", state: DriftState.MISSING, firstSeen: minutesAgo(5) }),
      ]),
      testBundle("platform", [
        testResource({ kind: "Deployment", name: "agent", namespace: "kube-system", state: DriftState.CONFLICT, firstSeen: minutesAgo(90),
          fields: [["/spec/replicas", "1", "4", "hpa-controller"]] }),
      ]),
    ]),
  );
  index.putStatus("c-eu-2", testReport([testBundle("web", [testResource({ kind: "Deployment", name: "web", namespace: "web" })])]));
  index.putStatus(
    "c-us-1",
    testReport([
      testBundle("web", [
        testResource({ kind: "Deployment", name: "web", namespace: "web", state: DriftState.DRIFTED, firstSeen: minutesAgo(2),
          fields: [["/spec/replicas", "3", "1", "kubectl-client-side-apply"]] }),
      ]),
    ]),
  );
  index.putStatus(
    "c-ap-1",
    testReport([testBundle("web", [testResource({ kind: "Deployment", name: "web", namespace: "web", state: DriftState.DRIFTED, fields: [["/spec/replicas", "3", "2", "kubectl"]] })])]),
  );
  return index;
}

const refs = (items: DriftItem[]) => items.map((i) => `${i.cluster}/${i.bundle}/${i.resource.kind}/${i.resource.name}`);

void describe("the drift index", () => {
  void test("lists every drifted object in a stable order, with its fields, and counts the whole result", () => {
    const page = fleet().query({}, { limit: 100 });
    assert.deepEqual(refs(page.items), [
      "ap-1/web/Deployment/web",
      "eu-1/platform/Deployment/agent",
      "eu-1/web/ConfigMap/web",
      "eu-1/web/Deployment/web",
      "us-1/web/Deployment/web",
    ]);
    assert.deepEqual(page.totals, { clusters: 4, clustersDrifted: 3, objectsDrifted: 5, clustersStale: 1 });
    assert.equal(page.continue, undefined);
    const web = page.items[3];
    assert.deepEqual(web?.resource, { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "web" });
    assert.deepEqual(web?.fields.map((f) => [f.path, f.desired, f.live, f.manager]), [
      ["/spec/replicas", "3", "5", "kubectl-edit"],
      ["/spec/template/spec/containers/0/image", '"web:1"', '"web:2"', "kubectl-edit"],
    ]);
    assert.equal(web?.firstSeen, minutesAgo(30).toISOString());
    assert.equal(web?.revision, "rev-1");
    assert.equal(web?.state, "drifted");
    assert.equal(page.items[0]?.stale, true, "a stale cluster's drift is listed as what it last reported");
    assert.equal(web?.stale, false);
  });

  void test("filters by cluster selector, bundle, kind (any case), namespace, name, state, manager and since", () => {
    const index = fleet();
    const find = (filter: Parameters<DriftIndex["query"]>[0]) => refs(index.query(filter, { limit: 100 }).items);
    assert.deepEqual(find({ selector: parseSelector("region=eu") }), ["eu-1/platform/Deployment/agent", "eu-1/web/ConfigMap/web", "eu-1/web/Deployment/web"]);
    assert.deepEqual(find({ bundle: "platform" }), ["eu-1/platform/Deployment/agent"]);
    assert.deepEqual(find({ kind: "configmap" }), ["eu-1/web/ConfigMap/web"]);
    assert.deepEqual(find({ namespace: "kube-system" }), ["eu-1/platform/Deployment/agent"]);
    assert.deepEqual(find({ name: "agent" }), ["eu-1/platform/Deployment/agent"]);
    assert.deepEqual(find({ states: new Set(["missing", "conflict"]) }), ["eu-1/platform/Deployment/agent", "eu-1/web/ConfigMap/web"]);
    assert.deepEqual(find({ manager: "kubectl-edit" }), ["eu-1/web/Deployment/web"]);
    assert.deepEqual(find({ sinceMs: minutesAgo(10).getTime() }), ["eu-1/web/ConfigMap/web", "us-1/web/Deployment/web"]);
    const totals = index.query({ selector: parseSelector("region=eu"), kind: "Deployment" }, { limit: 100 }).totals;
    assert.deepEqual(totals, { clusters: 2, clustersDrifted: 1, objectsDrifted: 2, clustersStale: 0 });
  });

  void test("pages with a cursor that resumes after the last item, however the fleet changed in between", () => {
    const index = fleet();
    const first = index.query({}, { limit: 2 });
    assert.deepEqual(refs(first.items), ["ap-1/web/Deployment/web", "eu-1/platform/Deployment/agent"]);
    assert.equal(first.totals.objectsDrifted, 5, "totals count every page");
    assert.ok(first.continue);
    // A cluster sorting before the cursor appears: the next page neither repeats nor skips.
    index.putCluster({ id: "c-aa", name: "aa", labels: {}, lastSeen: seen(1) });
    index.putStatus("c-aa", testReport([testBundle("web", [testResource({ kind: "Secret", name: "s", state: DriftState.DRIFTED })])]));
    const second = index.query({}, { limit: 2, after: decodeCursor(first.continue) });
    assert.deepEqual(refs(second.items), ["eu-1/web/ConfigMap/web", "eu-1/web/Deployment/web"]);
    assert.ok(second.continue);
    const last = index.query({}, { limit: 2, after: decodeCursor(second.continue) });
    assert.deepEqual(refs(last.items), ["us-1/web/Deployment/web"]);
    assert.equal(last.continue, undefined);
    assert.equal(last.totals.objectsDrifted, 6);
  });

  void test("a page exactly as long as the rest has no cursor", () => {
    const page = fleet().query({}, { limit: 5 });
    assert.equal(page.items.length, 5);
    assert.equal(page.continue, undefined);
  });

  void test("replaces a cluster's drift on each status, forgets it on deletion, and follows renames and label changes", () => {
    const index = fleet();
    index.putStatus("c-eu-1", testReport([testBundle("web", [])]));
    assert.equal(index.stats().objects, 2);
    index.putCluster({ id: "c-us-1", name: "zz-1", labels: { region: "eu" }, lastSeen: seen(1) });
    assert.deepEqual(refs(index.query({ selector: parseSelector("region=eu") }, { limit: 10 }).items), ["zz-1/web/Deployment/web"]);
    index.removeCluster("c-us-1");
    index.putStatus("c-ap-1", undefined);
    assert.deepEqual(index.query({}, { limit: 10 }).totals, { clusters: 3, clustersDrifted: 0, objectsDrifted: 0, clustersStale: 1 });
  });

  void test("summarizes drift per cluster, bundle, kind and manager", () => {
    const index = fleet();
    assert.deepEqual(index.summary({}, "cluster").groups, [
      { key: "ap-1", clusters: 1, objects: 1, drifted: 1, missing: 0, conflict: 0 },
      { key: "eu-1", clusters: 1, objects: 3, drifted: 1, missing: 1, conflict: 1 },
      { key: "us-1", clusters: 1, objects: 1, drifted: 1, missing: 0, conflict: 0 },
    ]);
    assert.deepEqual(index.summary({}, "bundle").groups.map((g) => [g.key, g.clusters, g.objects]), [["platform", 1, 1], ["web", 3, 4]]);
    assert.deepEqual(index.summary({}, "kind").groups.map((g) => [g.key, g.objects]), [["ConfigMap", 1], ["Deployment", 4]]);
    assert.deepEqual(index.summary({ selector: parseSelector("region in (eu,us)") }, "manager").groups.map((g) => [g.key, g.objects]), [
      ["", 1],
      ["hpa-controller", 1],
      ["kubectl-client-side-apply", 1],
      ["kubectl-edit", 1],
    ]);
    assert.deepEqual(index.summary({}, "cluster").totals, { clusters: 4, clustersDrifted: 3, objectsDrifted: 5, clustersStale: 1 });
  });

  void test("tells stale clusters: never heard from, or silent for longer than the limit", () => {
    const index = fleet();
    index.putCluster({ id: "c-new", name: "new", labels: {}, lastSeen: null });
    assert.equal(index.isStale("c-eu-1"), false);
    assert.equal(index.isStale("c-ap-1"), true);
    assert.equal(index.isStale("c-new"), true);
    assert.equal(index.isStale("c-unknown"), true);
    index.putCluster({ id: "c-ap-1", name: "ap-1", labels: { region: "ap" }, lastSeen: seen(0) });
    assert.equal(index.isStale("c-ap-1"), false, "a heartbeat makes it fresh again");
  });

  void test("keeps each bundle's last reported state", () => {
    const bundle = fleet().bundle("c-eu-1", "platform");
    assert.equal(bundle?.digest, "digest-platform");
    assert.equal(bundle?.revision, "rev-1");
    assert.equal(fleet().bundle("c-eu-1", "nope"), undefined);
  });
});
