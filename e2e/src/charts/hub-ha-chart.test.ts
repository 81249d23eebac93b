// The hub chart's high availability as a real cluster plays it: installed with its defaults on
// a cluster of three nodes (the real kube-controller-manager and kube-scheduler, kwok nodes), the
// three replicas land on three nodes, the agents' gRPC Service reaches all three, the
// PodDisruptionBudget counts exactly the hub's pods and lets a drain take one at a time; with
// required anti-affinity a fourth replica finds no node.
import { strict as assert } from "node:assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { kubeConfigFor } from "../kube-client.js";
import { startKubeApiserver, type KubeApiserver } from "../lab/kube.js";
import { kubeRest } from "../lab/kube-rest.js";
import { waitFor } from "../lab/process.js";
import { skipUnlessTool } from "../lab/skip.js";
import { startWorkloads, type ClusterWorkloads } from "../lab/workloads.js";
import { applyObjects, ensureNamespaces } from "./cluster.js";
import { helmBinary, helmTemplate, type RenderedObject } from "./helm.js";

const bins = {
  "kube-apiserver": process.env["GITFLEET_KUBE_APISERVER_BIN"] ?? "",
  "kube-controller-manager": process.env["GITFLEET_KUBE_CONTROLLER_MANAGER_BIN"] ?? "",
  "kube-scheduler": process.env["GITFLEET_KUBE_SCHEDULER_BIN"] ?? "",
  kwok: process.env["GITFLEET_KWOK_BIN"] ?? "",
};
const missing = Object.entries(bins).find(([, path]) => !path)?.[0];
const skip = skipUnlessTool(
  !helmBinary()
    ? "GITFLEET_HELM_BIN is not set (path of the pinned helm binary; `npm test` builds it)"
    : missing
      ? `the binary of ${missing} is not set (\`npm test\` builds the lab's servers)`
      : false,
);

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string; reason?: string }[] };
}

const ready = (p: Pod): boolean => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
const selector = (release: string): string => encodeURIComponent(`app.kubernetes.io/name=gitfleet-hub,app.kubernetes.io/instance=${release}`);

