import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { create, HealthState, ResourceStatusSchema, SyncState, type StatusReport } from "@gitfleet/proto";
import type { BundleError, ClusterDirectory, FleetBundles } from "../delivery-contract.js";
import { createDriftIndex } from "../drift/index.js";
import { HubError } from "../errors.js";
import type { ClusterRecord } from "../store/clusters.js";
import { testBundle, testReport, testResource } from "../test-support/status-reports.js";
import type { PipelineSpec, PipelineStageSpec } from "../delivery/index.js";
import { createStageStates, type StageStatesOptions } from "./stage-state.js";

const head = "4f0b60f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7";
const old = "91ac2e3aa2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7";
const now = new Date("2026-05-01T12:00:00Z");
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

function stage(name: string, init: Partial<PipelineStageSpec> = {}): PipelineStageSpec {
  return {
    name,
    target: name,
    overlay: `apps/web/${name}`,
    clusterSelector: { matchLabels: { env: name }, matchExpressions: [] },
    promote: { images: ["registry.example.com/web"], fields: [], files: [] },
    gates: { healthy: true, noDrift: false, soakMs: 0, minClusters: 1 },
    auto: false,
    rollback: "manual",
    verifyTimeoutMs: 600_000,
    line: 1,
    ...init,
  };
}

const pipeline: PipelineSpec = {
  name: "web",
  bundle: "web",
  line: 1,
  stages: [stage("staging", { gates: { healthy: true, noDrift: true, soakMs: 300_000, minClusters: 1 } }), stage("prod-us"), stage("prod-eu")],
};

function record(id: string, name: string, labels: Record<string, string>): ClusterRecord {
  return {
    id, name, labels, registeredAt: ago(86_400_000), lastSeen: ago(5_000), connected: true, credentialEpoch: 1, natsUserPublicKey: "", signingPublicKey: "",
    agentVersion: "test", kubernetesVersion: "v1.36.0", observedRevision: head, observedGeneration: 1, registrationTokenId: "t", credentialsExpireAt: null, session: null,
  };
}

const records = [
  record("c-su", "staging-us", { env: "staging" }),
  record("c-se", "staging-eu", { env: "staging" }),
  record("c-pu1", "prod-us-1", { env: "prod-us" }),
  record("c-pu2", "prod-us-2", { env: "prod-us" }),
  // Takes the prod-us target but is held out of the stage by the stage's own selector in one test.
  record("c-pu3", "prod-us-canary", { env: "prod-us", canary: "true" }),
];

const fleet: FleetBundles = {
  commit: head,
  bundles: [
    {
      name: "web",
      path: "apps/web",
      drift: "correct",
      prune: true,
      ignore: [],
      targets: [
        { name: "staging", clusterSelector: "env=staging", overlay: "apps/web/staging", variables: {}, clusters: [{ clusterId: "c-su", desiredDigest: "d-stg" }, { clusterId: "c-se", desiredDigest: "d-stg" }, { clusterId: "c-gone", desiredDigest: "d-stg" }] },
        { name: "prod-us", clusterSelector: "env=prod-us", overlay: "apps/web/prod-us", variables: {}, clusters: [{ clusterId: "c-pu1", desiredDigest: "d-us" }, { clusterId: "c-pu2", desiredDigest: "d-us" }, { clusterId: "c-pu3", desiredDigest: "d-us" }] },
        { name: "prod-eu", clusterSelector: "env=prod-eu", overlay: "apps/web/prod-eu", variables: {}, clusters: [] },
      ],
    },
  ],
};

const deployment = (health: HealthState, message: string) =>
  create(ResourceStatusSchema, { ...testResource({ kind: "Deployment", name: "web", namespace: "web" }), health, message });

