// The agent's drift monitor against a real cluster (apiserver, controller manager, scheduler and
// kwok): changes made outside Git under other field managers are found with their paths, values
// and manager, then corrected or reported per bundle; deletions, ignore rules, Secrets, a field
// fought over, a restart, and a quiet fleet of workloads that must show no drift at all.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { createConfigMapInventoryStore, createDriftMonitor, createKubeClient, createReconciler, loadKubeConfig } from "@gitfleet/agent";
import type { Correction, DesiredBundle, DesiredStateSnapshot, DriftMonitor, IgnoreRule, KubeClient, KubeObject, ObjectDrift, Reconciler } from "@gitfleet/agent";
import { HealthState } from "@gitfleet/proto";
import type { KubeConfig } from "@kubernetes/client-node";
import { kubeConfigFor, mergePatchAs, readObject, updateAs } from "../kube-client.js";
import { startLab } from "../lab/lab.js";
import type { Lab } from "../lab/lab.js";
import { waitFor } from "../lab/process.js";
import { failAnnotation } from "../lab/workloads.js";
import { quietWorkloads } from "../fleet/quiet-workloads.js";

const agentNamespace = "gitfleet-system";
const ns = "drift";
let digestCounter = 0;
// Ignore rules as fleet.yaml writes them: a bare pointer applies to every object.
type Rule = string | (Partial<IgnoreRule> & { path: string });
const bundle = (name: string, drift: "correct" | "report", objects: KubeObject[], ignore: Rule[] = []): DesiredBundle => ({
  name,
  digest: (++digestCounter).toString(16).padStart(64, "0"),
  revision: `rev${digestCounter}`,
  stage: "",
  policy: { prune: true, namespace: ns, drift, ignore: ignore.map((r) => ({ group: "", kind: "", namespace: "", name: "", ...(typeof r === "string" ? { path: r } : r) })) },
  objects,
});
const configMap = (name: string, data: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data });

/** An agent's reconcile loop and drift monitor, started and stopped together. */
interface AgentParts {
  reconciler: Reconciler;
  monitor: DriftMonitor;
  corrections: Correction[];
  stop(): Promise<void>;
}

function startAgentParts(kube: KubeClient, limits = { maxCorrections: 3, windowMs: 60_000, backoffMs: 60_000 }): AgentParts {
  const corrections: Correction[] = [];
  const monitor = createDriftMonitor({ kube, limits, onChange: () => {}, onCorrection: (c) => corrections.push(c) });
  const reconciler = createReconciler({ kube, inventory: createConfigMapInventoryStore({ kube, namespace: agentNamespace }), agentNamespace, drift: monitor, intervalMs: 3_600_000 });
  return {
    reconciler,
    monitor,
    corrections,
    async stop() {
      await reconciler.stop();
      await monitor.stop();
    },
  };
}

const stateOf = (monitor: DriftMonitor, bundleName: string, name: string): ObjectDrift | undefined =>
  monitor.objects(bundleName).find((o) => o.ref.name === name);