describe("the hub chart on a cluster of three nodes", { skip, timeout: 600_000 }, () => {
  let dir: string;
  let kas: KubeApiserver | undefined;
  let workloads: ClusterWorkloads | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-hub-ha-chart-"));
    kas = await startKubeApiserver({ name: "hub-ha", binary: bins["kube-apiserver"], dir });
    workloads = await startWorkloads({ kube: kas, binaries: bins, dir, nodes: 3, readyTimeoutMs: 240_000 });
  });

  after(async () => {
    await workloads?.stop();
    await kas?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const api = (method: string, path: string, body?: unknown) => kubeRest(kas ?? assert.fail("no apiserver"), method, path, body);

  const pods = async (namespace: string, release: string): Promise<Pod[]> => {
    const reply = await api("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${selector(release)}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return (reply.body as { items: Pod[] }).items;
  };

  /** Installs the chart for real: the NATS Secret the operator creates, then everything helm renders. */
  const install = async (namespace: string, release: string, values: Record<string, unknown>): Promise<RenderedObject[]> => {
    const kc = kubeConfigFor(kas ?? assert.fail("no apiserver"));
    await ensureNamespaces(kc, [namespace]);
    const natsSecret: RenderedObject = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "gitfleet-hub-nats", namespace },
      stringData: { "hub.creds": "creds", "signing.seed": "seed" },
    };
    const objects = await helmTemplate({
      chart: "gitfleet-hub",
      release,
      namespace,
      values: { nats: { url: "nats://nats.nats.svc:4222", credentialsSecret: "gitfleet-hub-nats" }, ...values },
    });
    await applyObjects(kc, [natsSecret, ...objects]);
    return objects;
  };

  it("runs three replicas on three nodes behind one gRPC Service, and a drain takes one at a time", async () => {
    const objects = await install("gitfleet", "gitfleet-hub", {});
    assert.ok(objects.some((o) => o.kind === "PodDisruptionBudget"), "the defaults render a PodDisruptionBudget");

    let running: Pod[] = [];
    await waitFor(
      async () => {
        running = (await pods("gitfleet", "gitfleet-hub")).filter(ready);
        return running.length === 3;
      },
      { what: "three ready hub pods", timeoutMs: 120_000, intervalMs: 500 },
    );
    const nodes = new Set(running.map((p) => p.spec.nodeName));
    assert.deepEqual([...nodes].sort(), ["kwok-node-1", "kwok-node-2", "kwok-node-3"], "the replicas spread over the three nodes");

    // The agents' one Service has every replica behind it.
    await waitFor(
      async () => {
        const reply = await api("GET", `/apis/discovery.k8s.io/v1/namespaces/gitfleet/endpointslices?labelSelector=${encodeURIComponent("kubernetes.io/service-name=gitfleet-hub-grpc")}`);
        const endpoints = (reply.body as { items: { endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name: string } }[] }[] }).items.flatMap((s) => s.endpoints ?? []);
        const names = endpoints.filter((e) => e.conditions?.ready).map((e) => e.targetRef?.name).sort();
        return JSON.stringify(names) === JSON.stringify(running.map((p) => p.metadata.name).sort());
      },
      { what: "the gRPC Service's endpoints to be the three hub pods", timeoutMs: 60_000, intervalMs: 500 },
    );

    // The budget counts exactly the hub's pods: 3 expected, 2 must stay, 1 may go.
    let status: Record<string, unknown> = {};
    await waitFor(
      async () => {
        const reply = await api("GET", "/apis/policy/v1/namespaces/gitfleet/poddisruptionbudgets/gitfleet-hub");
        status = (reply.body as { status?: Record<string, unknown> }).status ?? {};
        return status["expectedPods"] === 3 && status["currentHealthy"] === 3;
      },
      { what: "the PodDisruptionBudget to count three healthy hub pods", timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal(status["desiredHealthy"], 2);
    assert.equal(status["disruptionsAllowed"], 1);

    // A drain cordons its node, then evicts through the Eviction API. Every node is drained here, so
    // no replacement can start while the budget is spent (the lab's nodes would make one ready
    // within moments, and the budget would rightly allow the next eviction).
    const cordon = async (unschedulable: boolean): Promise<void> => {
      for (const node of nodes) {
        const got = await api("GET", `/api/v1/nodes/${node}`);
        const current = got.body as { spec?: Record<string, unknown> };
        const put = await api("PUT", `/api/v1/nodes/${node}`, { ...current, spec: { ...current.spec, unschedulable } });
        assert.equal(put.status, 200, JSON.stringify(put.body));
      }
    };
    await cordon(true);
    // The first hub pod may go, the next one must wait.
    const evict = (name: string) =>
      api("POST", `/api/v1/namespaces/gitfleet/pods/${name}/eviction`, { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "gitfleet" } });
    const [first, second] = running;
    assert.ok(first && second);
    const allowed = await evict(first.metadata.name);
    assert.equal(allowed.status, 201, JSON.stringify(allowed.body));
    const refused = await evict(second.metadata.name);
    assert.equal(refused.status, 429, `the second eviction is refused while one replica is down: ${JSON.stringify(refused.body)}`);
    assert.match(JSON.stringify(refused.body), /disruption budget/);
    await cordon(false);

    // The Deployment replaces the evicted replica, on the node left without one.
    await waitFor(
      async () => {
        const now = (await pods("gitfleet", "gitfleet-hub")).filter(ready);
        return now.length === 3 && !now.some((p) => p.metadata.name === first.metadata.name) && new Set(now.map((p) => p.spec.nodeName)).size === 3;
      },
      { what: "three ready hub pods on three nodes again", timeoutMs: 120_000, intervalMs: 500 },
    );
  });

  it("with required anti-affinity, a replica more than there are nodes stays unscheduled", async () => {
    await install("gitfleet-strict", "strict", { replicaCount: 4, podAntiAffinity: { mode: "hard" } });
    let all: Pod[] = [];
    await waitFor(
      async () => {
        all = await pods("gitfleet-strict", "strict");
        const pending = all.filter((p) => (p.status?.conditions ?? []).some((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable"));
        return all.filter(ready).length === 3 && pending.length === 1;
      },
      { what: "three ready pods and one unschedulable", timeoutMs: 120_000, intervalMs: 500 },
    );
    assert.equal(new Set(all.filter(ready).map((p) => p.spec.nodeName)).size, 3, "one replica per node");
  });
});