/** A hub whose staging-us is degraded and staging-eu drifted, prod-us-2 runs an older digest. */
function setup(overrides: Partial<StageStatesOptions> = {}, reports: Record<string, StatusReport> = {}) {
  const drift = createDriftIndex({ staleAfterMs: 45_000, now: () => now });
  for (const r of records) drift.putCluster(r);
  const statuses: Record<string, StatusReport> = {
    "c-su": testReport([testBundle("web", [deployment(HealthState.DEGRADED, "1 of 3 updated replicas available")], { digest: "d-stg", revision: head, healthRevision: head, health: HealthState.DEGRADED })], { observedRevision: head }),
    "c-se": testReport([testBundle("web", [testResource({ kind: "Deployment", name: "web", namespace: "web", state: 2 }), testResource({ kind: "Service", name: "web", namespace: "web", state: 2 })], { digest: "d-stg", revision: head, healthRevision: head })]),
    "c-pu1": testReport([testBundle("web", [], { digest: "d-us", revision: head, healthRevision: head })]),
    "c-pu2": testReport([testBundle("web", [], { digest: "d-us-old", revision: old, healthRevision: old })]),
    "c-pu3": testReport([testBundle("web", [], { digest: "d-us", revision: head, healthRevision: head })]),
    ...reports,
  };
  for (const [id, report] of Object.entries(statuses)) drift.putStatus(id, report);
  const directory: ClusterDirectory = { list: () => [...records], getByName: (n) => records.find((r) => r.name === n) };
  const errors: Record<string, BundleError[]> = {};
  const since: Record<string, string> = { "c-su": ago(60_000), "c-se": ago(120_000), "c-pu1": ago(3_600_000), "c-pu3": ago(3_600_000) };
  const states = createStageStates({
    clusters: directory,
    fleet: { bundles: () => fleet },
    drift,
    status: { get: (id) => statuses[id] },
    bundleErrors: { errorsFor: (id) => errors[id] ?? [] },
    history: { since: (id, bundle, digest) => (bundle === "web" && digest.startsWith("d-") ? since[id] : undefined) },
    commits: { descends: (h, a) => h === head && a === old },
    now: () => now,
    ...overrides,
  });
  return { states, drift, errors };
}

