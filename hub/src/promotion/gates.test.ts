import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { HealthState, SyncState } from "@gitfleet/proto";
import type { IndexedBundle } from "../drift/index.js";
import { evaluateGates, stageGates, type GateInput, type GateName, type StageClusterState } from "./gates.js";
import type { GateSpec } from "../delivery/index.js";

const head = "4f0b60f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7";
const old = "91ac2e3aa2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7";
const now = new Date("2026-05-01T12:00:00Z");
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

const defaults: GateSpec = { healthy: true, noDrift: false, soakMs: 0, minClusters: 1 };

function reported(init: Partial<IndexedBundle> = {}): IndexedBundle {
  return { name: "web", digest: "d-new", revision: head, sync: SyncState.SYNCED, health: HealthState.HEALTHY, healthRevision: head, message: "", drifted: 0, ...init };
}

/** A cluster synced and healthy at the desired digest since ten minutes ago, unless `init` says otherwise. */
function cluster(name: string, init: Partial<StageClusterState> = {}): StageClusterState {
  return { id: `c-${name}`, name, desiredDigest: "d-new", errors: [], bundle: reported(), stale: false, unhealthy: [], since: ago(600_000), ...init };
}

function evaluate(clusters: StageClusterState[], spec: Partial<GateSpec> = {}, extra: Partial<GateInput> = {}) {
  return evaluateGates({ stage: "staging", bundle: "web", commit: head, spec: { ...defaults, ...spec }, clusters, now, ...extra });
}

function gate(evaluation: ReturnType<typeof evaluate>, name: GateName) {
  const found = evaluation.gates.find((g) => g.gate === name);
  assert.ok(found, `gate ${name} evaluated`);
  return found;
}

