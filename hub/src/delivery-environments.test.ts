import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type { ClusterDirectory } from "./delivery-contract.js";
import { createOverlayRenderer, resolve, type ClusterRef, type ResolvedFleet, type Snapshot } from "./delivery/index.js";
import { environmentRevision, environmentSource } from "./delivery-environments.js";
import { HubError } from "./errors.js";
import type { ClusterRecord } from "./store/clusters.js";

const fleet = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: platform
    path: platform
  - name: web
    path: apps/web
    namespace: web
    substitute: true
    targets:
      - name: staging
        clusterSelector: { matchLabels: { env: staging } }
        overlay: staging
      - name: prod-eu
        clusterSelector: { matchLabels: { env: prod, region: eu } }
        overlay: prod
      - name: prod-us
        clusterSelector: { matchLabels: { env: prod, region: us } }
        overlay: prod-us
pipelines:
  - name: web
    bundle: web
    promote: { images: [registry.example.com/web] }
    stages:
      - { name: staging, target: staging }
      - { name: prod-eu, target: prod-eu, clusterSelector: { matchExpressions: [{ key: ring, operator: NotIn, values: [canary] }] } }
      - { name: prod-us, target: prod-us }
`;

const files: Record<string, string> = {
  "fleet.yaml": fleet,
  "platform/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: observability\n",
  "apps/web/staging/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  env: staging\n",
  "apps/web/prod-us/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
  "apps/web/prod/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  cluster: "${cluster_name}"\n',
};

const records: ClusterRecord[] = [
  { id: "c1", name: "eu-1", labels: { env: "prod", region: "eu" } },
  { id: "c2", name: "eu-2", labels: { env: "prod", region: "eu" } },
  { id: "c3", name: "stage-1", labels: { env: "staging" } },
  { id: "c5", name: "eu-canary", labels: { env: "prod", region: "eu", ring: "canary" } },
  { id: "c4", name: "late", labels: { env: "prod", region: "eu" } },
].map((c) => ({ ...c, registeredAt: "2026-01-01T00:00:00Z", lastSeen: null }) as unknown as ClusterRecord);

const directory: ClusterDirectory = {
  list: () => [...records].sort((a, b) => a.name.localeCompare(b.name)),
  getByName: (name) => records.find((r) => r.name === name),
};

async function resolved(): Promise<ResolvedFleet> {
  const snapshot: Snapshot = { commit: "f".repeat(40), files: new Map(Object.entries(files).map(([p, c]) => [p, new TextEncoder().encode(c)])) };
  // "late" registered after this resolution: it is not part of it.
  const clusters: ClusterRef[] = records.filter((r) => r.id !== "c4").map((r) => ({ id: r.id, name: r.name, labels: r.labels }));
  const resolution = await resolve({ snapshot, clusters, renderer: createOverlayRenderer() });
  assert.ok(resolution.ok, resolution.ok ? "" : resolution.error.message);
  return resolution;
}

void describe("the delivery's environment source", () => {
  void test("sees a resolution by cluster name and by stage, with the stage's clusters by its selector and target", async () => {
    const revision = environmentRevision(await resolved(), directory);
    assert.equal(revision.commit, "f".repeat(40));
    assert.deepEqual(revision.clusterNames, ["eu-1", "eu-2", "eu-canary", "stage-1"]);
    assert.deepEqual(revision.stages, [
      { pipeline: "web", bundle: "web", name: "staging", target: "staging", clusters: ["stage-1"] },
      { pipeline: "web", bundle: "web", name: "prod-eu", target: "prod-eu", clusters: ["eu-1", "eu-2"] },
      { pipeline: "web", bundle: "web", name: "prod-us", target: "prod-us", clusters: [] },
    ]);
    const eu1 = revision.cluster("eu-1");
    assert.deepEqual(eu1?.bundles.map((b) => [b.name, b.target]), [["platform", "default"], ["web", "prod-eu"]]);
    assert.deepEqual(eu1?.bundles[1]?.objects, [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "web" }, data: { cluster: "eu-1" } }]);
    assert.notEqual(eu1?.bundles[1]?.digest, revision.cluster("eu-2")?.bundles[1]?.digest, "substitution makes the two renders differ");
    assert.equal(revision.cluster("late"), undefined);
    assert.equal(revision.cluster("nowhere"), undefined);
  });

  void test("reads the head, or asks delivery for another commit; refuses before the first resolution", async () => {
    const head = await resolved();
    const asked: string[] = [];
    const source = environmentSource({ resolution: () => head, resolutionAt: (rev) => (asked.push(rev), Promise.resolve(head)) }, directory);
    assert.equal((await source.at()).commit, head.commit);
    await source.at("abc1234");
    assert.deepEqual(asked, ["abc1234"]);
    const empty = environmentSource({ resolution: () => undefined, resolutionAt: () => Promise.reject(new Error("unused")) }, directory);
    await assert.rejects(empty.at(), (err: unknown) => err instanceof HubError && err.code === "failed-precondition" && /not resolved the fleet repository yet/.test(err.message));
  });
});
