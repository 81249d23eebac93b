// The agent chart's promise, kept on the lab: its RBAC objects are applied for real, the agent
// process runs with the environment its Deployment gives it and a kubeconfig holding nothing but
// a TokenRequest token of the chart's ServiceAccount, and it registers, applies its desired
// state and keeps its identity. In rbac.mode=namespaced a bundle that reaches outside the
// allowed namespaces fails with the API server's "forbidden", and the other bundles still apply.
import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { createKubeClient, IDENTITY_SECRET, KubeApiError } from "@gitfleet/agent";
import { waitForSynced, startFleet, type ClusterStatusView, type Fleet } from "../fleet/fleet.js";
import { kubeConfigFor } from "../kube-client.js";
import { kubeconfigYaml } from "../lab/kube.js";
import { freePort } from "../lab/ports.js";
import { startProcess, waitFor, type LabProcess } from "../lab/process.js";
import { applyObjects, ensureNamespaces, serviceAccountToken } from "./cluster.js";
import { findObject, helmBinary, helmTemplate, type RenderedObject } from "./helm.js";
import { containerRuntime } from "./pod-runtime.js";
import { skipUnlessTool } from "../lab/skip.js";

const skip = skipUnlessTool(!helmBinary() ? "GITFLEET_HELM_BIN is not set (path of the pinned helm binary; `npm test` builds it)" : false);
const root = fileURLToPath(new URL("../../..", import.meta.url));
const agentMain = join(root, "agent/src/main.ts");
const NAMESPACE = "gitfleet-system";