/** Waits until the monitor reports `check` for an object of a bundle, and returns it. */
async function waitForDrift(monitor: DriftMonitor, bundleName: string, name: string, what: string, check: (o: ObjectDrift) => boolean, timeoutMs = 10_000): Promise<ObjectDrift> {
  let last: ObjectDrift | undefined;
  try {
    return await waitFor(
      () => {
        last = stateOf(monitor, bundleName, name);
        return Promise.resolve(last && check(last) ? last : undefined);
      },
      { what: `${bundleName}/${name}: ${what}`, timeoutMs, intervalMs: 50 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
  }
}

describe("drift against a real cluster", () => {
  let lab: Lab;
  let kc: KubeConfig;
  let kube: KubeClient;
  let agent: AgentParts;
  const bundles = new Map<string, DesiredBundle>();
  let generation = 0n;
  const enforce = async (...changed: DesiredBundle[]): Promise<void> => {
    for (const b of changed) bundles.set(b.name, b);
    const state: DesiredStateSnapshot = { revision: "r", generation: ++generation, kvRevision: 0, bundles: [...bundles.values()], publishedAt: "" };
    agent.reconciler.setDesired(state);
    const report = await agent.reconciler.reconcileNow();
    for (const b of changed) {
      const result = report?.bundles.find((r) => r.name === b.name);
      assert.equal(result?.message, "", `bundle ${b.name} applies`);
    }
  };

  before(async () => {
    lab = await startLab({ clusters: 1 });
    const cluster = lab.clusters[0];
    assert.ok(cluster);
    kc = kubeConfigFor(cluster);
    kube = createKubeClient({ kubeConfig: loadKubeConfig(cluster.kubeconfig) });
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: agentNamespace } });
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    agent = startAgentParts(kube);
  });

  after(async () => {
    await agent?.stop();
    await lab?.stop();
  });

  it("reports a field changed by another manager in report mode, with path, values and manager, and leaves it", async () => {
    await enforce(bundle("reported", "report", [configMap("settings", { greeting: "hello", colour: "teal" })]));
    await mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: ns }, data: { greeting: "bonjour" } }, "kubectl-patch");
    const drift = await waitForDrift(agent.monitor, "reported", "settings", "drifted", (o) => o.state === "drifted", 5_000);
    assert.deepEqual(
      drift.fields.map((f) => ({ path: f.path, desired: f.desired, live: f.live, manager: f.manager })),
      [{ path: "/data/greeting", desired: "hello", live: "bonjour", manager: "kubectl-patch" }],
    );
    assert.ok(drift.firstSeen !== undefined);
    const live = await readObject<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: ns } });
    assert.equal((live?.["data"] as Record<string, string>)["greeting"], "bonjour", "report mode leaves the live value");
    assert.equal(agent.corrections.length, 0);

    // Git catches up with the cluster: the drift is gone.
    await enforce(bundle("reported", "report", [configMap("settings", { greeting: "bonjour", colour: "teal" })]));
    await waitForDrift(agent.monitor, "reported", "settings", "in sync after Git took the value", (o) => o.state === "in-sync");
  });

  it("reverts an update made as kubectl edit in correct mode, within seconds, and says so", async () => {
    await enforce(bundle("corrected", "correct", [configMap("web", { greeting: "hello" })]));
    const started = Date.now();
    await updateAs<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: ns } }, (o) => {
      o["data"] = { greeting: "edited" };
      o.metadata.labels = { touched: "yes" };
    }, "kubectl-edit");
    await waitFor(
      async () => {
        const live = await readObject<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: ns } });
        return (live?.["data"] as Record<string, string> | undefined)?.["greeting"] === "hello" ? true : undefined;
      },
      { what: "the ConfigMap's greeting reverted", timeoutMs: 5_000, intervalMs: 50 },
    );
    const elapsed = Date.now() - started;
    // The server holds the reverted object as soon as the apply lands; the agent records the
    // correction once the apply's answer is back, a moment later.
    const correction = await waitFor(() => Promise.resolve(agent.corrections.find((c) => c.ref.name === "web")), {
      what: "a correction to be reported",
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    assert.ok(correction, "a correction was reported");
    assert.deepEqual(correction.fields.map((f) => [f.path, f.manager]), [["/data/greeting", "kubectl-edit"]]);
    const live = await readObject<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: ns } });
    assert.equal(live?.metadata.labels?.["touched"], "yes", "a label gitfleet does not own stays");
    assert.ok(elapsed < 5_000, `reverted in ${elapsed} ms`);
  });

  it("reverts a client-side kubectl apply and recreates a deleted object", async () => {
    await enforce(bundle("recreated", "correct", [configMap("db", { size: "small" })]));
    await mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "db", namespace: ns }, data: { size: "huge" } }, "kubectl-client-side-apply");
    await waitFor(async () => ((await readObject<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "db", namespace: ns } }))?.["data"] as Record<string, string>)["size"] === "small" || undefined, {
      what: "size reverted",
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    await kube.delete({ group: "", version: "v1", kind: "ConfigMap", namespace: ns, name: "db" });
    await waitFor(async () => (await kube.get({ group: "", version: "v1", kind: "ConfigMap", namespace: ns, name: "db" })) ?? undefined, { what: "db recreated", timeoutMs: 5_000, intervalMs: 50 });
    assert.ok(agent.corrections.some((c) => c.ref.name === "db" && /recreated/.test(c.message)));
  });

  it("reports a deleted object as missing in report mode", async () => {
    await enforce(bundle("gone", "report", [configMap("cache", { ttl: "60" })]));
    await kube.delete({ group: "", version: "v1", kind: "ConfigMap", namespace: ns, name: "cache" });
    await waitForDrift(agent.monitor, "gone", "cache", "missing", (o) => o.state === "missing" && o.health.health === HealthState.MISSING, 5_000);
  });

  it("neither reports nor corrects a field an ignore rule names", async () => {
    await enforce(bundle("ignoring", "correct", [configMap("flags", { fixed: "1", tuned: "1" })], ["/data/tuned"]));
    const before = agent.corrections.length;
    await mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "flags", namespace: ns }, data: { tuned: "9" } }, "tuner");
    // The same object's next change is reverted, so the ignored change was seen and let be.
    await mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "flags", namespace: ns }, data: { fixed: "2" } }, "tuner");
    await waitFor(async () => ((await readObject<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "flags", namespace: ns } }))?.["data"] as Record<string, string>)["fixed"] === "1" || undefined, {
      what: "fixed reverted",
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    const live = await readObject<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "flags", namespace: ns } });
    assert.equal((live?.["data"] as Record<string, string>)["tuned"], "9", "the ignored field keeps its live value");
    const fixes = agent.corrections.slice(before).filter((c) => c.ref.name === "flags");
    assert.ok(fixes.every((c) => c.fields.every((f) => f.path !== "/data/tuned")), JSON.stringify(fixes));
    assert.equal(stateOf(agent.monitor, "ignoring", "flags")?.state, "in-sync");
  });

  it("applies a scoped ignore rule only to the object it names, a * segment matching every key", async () => {
    await enforce(bundle("scoped", "correct", [configMap("tuned-a", { level: "1" }), configMap("tuned-b", { level: "1" })], [{ path: "/data/*", kind: "ConfigMap", name: "tuned-a" }]));
    const data = async (name: string) => ((await readObject<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } }))?.["data"] ?? {}) as Record<string, string>;
    for (const name of ["tuned-a", "tuned-b"]) {
      await mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data: { level: "9" } }, "tuner");
    }
    await waitFor(async () => (await data("tuned-b"))["level"] === "1" || undefined, { what: "tuned-b, outside the rule's scope, reverted", timeoutMs: 5_000, intervalMs: 50 });
    assert.equal((await data("tuned-a"))["level"], "9", "the object the rule names keeps its live value");
    assert.equal(stateOf(agent.monitor, "scoped", "tuned-a")?.state, "in-sync");
  });

  it("reports a Secret's drift by path only, never its values", async () => {
    const secret: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "token", namespace: ns }, type: "Opaque", data: { token: Buffer.from("s3cret").toString("base64") } };
    await enforce(bundle("secrets", "report", [secret]));
    await mergePatchAs(kc, { apiVersion: "v1", kind: "Secret", metadata: { name: "token", namespace: ns }, data: { token: Buffer.from("leaked").toString("base64") } }, "kubectl-edit");
    const drift = await waitForDrift(agent.monitor, "secrets", "token", "drifted", (o) => o.state === "drifted", 5_000);
    assert.deepEqual(drift.fields.map((f) => ({ path: f.path, redacted: f.redacted, desired: f.desired, live: f.live })), [{ path: "/data/token", redacted: true, desired: undefined, live: undefined }]);
  });

  it("ends a fight over a field in conflict, naming the other manager, after a bounded number of corrections", async () => {
    await enforce(bundle("fought", "correct", [configMap("scale", { replicas: "2" })]));
    const fighting = new AbortController();
    const fighter = (async () => {
      while (!fighting.signal.aborted) {
        await mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "scale", namespace: ns }, data: { replicas: "5" } }, "autoscaler").catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      const drift = await waitForDrift(agent.monitor, "fought", "scale", "conflict", (o) => o.state === "conflict", 20_000);
      await new Promise((r) => setTimeout(r, 3_000));
      const count = agent.corrections.filter((c) => c.ref.name === "scale").length;
      assert.ok(count <= 3, `corrections are bounded by the loop guard: ${count}`);
      assert.equal(stateOf(agent.monitor, "fought", "scale")?.state, "conflict");
      assert.ok(drift.fields.some((f) => f.manager === "autoscaler"), JSON.stringify(drift.fields));
    } finally {
      fighting.abort();
      await fighter;
    }
  });

  it("recomputes drift after a restart without re-applying or reporting twice", async () => {
    await enforce(bundle("restarted", "report", [configMap("kept", { mode: "a" })]));
    await mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept", namespace: ns }, data: { mode: "b" } }, "kubectl-edit");
    await waitForDrift(agent.monitor, "restarted", "kept", "drifted", (o) => o.state === "drifted", 5_000);
    await agent.stop();
    agent = startAgentParts(kube);
    agent.reconciler.setDesired({ revision: "r", generation: ++generation, kvRevision: 0, bundles: [...bundles.values()], publishedAt: "" });
    await agent.reconciler.reconcileNow();
    const drift = await waitForDrift(agent.monitor, "restarted", "kept", "drifted again after the restart", (o) => o.state === "drifted", 5_000);
    assert.deepEqual(drift.fields.map((f) => [f.path, f.live, f.manager]), [["/data/mode", "b", "kubectl-edit"]]);
    const live = await readObject<KubeObject>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept", namespace: ns } });
    assert.equal((live?.["data"] as Record<string, string>)["mode"], "b", "a restart does not re-apply a report-mode bundle");
  });

  it("shows no drift on a quiet fleet of Deployments, Services, Jobs and defaulted custom resources", async () => {
    await enforce(bundle("quiet", "report", quietWorkloads()));
    await waitForDrift(agent.monitor, "quiet", "quiet", "Deployment healthy", (o) => o.ref.kind === "Deployment" && o.health.health === HealthState.HEALTHY, 120_000);
    await waitForDrift(agent.monitor, "quiet", "once", "Job complete", (o) => o.health.health === HealthState.HEALTHY, 120_000);
    // Controllers keep writing status and defaults meanwhile; give them a while.
    await new Promise((r) => setTimeout(r, 10_000));
    await agent.monitor.idle();
    const drifted = agent.monitor.objects("quiet").filter((o) => o.state !== "in-sync");
    assert.deepEqual(drifted.map((o) => ({ object: `${o.ref.kind}/${o.ref.name}`, state: o.state, fields: o.fields })), []);
  });

  it("sees a Deployment whose pods fail become degraded", async () => {
    const labels = { app: "failing" };
    await enforce(
      bundle("failing", "correct", [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "failing", namespace: ns },
          spec: {
            replicas: 1,
            progressDeadlineSeconds: 10,
            selector: { matchLabels: labels },
            template: { metadata: { labels, annotations: { [failAnnotation]: "true" } }, spec: { containers: [{ name: "web", image: "registry.example/web:broken" }] } },
          },
        },
      ]),
    );
    await waitForDrift(agent.monitor, "failing", "failing", "degraded", (o) => o.health.health === HealthState.DEGRADED, 120_000);
  });
});
