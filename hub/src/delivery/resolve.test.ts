import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { BundlePayloadSchema, DriftMode, digest, toBinary } from "@gitfleet/proto";
import { resolve, type Resolution } from "./resolve.js";
import type { ClusterRef, Snapshot } from "./snapshot.js";

const fleet = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: base
    path: base
  - name: web
    path: apps/web
    namespace: web
    clusterSelector:
      matchLabels: { env: prod }
    drift: report
    ignore: [/spec/replicas]
  - name: api
    path: apps/api
    clusterSelector:
      matchExpressions:
        - { key: region, operator: In, values: [eu] }
`;

const cm = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

function snapshot(commit: string, entries: Record<string, string>): Snapshot {
  return { commit, files: new Map(Object.entries(entries).map(([p, c]) => [p, new TextEncoder().encode(c)])) };
}

const repo = {
  "fleet.yaml": fleet,
  "base/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
  "apps/web/cm.yaml": cm("web"),
  "apps/api/cm.yaml": cm("api"),
};

const clusters: ClusterRef[] = [
  { id: "c-eu-prod", name: "eu-prod", labels: { env: "prod", region: "eu" } },
  { id: "c-us-prod", name: "us-prod", labels: { env: "prod", region: "us" } },
  { id: "c-eu-dev", name: "eu-dev", labels: { env: "dev", region: "eu" } },
];

function ok(resolution: Resolution): Extract<Resolution, { ok: true }> {
  assert.ok(resolution.ok, `resolution failed: ${resolution.ok ? "" : resolution.error.message}`);
  return resolution;
}

function bundlesOf(resolution: Resolution, cluster: string): string[] {
  return ok(resolution).clusters.get(cluster)?.bundles.map((b) => b.name) ?? [];
}

void describe("resolve", () => {
  void test("gives each cluster the bundles whose selector matches, in fleet.yaml order", () => {
    const r = resolve({ snapshot: snapshot("c1", repo), clusters });
    assert.deepEqual(bundlesOf(r, "c-eu-prod"), ["base", "web", "api"]);
    assert.deepEqual(bundlesOf(r, "c-us-prod"), ["base", "web"]);
    assert.deepEqual(bundlesOf(r, "c-eu-dev"), ["base", "api"]);
  });

  void test("builds the payload with objects and policy, and the digest over its encoding", () => {
    const r = ok(resolve({ snapshot: snapshot("c1", repo), clusters }));
    const web = r.clusters.get("c-us-prod")?.bundles.find((b) => b.name === "web");
    assert.ok(web);
    assert.equal(web.payload.name, "web");
    assert.deepEqual(
      web.payload.objects.map((o) => JSON.parse(new TextDecoder().decode(o)) as unknown),
      [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "web" } }],
    );
    assert.equal(web.payload.policy?.drift, DriftMode.REPORT);
    assert.deepEqual(web.payload.policy?.ignore, ["/spec/replicas"]);
    assert.equal(web.payload.policy?.prune, true);
    assert.equal(web.payload.policy?.namespace, "web");
    const bytes = toBinary(BundlePayloadSchema, web.payload);
    assert.equal(web.digest, digest(bytes));
    assert.equal(web.size, bytes.byteLength);
  });

  void test("renders each bundle once and shares the result across clusters", () => {
    const r = ok(resolve({ snapshot: snapshot("c1", repo), clusters }));
    assert.deepEqual(r.stats, { rendered: 3, reused: 0 });
    const base = [...r.clusters.values()].map((c) => c.bundles.find((b) => b.name === "base"));
    assert.ok(base[0]);
    assert.ok(base.every((b) => b === base[0]), "every cluster holds the same resolved base bundle");
  });

  void test("a broken bundle fails only itself, for the clusters it targets", () => {
    const r = ok(resolve({ snapshot: snapshot("c2", { ...repo, "apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n" }), clusters }));
    for (const id of ["c-eu-prod", "c-us-prod"]) {
      const cluster = r.clusters.get(id);
      assert.deepEqual(
        cluster?.errors.map((e) => ({ bundle: e.bundle, path: e.path, commit: e.commit, reason: e.reason, file: e.file })),
        [{ bundle: "web", path: "apps/web", commit: "c2", reason: "object-invalid", file: "apps/web/cm.yaml" }],
      );
      assert.match(cluster?.errors[0]?.message ?? "", /apps\/web\/cm\.yaml:1 \(document 1\): metadata\.name is missing/);
    }
    assert.deepEqual(bundlesOf(r, "c-eu-prod"), ["base", "api"]);
    assert.deepEqual(r.clusters.get("c-eu-dev")?.errors, []);
    assert.deepEqual(bundlesOf(r, "c-eu-dev"), ["base", "api"]);
  });

  void test("a broken fleet.yaml fails the whole resolution with its error", () => {
    const r = resolve({ snapshot: snapshot("c3", { ...repo, "fleet.yaml": fleet.replace("kind: Fleet", "kind: Flet") }), clusters });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.commit, "c3");
    assert.match(r.error.message, /^fleet\.yaml:2: kind: must be Fleet/);
  });

  void test("a cluster that no bundle targets gets an empty list", () => {
    const r = resolve({ snapshot: snapshot("c1", { ...repo, "fleet.yaml": fleet.replace("path: base\n", "path: base\n    clusterSelector: { matchLabels: { env: prod } }\n") }), clusters: [{ id: "c-x", name: "x", labels: {} }] });
    assert.deepEqual(ok(r).clusters.get("c-x"), { clusterId: "c-x", bundles: [], errors: [] });
  });

  void test("reuses renders whose inputs did not change, and keeps their digests", () => {
    const first = ok(resolve({ snapshot: snapshot("c1", repo), clusters }));
    const second = ok(resolve({ snapshot: snapshot("c2", { ...repo, "apps/api/cm.yaml": cm("api-v2") }), clusters, previous: first.renders }));
    assert.deepEqual(second.stats, { rendered: 1, reused: 2 });
    const digests = (r: typeof first, name: string): string | undefined => r.clusters.get("c-eu-prod")?.bundles.find((b) => b.name === name)?.digest;
    assert.equal(digests(second, "base"), digests(first, "base"));
    assert.equal(digests(second, "web"), digests(first, "web"));
    assert.notEqual(digests(second, "api"), digests(first, "api"));
  });

  void test("a policy change changes the digest even when the files did not change", () => {
    const first = ok(resolve({ snapshot: snapshot("c1", repo), clusters }));
    const second = ok(resolve({ snapshot: snapshot("c2", { ...repo, "fleet.yaml": fleet.replace("drift: report", "drift: correct") }), clusters, previous: first.renders }));
    const web = (r: typeof first): string | undefined => r.clusters.get("c-us-prod")?.bundles.find((b) => b.name === "web")?.digest;
    assert.notEqual(web(second), web(first));
    assert.equal(second.stats.rendered, 0);
  });
});