const fleetFiles: Record<string, string> = {
  "fleet.yaml": `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: apps
    path: apps
    namespace: apps-a
    clusterSelector: {}
  - name: outside
    path: outside
    clusterSelector: {}
  - name: platform
    path: platform
    clusterSelector:
      matchLabels: { rbac: cluster }
`,
  "apps/web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: hello\n",
  "outside/intruder.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: intruder\n  namespace: apps-b\ndata:\n  reach: too-far\n",
  "platform/tools.yaml":
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: platform-tools\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: fleet-reader\nrules:\n  - apiGroups: [\"\"]\n    resources: [configmaps]\n    verbs: [get, list, watch]\n",
};

/** One agent installed from the chart into a lab cluster, running as a process. */
interface InstalledAgent {
  objects: RenderedObject[];
  healthPort: number;
  /** The ServiceAccount token the agent runs with. */
  token: string;
  process: LabProcess;
  restart(): Promise<void>;
}

describe("the agent under the chart's own RBAC", { skip, timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  let work: string;
  let head: string;
  const agents: InstalledAgent[] = [];

  const install = async (cluster: string, values: Record<string, unknown>): Promise<InstalledAgent> => {
    const admin = kubeConfigFor(fleet.cluster(cluster));
    const { secret: registrationToken } = await fleet.api.post<{ secret: string }>("/registration-tokens", {
      maxUses: 1,
      description: `chart ${cluster}`,
      // The token grants the labels the chart's clusterLabels ask for.
      labels: values["clusterLabels"] ?? {},
    });
    const healthPort = await freePort();
    const objects = await helmTemplate({
      chart: "gitfleet-agent",
      release: "gitfleet-agent",
      namespace: NAMESPACE,
      values: {
        clusterName: cluster,
        hub: { address: fleet.grpcAddress, tls: { mode: "ca", caSecret: { name: "hub-ca" } } },
        registration: { token: registrationToken },
        health: { port: healthPort },
        reconcileInterval: "5s",
        logLevel: "debug",
        ...values,
      },
    });
    // What `helm install` would create, for real; the Deployment's pod is this machine's process.
    const hubCa: RenderedObject = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "hub-ca", namespace: NAMESPACE },
      stringData: { "ca.crt": fleet.tls.certPem.toString("utf8") },
    };
    await applyObjects(admin, [hubCa, ...objects.filter((o) => o.kind !== "Deployment")]);

    const deployment = findObject(objects, "Deployment");
    const serviceAccount = findObject(objects, "ServiceAccount").metadata.name;
    const dir = join(work, cluster);
    await mkdir(dir, { recursive: true });
    const runtime = await containerRuntime(deployment, "agent", { namespace: NAMESPACE, podName: `gitfleet-agent-${cluster}`, objects: [...objects, hubCa] }, join(dir, "root"));
    // In a pod the kubelet mounts a token of the ServiceAccount; here a kubeconfig holds one.
    const kubeconfig = join(dir, "kubeconfig");
    const token = await serviceAccountToken(admin, NAMESPACE, serviceAccount);
    await writeFile(kubeconfig, kubeconfigYaml({ ...fleet.cluster(cluster), token }), { mode: 0o600 });

    const start = () =>
      startProcess({
        name: `gitfleet-agent ${cluster}`,
        command: process.execPath,
        args: ["--conditions=@gitfleet/source", "--import", "tsx", agentMain, ...runtime.args],
        env: { ...runtime.env, GITFLEET_KUBECONFIG: kubeconfig },
        cwd: root,
        logFile: join(fleet.lab.dir, `agent-process-${cluster}.log`),
      });
    const installed: InstalledAgent = {
      objects,
      healthPort,
      token,
      process: await start(),
      async restart() {
        await installed.process.stop();
        installed.process = await start();
      },
    };
    agents.push(installed);
    return installed;
  };

  const readyz = async (agent: InstalledAgent): Promise<{ status: number; text: string }> => {
    const response = await fetch(`http://127.0.0.1:${agent.healthPort}/readyz`);
    return { status: response.status, text: await response.text() };
  };

  const leaseOf = async (cluster: string): Promise<{ holder: string; transitions: number } | undefined> => {
    const kube = createKubeClient({ kubeConfig: kubeConfigFor(fleet.cluster(cluster)) });
    const live = await kube.get({ group: "coordination.k8s.io", version: "v1", kind: "Lease", namespace: NAMESPACE, name: "gitfleet-agent" });
    const spec = (live?.["spec"] ?? {}) as { holderIdentity?: string; leaseTransitions?: number };
    return live && { holder: spec.holderIdentity ?? "", transitions: spec.leaseTransitions ?? 0 };
  };

  const configMap = (cluster: string, namespace: string, name: string) =>
    createKubeClient({ kubeConfig: kubeConfigFor(fleet.cluster(cluster)) }).get({ group: "", version: "v1", kind: "ConfigMap", namespace, name });

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-chart-seed-"));
    work = await mkdtemp(join(tmpdir(), "gitfleet-chart-agents-"));
    for (const [path, content] of Object.entries(fleetFiles)) {
      await mkdir(join(seed, path, ".."), { recursive: true });
      await writeFile(join(seed, path), content);
    }
    fleet = await startFleet({ clusters: ["rbac-cluster", "rbac-namespaced"], seed });
    head = await fleet.head();
    for (const cluster of ["rbac-cluster", "rbac-namespaced"]) {
      await ensureNamespaces(kubeConfigFor(fleet.cluster(cluster)), [NAMESPACE, "apps-a", "apps-b"]);
    }
  });

  after(async () => {
    await Promise.allSettled(agents.map((a) => a.process.stop()));
    await fleet?.stop();
    for (const dir of [seed, work]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("rbac.mode=cluster: registers, applies every bundle anywhere, and keeps its identity", async () => {
    const agent = await install("rbac-cluster", { clusterLabels: { rbac: "cluster" } });
    const status = await waitForSynced(fleet.api, "rbac-cluster", head, { bundles: ["apps", "outside", "platform"], timeoutMs: 90_000 });
    assert.deepEqual(status.labels, { rbac: "cluster" });
    assert.equal((await configMap("rbac-cluster", "apps-a", "web-config"))?.["data"] !== undefined, true);
    assert.ok(await configMap("rbac-cluster", "apps-b", "intruder"), "cluster mode reaches every namespace");
    const admin = createKubeClient({ kubeConfig: kubeConfigFor(fleet.cluster("rbac-cluster")) });
    assert.ok(await admin.get({ group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", namespace: "", name: "fleet-reader" }));
    assert.ok(await admin.get({ group: "", version: "v1", kind: "Secret", namespace: NAMESPACE, name: IDENTITY_SECRET }), "the identity Secret");
    const ready = await readyz(agent);
    assert.equal(ready.status, 200, ready.text);
  });

  it("rbac.mode=namespaced: applies in its namespaces, reports the bundle that reaches outside as forbidden", async () => {
    const agent = await install("rbac-namespaced", {
      clusterLabels: { rbac: "namespaced" },
      rbac: { mode: "namespaced", namespaces: ["apps-a"] },
      // Leader election works within the chart's own-namespace Role too.
      leaderElection: { enabled: true },
    });
    const status = await waitFor(
      async () => {
        const c = await fleet.api.get<ClusterStatusView>("/clusters/rbac-namespaced");
        const bundle = (name: string) => c.bundles?.find((b) => b.name === name);
        return c.observedRevision === head && bundle("apps")?.sync === "synced" && bundle("outside")?.sync === "failed" ? c : undefined;
      },
      { what: "rbac-namespaced: apps synced and outside failed", timeoutMs: 90_000, intervalMs: 250 },
    );
    assert.deepEqual(status.bundles?.map((b) => b.name).sort(), ["apps", "outside"], "the platform bundle targets cluster-mode agents only");
    const outside = status.bundles?.find((b) => b.name === "outside");
    assert.match(
      outside?.message ?? "",
      /ConfigMap apps-b\/intruder: .*configmaps "intruder" is forbidden: User "system:serviceaccount:gitfleet-system:gitfleet-agent" cannot patch resource "configmaps" in API group "" in the namespace "apps-b"/,
    );
    assert.ok(await configMap("rbac-namespaced", "apps-a", "web-config"), "the allowed bundle applied");
    assert.equal(await configMap("rbac-namespaced", "apps-b", "intruder"), undefined, "nothing outside the allowed namespaces");

    // The token holds the chart's rights and nothing more.
    const asAgent = createKubeClient({ kubeConfig: kubeConfigFor({ ...fleet.cluster("rbac-namespaced"), token: agent.token }) });
    await assert.rejects(asAgent.get({ group: "", version: "v1", kind: "Secret", namespace: "apps-b", name: "anything" }), isForbidden);
    await assert.rejects(asAgent.get({ group: "", version: "v1", kind: "Secret", namespace: NAMESPACE, name: "gitfleet-agent-registration" }), isForbidden);
    assert.ok(await asAgent.get({ group: "", version: "v1", kind: "Secret", namespace: NAMESPACE, name: IDENTITY_SECRET }), "it reads its own identity");

    // A restart reuses the stored identity: the single-use token is spent, so registering again would fail.
    const registered = await fleet.api.get<ClusterStatusView>("/clusters/rbac-namespaced");
    const leaseBefore = await leaseOf("rbac-namespaced");
    assert.ok(leaseBefore?.holder, "the agent holds the Lease gitfleet-agent");
    await agent.restart();
    const leaseAfter = await waitFor(
      async () => {
        const seen = await leaseOf("rbac-namespaced");
        return seen?.holder && seen.holder !== leaseBefore.holder ? seen : undefined;
      },
      { what: "the restarted agent holding the lease", timeoutMs: 30_000, process: agent.process },
    );
    assert.equal(leaseAfter.transitions, 1, "the stopped agent released the lease and the new one took it");
    const ready = await waitFor(
      async () => {
        const answer = await readyz(agent);
        return answer.status === 200 && answer.text.startsWith("ok: desired state") ? answer : undefined;
      },
      { what: "the restarted agent's /readyz: a desired state applied", timeoutMs: 60_000, process: agent.process },
    );
    assert.equal(ready.text, `ok: desired state ${head.slice(0, 12)} applied\n`);
    assert.match(await agentLog(agent), /"msg":"enforcing the stored desired state until NATS answers"/);
    assert.equal((await fleet.api.get<ClusterStatusView>("/clusters/rbac-namespaced")).id, registered.id, "the same cluster");
    const { items } = await fleet.api.get<{ items: { description?: string; uses?: number }[] }>("/registration-tokens");
    assert.equal(items.find((t) => t.description === "chart rbac-namespaced")?.uses, 1, "registered once");
  });
});

async function agentLog(agent: InstalledAgent): Promise<string> {
  return await readFile(agent.process.logFile, "utf8");
}

function isForbidden(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 403;
}