void describe("stage gates", () => {
  void test("a stage whose clusters all run the desired digest, healthy, passes with the gates it has", () => {
    const evaluation = evaluate([cluster("staging-us"), cluster("staging-eu")]);
    assert.equal(evaluation.passed, true);
    assert.deepEqual(evaluation.gates.map((g) => [g.gate, g.passed, g.message]), [
      ["min-clusters", true, "staging has 2 clusters; the gate needs at least 1"],
      ["synced", true, "2 clusters synced at 4f0b60f"],
      ["healthy", true, "2 clusters healthy at 4f0b60f"],
    ]);
    assert.equal(evaluation.commit, head);
    assert.equal(evaluation.evaluatedAt, now.toISOString());
    assert.deepEqual(evaluation.clusters.map((c) => c.name), ["staging-eu", "staging-us"], "sorted by name");
    assert.deepEqual(evaluation.clusters[0], { name: "staging-eu", synced: true, healthy: true, drifted: 0, stale: false, revision: head, since: ago(600_000) });
  });

  void test("the gates are the stage's: healthy can be off, no-drift and soak on", () => {
    assert.deepEqual(stageGates(defaults), ["min-clusters", "synced", "healthy"]);
    assert.deepEqual(stageGates({ healthy: false, noDrift: true, soakMs: 60_000, minClusters: 1 }), ["min-clusters", "synced", "no-drift", "soak"]);
  });

  void test("a stage without clusters fails min-clusters with how many it has and needs", () => {
    const evaluation = evaluate([]);
    assert.equal(evaluation.passed, false);
    assert.deepEqual(gate(evaluation, "min-clusters"), { gate: "min-clusters", passed: false, message: "staging has 0 clusters; the gate needs at least 1", clusters: [] });
    assert.equal(gate(evaluation, "synced").passed, true, "nothing is out of sync in an empty stage");
    assert.equal(evaluate([cluster("a")], { minClusters: 2 }).gates[0]?.message, "staging has 1 cluster; the gate needs at least 2");
  });

  void test("a cluster that runs an older digest is not synced, named with the commit it is at", () => {
    const evaluation = evaluate([cluster("prod-us-1"), cluster("prod-us-2", { bundle: reported({ digest: "d-old", revision: old, healthRevision: old }) })]);
    assert.equal(evaluation.passed, false);
    assert.deepEqual(gate(evaluation, "synced"), { gate: "synced", passed: false, message: "prod-us-2 not synced at 4f0b60f (at 91ac2e3)", clusters: ["prod-us-2"] });
    assert.deepEqual(gate(evaluation, "healthy"), { gate: "healthy", passed: false, message: "prod-us-2 not synced", clusters: ["prod-us-2"] });
    assert.deepEqual(evaluation.clusters.find((c) => c.name === "prod-us-2"), { name: "prod-us-2", synced: false, healthy: false, drifted: 0, stale: false, revision: old });
  });

  void test("every other reason not to be synced says what it is", () => {
    const evaluation = evaluate([
      cluster("a", { stale: true, bundle: reported({ revision: old }) }),
      cluster("b", { bundle: undefined }),
      cluster("c", { desiredDigest: undefined, errors: ["apps/web/staging/kustomization.yaml:3: unknown field"] }),
      cluster("d", { bundle: reported({ sync: SyncState.FAILED, message: "namespaces \"web\" is forbidden" }) }),
      cluster("e", { bundle: reported({ sync: SyncState.APPLYING }) }),
    ]);
    assert.equal(
      gate(evaluation, "synced").message,
      [
        "a not synced at 4f0b60f (stale; last reported 91ac2e3)",
        "b not synced at 4f0b60f (web not reported yet)",
        "c not synced at 4f0b60f (the hub cannot render web for it: apps/web/staging/kustomization.yaml:3: unknown field)",
        'd not synced at 4f0b60f (applying it failed: namespaces "web" is forbidden)',
        "e not synced at 4f0b60f (applying)",
      ].join("; "),
    );
    assert.deepEqual(gate(evaluation, "synced").clusters, ["a", "b", "c", "d", "e"]);
  });

  void test("a stale cluster never passes, even when its last report matched", () => {
    const evaluation = evaluate([cluster("a", { stale: true })], { noDrift: true, soakMs: 1000 });
    assert.deepEqual(evaluation.gates.filter((g) => g.passed).map((g) => g.gate), ["min-clusters"]);
    assert.deepEqual(evaluation.clusters[0], { name: "a", synced: false, healthy: false, drifted: 0, stale: true, revision: head });
  });

  void test("many failing clusters are named up to five, the rest counted, and all listed", () => {
    const names = ["c1", "c2", "c3", "c4", "c5", "c6", "c7"];
    const evaluation = evaluate(names.map((n) => cluster(n, { bundle: undefined })));
    const synced = gate(evaluation, "synced");
    assert.match(synced.message, /^c1 not synced .*; c5 not synced at 4f0b60f \(web not reported yet\); and 2 more clusters$/);
    assert.deepEqual(synced.clusters, names);
  });

  void test("an unhealthy cluster is named with its objects and the agent's messages, degraded first", () => {
    const evaluation = evaluate([
      cluster("staging-eu"),
      cluster("staging-us", {
        bundle: reported({ health: HealthState.DEGRADED }),
        unhealthy: [
          { apiVersion: "v1", kind: "Service", namespace: "web", name: "web", health: HealthState.PROGRESSING, message: "waiting for a load balancer" },
          { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "web", health: HealthState.DEGRADED, message: "1 of 3 updated replicas available" },
          { apiVersion: "v1", kind: "ConfigMap", namespace: "web", name: "extra", health: HealthState.MISSING, message: "" },
        ],
      }),
    ]);
    assert.equal(evaluation.passed, false);
    assert.equal(gate(evaluation, "synced").passed, true);
    assert.deepEqual(gate(evaluation, "healthy"), {
      gate: "healthy",
      passed: false,
      message: "staging-us: Deployment web/web 1 of 3 updated replicas available, Service web/web waiting for a load balancer (and 1 more)",
      clusters: ["staging-us"],
    });
  });

  void test("health assessed at an older revision, or a bundle without object detail, is not healthy either", () => {
    const evaluation = evaluate([
      cluster("a", { bundle: reported({ healthRevision: old }) }),
      cluster("b", { bundle: reported({ health: HealthState.PROGRESSING, message: "waiting for rollouts" }) }),
      cluster("c", { bundle: reported({ health: HealthState.DEGRADED }), unhealthy: [{ apiVersion: "v1", kind: "Namespace", namespace: "", name: "web", health: HealthState.DEGRADED, message: "" }] }),
    ]);
    assert.equal(gate(evaluation, "healthy").message, `a: health not assessed yet at 4f0b60f; b: web is progressing: waiting for rollouts; c: Namespace web degraded`);
  });

  void test("healthy: false leaves health out of the gates", () => {
    const evaluation = evaluate([cluster("a", { bundle: reported({ health: HealthState.DEGRADED }) })], { healthy: false });
    assert.equal(evaluation.passed, true);
    assert.equal(evaluation.gates.some((g) => g.gate === "healthy"), false);
    assert.equal(evaluation.clusters[0]?.healthy, false, "the cluster view still says it is not healthy");
  });

  void test("no-drift names each cluster with its count of drifted objects", () => {
    const evaluation = evaluate([cluster("staging-us"), cluster("staging-eu", { bundle: reported({ drifted: 2 }) }), cluster("staging-ap", { bundle: reported({ drifted: 1 }) })], { noDrift: true });
    assert.deepEqual(gate(evaluation, "no-drift"), { gate: "no-drift", passed: false, message: "staging-ap: 1 object drifted; staging-eu: 2 objects drifted", clusters: ["staging-ap", "staging-eu"] });
    assert.equal(evaluation.clusters.find((c) => c.name === "staging-eu")?.drifted, 2);
    assert.equal(evaluate([cluster("a")], { noDrift: true }).gates.at(-1)?.message, "no drift in 1 cluster");
    assert.equal(evaluate([cluster("a", { bundle: undefined })], { noDrift: true }).gates.at(-1)?.message, "a has not reported web yet");
  });

  void test("soak counts from when the last cluster reached the desired digest", () => {
    const soakMs = 5 * 60_000;
    const soaking = evaluate([cluster("a", { since: ago(130_000) }), cluster("b", { since: ago(200_000) }), cluster("c", { since: ago(400_000) })], { soakMs });
    assert.deepEqual(gate(soaking, "soak"), { gate: "soak", passed: false, message: "soaking: 2m10s of 5m at 4f0b60f", clusters: ["a", "b"] });
    const soaked = evaluate([cluster("a", { since: ago(soakMs) }), cluster("b", { since: ago(soakMs + 1) })], { soakMs });
    assert.deepEqual(gate(soaked, "soak"), { gate: "soak", passed: true, message: "every cluster ran 4f0b60f for at least 5m", clusters: [] });
    assert.equal(soaked.passed, true);
  });

  void test("soak has not started for a cluster that is not synced and healthy, or whose start is unknown", () => {
    const evaluation = evaluate(
      [cluster("a", { bundle: reported({ health: HealthState.DEGRADED }) }), cluster("b", { since: undefined }), cluster("c", { since: ago(3_600_000) })],
      { soakMs: 60_000, healthy: false },
    );
    assert.deepEqual(gate(evaluation, "soak"), {
      gate: "soak",
      passed: false,
      message: "a is not synced and healthy at 4f0b60f; the soak has not started; b: when it reached 4f0b60f is not known yet",
      clusters: ["a", "b"],
    });
  });

  void test("a blocked stage fails every gate with the reason", () => {
    const evaluation = evaluate([], {}, { blocked: "fleet.yaml at 4f0b60f has no bundle web", commit: head });
    assert.equal(evaluation.passed, false);
    assert.deepEqual(evaluation.gates.map((g) => [g.gate, g.passed, g.message]), [
      ["min-clusters", false, "fleet.yaml at 4f0b60f has no bundle web"],
      ["synced", false, "fleet.yaml at 4f0b60f has no bundle web"],
      ["healthy", false, "fleet.yaml at 4f0b60f has no bundle web"],
    ]);
  });

  void test("`only` evaluates the named gates, whatever the stage has", () => {
    const evaluation = evaluate([], { soakMs: 1000, noDrift: true }, { only: ["synced", "healthy"] });
    assert.deepEqual(evaluation.gates.map((g) => g.gate), ["synced", "healthy"]);
    assert.equal(evaluation.passed, true);
  });
});