void describe("stage states", () => {
  void test("a stage's clusters are its target's, named from the directory, with each gate's reasons from the live stores", () => {
    const { states } = setup();
    const evaluation = states.evaluate(pipeline, "staging");
    assert.equal(evaluation.stage, "staging");
    assert.equal(evaluation.commit, head);
    assert.equal(evaluation.passed, false);
    assert.deepEqual(evaluation.gates.map((g) => [g.gate, g.passed, g.message]), [
      ["min-clusters", true, "staging has 2 clusters; the gate needs at least 1"],
      ["synced", true, "2 clusters synced at 4f0b60f"],
      ["healthy", false, "staging-us: Deployment web/web 1 of 3 updated replicas available"],
      ["no-drift", false, "staging-eu: 2 objects drifted"],
      ["soak", false, "staging-us is not synced and healthy at 4f0b60f; the soak has not started"],
    ]);
    assert.deepEqual(evaluation.clusters, [
      { name: "staging-eu", synced: true, healthy: true, drifted: 2, stale: false, revision: head, since: ago(120_000) },
      { name: "staging-us", synced: true, healthy: false, drifted: 0, stale: false, revision: head, since: ago(60_000) },
    ]);
  });

  void test("a cluster behind is named with the commit it runs", () => {
    const { states } = setup();
    const evaluation = states.evaluate(pipeline, "prod-us");
    assert.deepEqual(evaluation.gates.find((g) => g.gate === "synced"), { gate: "synced", passed: false, message: "prod-us-2 not synced at 4f0b60f (at 91ac2e3)", clusters: ["prod-us-2"] });
    assert.deepEqual(evaluation.clusters.map((c) => c.name), ["prod-us-1", "prod-us-2", "prod-us-canary"]);
  });

  void test("the stage's own selector narrows its target's clusters", () => {
    const { states } = setup();
    const narrowed: PipelineSpec = {
      ...pipeline,
      stages: [stage("prod-us", { clusterSelector: { matchLabels: { env: "prod-us" }, matchExpressions: [{ key: "canary", operator: "DoesNotExist", values: [] }] } })],
    };
    assert.deepEqual(states.clusters(narrowed, "prod-us").map((c) => c.name), ["prod-us-1", "prod-us-2"]);
  });

  void test("a stage whose target took no cluster fails min-clusters", () => {
    const { states } = setup();
    assert.equal(states.evaluate(pipeline, "prod-eu").gates[0]?.message, "prod-eu has 0 clusters; the gate needs at least 1");
  });

  void test("a stale cluster is never synced, and its delivery errors are shown", () => {
    const { states, drift, errors } = setup();
    drift.putCluster({ ...records[2]!, lastSeen: ago(600_000) });
    errors["c-pu2"] = [{ bundle: "web", message: "kustomize build failed: apps/web/prod-us: missing resource" }, { bundle: "other", message: "not this one" }];
    const synced = states.evaluate(pipeline, "prod-us").gates.find((g) => g.gate === "synced");
    assert.equal(synced?.message, "prod-us-1 not synced at 4f0b60f (stale; last reported 4f0b60f); prod-us-2 not synced at 4f0b60f (at 91ac2e3)");
  });

  void test("an unknown stage is a not-found error naming the pipeline's stages", () => {
    const { states } = setup();
    assert.throws(() => states.evaluate(pipeline, "qa"), (err: unknown) => err instanceof HubError && err.code === "not-found" && /pipeline web has no stage qa; its stages are staging, prod-us, prod-eu/.test(err.message));
  });

  void test("before anything is resolved, or when the bundle or target is gone, every gate says why", () => {
    const none = setup({ fleet: { bundles: () => undefined } }).states.evaluate(pipeline, "staging");
    assert.equal(none.commit, "");
    assert.ok(none.gates.every((g) => !g.passed && g.message === "no commit of the fleet repository is resolved yet"));
    const other = setup().states.evaluate({ ...pipeline, bundle: "api" }, "staging");
    assert.ok(other.gates.every((g) => g.message === "fleet.yaml at 4f0b60f has no bundle api"));
    const noTarget = setup().states.evaluate({ ...pipeline, stages: [stage("qa")] }, "qa");
    assert.ok(noTarget.gates.every((g) => g.message === "bundle web at 4f0b60f has no target qa"));
  });

  void test("verification is done when the stage is synced and healthy at the commit or a later one", () => {
    const healthy = { "c-su": testReport([testBundle("web", [], { digest: "d-stg", revision: head, healthRevision: head })]) };
    const { states } = setup({}, healthy);
    const atHead = states.verifyAt(pipeline, "staging", head);
    assert.equal(atHead.done, true);
    assert.equal(atHead.failed, undefined);
    assert.deepEqual(atHead.evaluation.gates.map((g) => g.gate), ["synced", "healthy"], "verification reads synced and healthy only");
    assert.equal(states.verifyAt(pipeline, "staging", old).done, true, "the resolved commit descends from the promotion's");
    const soak = states.evaluate(pipeline, "staging").gates.find((g) => g.gate === "soak");
    assert.deepEqual(soak, { gate: "soak", passed: false, message: "soaking: 1m of 5m at 4f0b60f", clusters: ["staging-eu", "staging-us"] });
  });

  void test("verification is not done while the hub has not resolved the commit", () => {
    const newer = "aaaaaaa1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7";
    const { states } = setup();
    const verification = states.verifyAt(pipeline, "prod-us", newer);
    assert.deepEqual([verification.done, verification.failed], [false, "the hub has not resolved aaaaaaa yet; it is at 4f0b60f"]);
    const unresolved = setup({ fleet: { bundles: () => undefined } }).states.verifyAt(pipeline, "prod-us", newer);
    assert.equal(unresolved.failed, "the hub has not resolved aaaaaaa yet; nothing is resolved yet");
    const noAncestry = setup({ commits: undefined }).states.verifyAt(pipeline, "prod-us", old);
    assert.equal(noAncestry.done, false, "without ancestry only the resolved commit itself counts");
  });

  void test("verification that is not done says which clusters and objects hold it up", () => {
    const { states } = setup();
    const prodUs = states.verifyAt(pipeline, "prod-us", head);
    assert.deepEqual([prodUs.done, prodUs.failed], [false, "prod-us-2 not synced at 4f0b60f (at 91ac2e3); prod-us-2 not synced"]);
    const staging = states.verifyAt(pipeline, "staging", head);
    assert.equal(staging.failed, "staging-us: Deployment web/web 1 of 3 updated replicas available");
  });

  void test("an applying cluster reads no objects; a synced unhealthy one reads its progressing objects too", () => {
    const reports = {
      "c-pu1": testReport([testBundle("web", [deployment(HealthState.PROGRESSING, "2 of 3 replicas ready")], { digest: "d-us", revision: head, healthRevision: head, health: HealthState.PROGRESSING })]),
      "c-pu2": testReport([testBundle("web", [deployment(HealthState.DEGRADED, "never read")], { digest: "d-us", revision: head, healthRevision: head, sync: SyncState.APPLYING, health: HealthState.DEGRADED })]),
    };
    const { states } = setup({}, reports);
    const healthy = states.evaluate(pipeline, "prod-us").gates.find((g) => g.gate === "healthy");
    assert.equal(healthy?.message, "prod-us-1: Deployment web/web 2 of 3 replicas ready; prod-us-2 not synced");
  });
});
