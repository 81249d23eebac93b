// The Helm charts as an operator meets them: they lint, they render for every values file under
// ci/, a missing required value stops helm with a message that names it, and a real
// kube-apiserver accepts every object they render (server-side dry-run: validated and admitted,
// nothing stored).
import { strict as assert } from "node:assert";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { kubeConfigFor } from "../kube-client.js";
import { startKubeApiserver, type KubeApiserver } from "../lab/kube.js";
import { applyObjects, ensureNamespaces } from "./cluster.js";
import { HelmError, chartsDir, ciValuesFiles, findObject, helmBinary, helmLint, helmTemplate, type ChartName, type RenderedObject } from "./helm.js";
import { skipUnlessTool } from "../lab/skip.js";

const kubeBinary = process.env["GITFLEET_KUBE_APISERVER_BIN"];
const skip = skipUnlessTool(
  !helmBinary()
    ? "GITFLEET_HELM_BIN is not set (path of the pinned helm binary; `npm test` builds it)"
    : !kubeBinary
      ? "GITFLEET_KUBE_APISERVER_BIN is not set (path of the lab's kube-apiserver binary; `npm test` builds it)"
      : false,
);

/** Where each chart is installed in these tests, and the namespaces its values files name. */
const installs: Record<ChartName, { namespace: string; extraNamespaces: string[] }> = {
  "gitfleet-agent": { namespace: "gitfleet-system", extraNamespaces: ["team-a-web", "team-a-jobs"] },
  "gitfleet-hub": { namespace: "gitfleet", extraNamespaces: [] },
};

type Json = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, key) => (typeof v === "object" && v !== null ? (v as Json)[key as string] : undefined), value);

function podSpec(deployment: RenderedObject): Json {
  return at(deployment, "spec", "template", "spec") as Json;
}

function containerEnv(deployment: RenderedObject): Map<string, Json> {
  const container = at(podSpec(deployment), "containers", 0) as Json;
  return new Map((container["env"] as Json[]).map((e) => [e["name"] as string, e]));
}

/** What every Deployment of both charts must hold, whatever the values. */
function assertHardened(deployment: RenderedObject): void {
  const pod = podSpec(deployment);
  const container = at(pod, "containers", 0) as Json;
  assert.equal(at(pod, "securityContext", "runAsNonRoot"), true, "the pod runs as non-root");
  assert.equal(at(container, "securityContext", "readOnlyRootFilesystem"), true, "the root filesystem is read-only");
  assert.equal(at(container, "securityContext", "allowPrivilegeEscalation"), false);
  assert.deepEqual(at(container, "securityContext", "capabilities", "drop"), ["ALL"]);
  assert.ok(at(container, "resources", "requests", "memory") && at(container, "resources", "limits", "memory"), "requests and limits");
  assert.equal(at(container, "livenessProbe", "httpGet", "path"), "/healthz");
  assert.equal(at(container, "readinessProbe", "httpGet", "path"), "/readyz");
}

describe("the Helm charts", { skip, timeout: 300_000 }, () => {
  let dir: string;
  let kas: KubeApiserver;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-charts-"));
    kas = await startKubeApiserver({ name: "charts", binary: kubeBinary ?? "", dir });
    const kc = kubeConfigFor(kas);
    await ensureNamespaces(kc, Object.values(installs).flatMap((i) => [i.namespace, ...i.extraNamespaces]));
  });

  after(async () => {
    await kas?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const chart of ["gitfleet-agent", "gitfleet-hub"] as const) {
    it(`${chart}: lints, renders for every ci/ values file, and the API server accepts every object`, async () => {
      const files = await ciValuesFiles(chart);
      assert.ok(files.length >= 2, `${chart} has values files under ci/`);
      for (const file of files) {
        await helmLint({ chart, valuesFiles: [file] });
        const objects = await helmTemplate({ chart, release: chart, namespace: installs[chart].namespace, valuesFiles: [file] });
        assertHardened(findObject(objects, "Deployment"));
        try {
          await applyObjects(kubeConfigFor(kas), objects, { dryRun: true });
        } catch (error) {
          assert.fail(`${basename(file)}: ${(error as Error).message}`);
        }
      }
    });
  }

  it("the dry-run refuses what the API server would refuse: a misspelled field is not dropped on the way", async () => {
    const objects = await helmTemplate({
      chart: "gitfleet-agent",
      release: "gitfleet-agent",
      namespace: "gitfleet-system",
      valuesFiles: [join(dirnameOf("gitfleet-agent"), "cluster-values.yaml")],
    });
    const deployment = structuredClone(findObject(objects, "Deployment"));
    (deployment["spec"] as Json)["replica"] = 2;
    await assert.rejects(applyObjects(kubeConfigFor(kas), [deployment], { dryRun: true }), /\.spec\.replica: field not declared in schema/);
  });

  it("gitfleet-agent: grants cluster-wide or per-namespace rights by rbac.mode, and its own namespace's in both", async () => {
    const render = (name: string) =>
      helmTemplate({
        chart: "gitfleet-agent",
        release: "gitfleet-agent",
        namespace: "gitfleet-system",
        valuesFiles: [join(dirnameOf("gitfleet-agent"), `${name}-values.yaml`)],
      });

    const cluster = await render("cluster");
    assert.deepEqual(cluster.filter((o) => o.kind === "ClusterRole").map((o) => o.metadata.name), ["gitfleet-agent-gitfleet-system"]);
    assert.deepEqual(cluster.filter((o) => o.kind === "Role").map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ["gitfleet-system/gitfleet-agent-self"]);
    const env = containerEnv(findObject(cluster, "Deployment"));
    assert.equal(env.get("GITFLEET_LABELS")?.["value"], "env=prod,region=eu");
    assert.equal(env.get("GITFLEET_LEADER_ELECT")?.["value"], "false");
    assert.equal(at(env.get("GITFLEET_REGISTRATION_TOKEN"), "valueFrom", "secretKeyRef", "name"), "gitfleet-agent-registration");
    assert.equal(at(env.get("GITFLEET_HUB_ADDRESS"), "valueFrom", "secretKeyRef", "key"), "hub");
    assert.ok(!env.has("GITFLEET_HUB") && !env.has("GITFLEET_TOKEN"), "the agent's own names, not the CLI's");
    assert.equal(at(findObject(cluster, "Secret"), "stringData", "hub"), "hub.gitfleet.example:443");
    // The agent guards its own RBAC by these names: they must be the names the chart gives it.
    assert.equal(at(env.get("GITFLEET_SERVICE_ACCOUNT"), "valueFrom", "fieldRef", "fieldPath"), "spec.serviceAccountName");
    assert.equal(env.get("GITFLEET_RBAC_NAME")?.["value"], "gitfleet-agent");

    const namespaced = await render("namespaced");
    assert.equal(namespaced.filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding").length, 0, "no cluster-wide rights");
    assert.deepEqual(
      namespaced.filter((o) => o.kind === "RoleBinding").map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort(),
      ["gitfleet-system/gitfleet-agent-self", "team-a-jobs/gitfleet-agent", "team-a-web/gitfleet-agent"],
    );
    const tenantRole = findObject(namespaced.filter((o) => o.metadata.namespace === "team-a-web"), "Role");
    assert.ok(!JSON.stringify(tenantRole["rules"]).includes("escalate"), "allowRbacEscalation=false grants no bind/escalate");
    assert.equal(containerEnv(findObject(namespaced, "Deployment")).get("GITFLEET_HUB_CA")?.["value"], "/etc/gitfleet/hub-ca/ca.crt");
    assert.equal(containerEnv(findObject(namespaced, "Deployment")).get("GITFLEET_NATS_CA")?.["value"], "/etc/gitfleet/nats-ca/ca.crt");
    assert.equal(containerEnv(findObject(cluster, "Deployment")).get("GITFLEET_NATS_CA"), undefined, "the system's root CAs by default");
    const natsCa = (at(podSpec(findObject(namespaced, "Deployment")), "volumes") as { name: string; secret?: { secretName: string } }[]).find((v) => v.name === "nats-ca");
    assert.equal(natsCa?.secret?.secretName, "nats-ca");

    const ha = await render("ha");
    const deployment = findObject(ha, "Deployment");
    assert.equal(at(deployment, "spec", "replicas"), 2);
    assert.equal(containerEnv(deployment).get("GITFLEET_LEADER_ELECT")?.["value"], "true", "two replicas elect a leader");
    assert.equal(ha.filter((o) => o.kind === "Secret").length, 0, "an existing Secret is referenced, not created");
    assert.equal(at(containerEnv(deployment).get("GITFLEET_HUB_ADDRESS"), "valueFrom", "secretKeyRef", "name"), "gitfleet-agent-bootstrap");
    assert.equal(at(podSpec(deployment), "serviceAccountName"), "fleet-agent");
  });

  it("gitfleet-hub: maps its values onto the hub's settings, files for the NATS secrets and TLS", async () => {
    const objects = await helmTemplate({
      chart: "gitfleet-hub",
      release: "gitfleet-hub",
      namespace: "gitfleet",
      valuesFiles: [join(dirnameOf("gitfleet-hub"), "full-values.yaml")],
    });
    const deployment = findObject(objects, "Deployment");
    const env = containerEnv(deployment);
    assert.equal(at(deployment, "spec", "replicas"), 3);
    assert.equal(env.get("GITFLEET_NATS_CREDS")?.["value"], "/etc/gitfleet/nats/hub.creds");
    assert.equal(env.get("GITFLEET_NATS_ACCOUNT_SIGNING_SEED_FILE")?.["value"], "/etc/gitfleet/nats/signing.seed");
    assert.equal(env.get("GITFLEET_GRPC_TLS_CERT")?.["value"], "/etc/gitfleet/tls/tls.crt");
    assert.equal(at(env.get("GITFLEET_GIT_PASSWORD"), "valueFrom", "secretKeyRef", "name"), "gitfleet-fleet-repo");
    assert.equal(at(env.get("GITFLEET_ADMIN_TOKEN"), "valueFrom", "secretKeyRef", "key"), "admin-token");
    assert.equal(env.get("GITFLEET_EVENTS_MAX_AGE")?.["value"], "14d");
    assert.equal(env.get("GITFLEET_EVENTS_MAX_COUNT")?.["value"], "250000");
    assert.equal(env.get("GITFLEET_NOTIFY_SINKS_FILE")?.["value"], "/etc/gitfleet/notifications/sinks.yaml");
    assert.equal(at(deployment, "spec", "template", "metadata", "annotations", "prometheus.io/scrape"), "true");
    assert.deepEqual(objects.filter((o) => o.kind === "Service").map((o) => o.metadata.name), ["gitfleet-hub", "gitfleet-hub-grpc"]);
    assert.equal(findObject(objects, "PodDisruptionBudget").metadata.name, "gitfleet-hub");
    assert.equal(at(findObject(objects, "ServiceAccount"), "automountServiceAccountToken"), false, "the hub never calls the Kubernetes API");
  });

  it("gitfleet-hub: serves agents TLS by default, with a generated CA; plaintext only when asked for twice", async () => {
    const nats = { url: "nats://n:4222", credentialsSecret: "s" };
    const byDefault = await helmTemplate({ chart: "gitfleet-hub", release: "gitfleet-hub", namespace: "gitfleet", values: { nats } });
    const env = containerEnv(findObject(byDefault, "Deployment"));
    assert.equal(env.get("GITFLEET_GRPC_TLS_CERT")?.["value"], "/etc/gitfleet/tls/tls.crt");
    assert.equal(env.get("GITFLEET_GRPC_TLS_KEY")?.["value"], "/etc/gitfleet/tls/tls.key");
    assert.equal(env.has("GITFLEET_GRPC_ALLOW_PLAINTEXT"), false);
    const secret = findObject(byDefault, "Secret", "gitfleet-hub-grpc-tls");
    assert.equal(at(secret, "type"), "kubernetes.io/tls");
    assert.equal(at(secret, "metadata", "annotations", "helm.sh/resource-policy"), "keep", "uninstalling keeps the CA agents pinned");
    const data = at(secret, "data") as Record<string, string>;
    const ca = new X509Certificate(Buffer.from(data["ca.crt"] ?? "", "base64"));
    const cert = new X509Certificate(Buffer.from(data["tls.crt"] ?? "", "base64"));
    assert.ok(ca.ca, "ca.crt is a CA");
    assert.ok(cert.verify(ca.publicKey), "the serving certificate is signed by the CA in ca.crt");
    assert.match(cert.subjectAltName ?? "", /DNS:gitfleet-hub-grpc\.gitfleet\.svc\b/);
    const volumes = at(podSpec(findObject(byDefault, "Deployment")), "volumes") as Json[];
    assert.equal(at(volumes.find((v) => v["name"] === "tls"), "secret", "secretName"), "gitfleet-hub-grpc-tls");

    const managed = await helmTemplate({
      chart: "gitfleet-hub",
      release: "gitfleet-hub",
      namespace: "gitfleet",
      values: { nats, tls: { certManager: { enabled: true, issuerRef: { name: "fleet-ca", kind: "ClusterIssuer" } }, dnsNames: ["hub.example.com"] } },
    });
    const certificate = findObject(managed, "Certificate");
    assert.equal(at(certificate, "spec", "secretName"), "gitfleet-hub-grpc-tls");
    assert.ok((at(certificate, "spec", "dnsNames") as string[]).includes("hub.example.com"));
    assert.equal(managed.filter((o) => o.kind === "Secret").length, 0, "cert-manager writes the Secret");

    const plaintext = await helmTemplate({
      chart: "gitfleet-hub",
      release: "gitfleet-hub",
      namespace: "gitfleet",
      values: { nats, tls: { enabled: false, allowPlaintext: true } },
    });
    const plainEnv = containerEnv(findObject(plaintext, "Deployment"));
    assert.equal(plainEnv.get("GITFLEET_GRPC_ALLOW_PLAINTEXT")?.["value"], "true", "plaintext passes the hub's own flag");
    assert.equal(plainEnv.has("GITFLEET_GRPC_TLS_CERT"), false);
    assert.equal(plaintext.filter((o) => o.kind === "Secret").length, 0);
  });

  it("gitfleet-hub: three replicas by default, spread over nodes, a disruption budget, the lease settings", async () => {
    const nats = { url: "nats://n:4222", credentialsSecret: "s" };
    const render = (values: Record<string, unknown>) =>
      helmTemplate({ chart: "gitfleet-hub", release: "gitfleet-hub", namespace: "gitfleet", values: { nats, ...values } });

    const byDefault = await render({});
    const deployment = findObject(byDefault, "Deployment");
    assert.equal(at(deployment, "spec", "replicas"), 3);
    const selector = at(deployment, "spec", "selector", "matchLabels") as Record<string, string>;
    assert.deepEqual(Object.keys(selector).sort(), ["app.kubernetes.io/instance", "app.kubernetes.io/name"]);
    const podLabels = at(deployment, "spec", "template", "metadata", "labels") as Record<string, string>;
    for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `the pods carry the selector label ${k}`);

    const env = containerEnv(deployment);
    assert.equal(env.get("GITFLEET_DELIVERY_LEASE_TTL")?.["value"], "15s");
    assert.equal(env.get("GITFLEET_NATS_REPLICAS")?.["value"], "3", "buckets and streams get 3 JetStream replicas");
    const pod = podSpec(deployment);
    const container = at(pod, "containers", 0) as Json;
    assert.deepEqual(at(container, "readinessProbe", "httpGet"), { path: "/readyz", port: "http" });
    assert.deepEqual(at(container, "livenessProbe", "httpGet"), { path: "/healthz", port: "http" });
    assert.equal(at(pod, "terminationGracePeriodSeconds"), 30);
    assert.equal(at(container, "lifecycle"), undefined, "no preStop sleep unless asked for");

    // Preferred anti-affinity over nodes, selecting this release's hub pods.
    assert.deepEqual(at(pod, "affinity"), {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" } },
        ],
      },
    });
    assert.equal(at(pod, "topologySpreadConstraints"), undefined);

    const pdb = findObject(byDefault, "PodDisruptionBudget");
    assert.deepEqual(at(pdb, "spec"), { maxUnavailable: 1, selector: { matchLabels: selector } });

    // One Service for the agents, over every replica, without session affinity.
    const grpc = findObject(byDefault, "Service", "gitfleet-hub-grpc");
    assert.equal(at(grpc, "spec", "sessionAffinity"), "None");
    assert.deepEqual(at(grpc, "spec", "selector"), selector);

    const single = await render({ replicaCount: 1 });
    assert.equal(at(findObject(single, "Deployment"), "spec", "replicas"), 1);
    assert.equal(single.filter((o) => o.kind === "PodDisruptionBudget").length, 0, "no budget for a single replica");
    assert.equal((await render({ podDisruptionBudget: { enabled: false } })).filter((o) => o.kind === "PodDisruptionBudget").length, 0);

    const strict = await render({
      delivery: { leaseTtl: "6s" },
      podAntiAffinity: { mode: "hard" },
      zoneSpread: { enabled: true, whenUnsatisfiable: "DoNotSchedule" },
      topologySpreadConstraints: [{ maxSkew: 2, topologyKey: "example.com/rack", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }],
      podDisruptionBudget: { minAvailable: 2 },
      terminationGracePeriodSeconds: 45,
      preStopSleepSeconds: 5,
    });
    const strictDeployment = findObject(strict, "Deployment");
    const strictPod = podSpec(strictDeployment);
    assert.equal(containerEnv(strictDeployment).get("GITFLEET_DELIVERY_LEASE_TTL")?.["value"], "6s");
    assert.deepEqual(at(strictPod, "affinity"), {
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" }] },
    });
    assert.deepEqual(at(strictPod, "topologySpreadConstraints"), [
      { maxSkew: 2, topologyKey: "example.com/rack", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
      { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: selector } },
    ]);
    assert.deepEqual(at(findObject(strict, "PodDisruptionBudget"), "spec"), { minAvailable: 2, selector: { matchLabels: selector } }, "minAvailable replaces maxUnavailable");
    assert.equal(at(strictPod, "terminationGracePeriodSeconds"), 45);
    assert.deepEqual(at(strictPod, "containers", 0, "lifecycle"), { preStop: { sleep: { seconds: 5 } } });

    const percent = await render({ podDisruptionBudget: { maxUnavailable: "34%" } });
    assert.deepEqual(at(findObject(percent, "PodDisruptionBudget"), "spec", "maxUnavailable"), "34%");

    // An affinity of the operator's own: kept, with the chart's anti-affinity beside it unless it has one.
    const nodeAffinity = { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["control"] }] }] } };
    const withNodes = podSpec(findObject(await render({ affinity: { nodeAffinity } }), "Deployment"));
    assert.deepEqual(at(withNodes, "affinity", "nodeAffinity"), nodeAffinity);
    assert.ok(at(withNodes, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution"));
    const own = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { labelSelector: { matchLabels: { team: "a" } }, topologyKey: "topology.kubernetes.io/zone" } }] };
    assert.deepEqual(at(podSpec(findObject(await render({ affinity: { podAntiAffinity: own } }), "Deployment")), "affinity"), { podAntiAffinity: own });
    assert.equal(at(podSpec(findObject(await render({ podAntiAffinity: { mode: "none" } }), "Deployment")), "affinity"), undefined);

    // Everything above is a valid object for the API server.
    for (const objects of [byDefault, single, strict, percent]) await applyObjects(kubeConfigFor(kas), objects, { dryRun: true });
  });

  it("stops with a message naming a missing required value", async () => {
    const refused = async (chart: ChartName, values: Record<string, unknown>, message: RegExp) => {
      await assert.rejects(helmTemplate({ chart, release: chart, namespace: "default", values }), (error: unknown) => {
        assert.ok(error instanceof HelmError, String(error));
        assert.match(error.stderr, message);
        return true;
      });
    };
    await refused("gitfleet-hub", {}, /nats\.credentialsSecret is required/);
    await refused("gitfleet-hub", { nats: { credentialsSecret: "s" } }, /nats\.url is required/);
    await refused("gitfleet-hub", { nats: { url: "nats://n:4222", credentialsSecret: "s" }, tls: { enabled: false } }, /tls\.enabled is false: plaintext gRPC also needs tls\.allowPlaintext=true/);
    await refused(
      "gitfleet-hub",
      { nats: { url: "nats://n:4222", credentialsSecret: "s" }, tls: { certManager: { enabled: true } } },
      /tls\.certManager\.issuerRef\.name is required/,
    );
    await refused("gitfleet-hub", { nats: { url: "nats://n:4222", credentialsSecret: "s" }, podDisruptionBudget: { maxUnavailable: null } }, /podDisruptionBudget: set maxUnavailable or minAvailable/);
    await refused("gitfleet-hub", { nats: { url: "nats://n:4222", credentialsSecret: "s" }, podAntiAffinity: { mode: "sometimes" } }, /podAntiAffinity\/mode.*must be one of/);
    await refused("gitfleet-hub", { nats: { url: "nats://n:4222", credentialsSecret: "s" }, delivery: { leaseTtl: "soon" } }, /delivery\/leaseTtl.*does not match pattern/);
    await refused("gitfleet-agent", { hub: { address: "h:1" } }, /clusterName is required/);
    await refused("gitfleet-agent", { clusterName: "c" }, /hub\.address is required/);
    await refused("gitfleet-agent", { clusterName: "c", hub: { address: "h:1" }, rbac: { mode: "namespaced" } }, /rbac\.namespaces must list/);
    await refused("gitfleet-agent", { clusterName: "c", hub: { address: "h:1" }, rbac: { mode: "everything" } }, /rbac\/mode.*must be one of/);
    await refused("gitfleet-agent", { clusterName: "c", hub: { address: "h:1", tls: { mode: "ca" } } }, /hub\.tls\.caSecret\.name is required/);
  });
});

function dirnameOf(chart: ChartName): string {
  return join(chartsDir, chart, "ci");
}
