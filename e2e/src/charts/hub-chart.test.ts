// The hub chart and the hub binary cannot drift apart: gitfleet-hub starts, outside Kubernetes,
// with exactly the environment and the files the chart's Deployment gives its container
// (rendered by helm, Secret keys resolved, Secret volumes written where they are mounted), and
// with that alone it reaches NATS, reads the fleet repository with the Git credentials, serves
// TLS to agents, accepts the admin token and the webhook secret, reads the notification sinks
// file, and registers an agent.
import { strict as assert } from "node:assert";
import { createHmac, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { createAgent, type Agent } from "@gitfleet/agent";
import { createHubClient, parseExposition, sampleValue } from "@gitfleet/hub";
import { selfSignedCert } from "../fleet/tls.js";
import { waitForSynced } from "../fleet/fleet.js";
import { kubeConfigFor } from "../kube-client.js";
import { startLab, type Lab } from "../lab/lab.js";
import { freePort } from "../lab/ports.js";
import { startProcess, waitFor, type LabProcess } from "../lab/process.js";
import { applyObjects, ensureNamespaces } from "./cluster.js";
import { findObject, helmBinary, helmTemplate, type RenderedObject } from "./helm.js";
import { containerRuntime, type ContainerRuntime } from "./pod-runtime.js";
import { skipUnlessTool } from "../lab/skip.js";

const skip = skipUnlessTool(!helmBinary() ? "GITFLEET_HELM_BIN is not set (path of the pinned helm binary; `npm test` builds it)" : false);
const root = fileURLToPath(new URL("../../..", import.meta.url));
const hubMain = join(root, "hub/src/main.ts");
const NAMESPACE = "gitfleet";

const at = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, key) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined), value);

const secret = (name: string, stringData: Record<string, string>, type = "Opaque"): RenderedObject => ({
  apiVersion: "v1",
  kind: "Secret",
  type,
  metadata: { name, namespace: NAMESPACE },
  stringData,
});

describe("the hub started from its chart", { skip, timeout: 300_000 }, () => {
  let lab: Lab;
  let seed: string;
  let work: string;
  let hub: LabProcess | undefined;
  let agent: Agent | undefined;

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-hub-chart-seed-"));
    work = await mkdtemp(join(tmpdir(), "gitfleet-hub-chart-"));
    await writeFile(
      join(seed, "fleet.yaml"),
      "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: hello\n    path: hello\n    namespace: default\n    clusterSelector: {}\n",
    );
    await mkdir(join(seed, "hello"));
    await writeFile(join(seed, "hello", "config.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  from: the hub chart\n");
    lab = await startLab({ clusterNames: ["hub-chart"], seeds: { fleet: seed } });
  });

  after(async () => {
    await agent?.stop();
    await hub?.stop();
    await lab?.stop();
    for (const dir of [seed, work]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("starts with exactly the chart's environment and files, is ready, and registers an agent", async () => {
    const info = lab.info();
    const tls = await selfSignedCert(work);
    const adminToken = `gf_admin_${randomBytes(24).toString("base64url")}`;
    const webhookSecret = randomBytes(16).toString("hex");
    // The fleet repository without credentials in its URL: they come from their own Secret.
    const gitUrl = new URL(info.git.url);
    const [gitUser, gitPassword] = [decodeURIComponent(gitUrl.username), decodeURIComponent(gitUrl.password)];
    gitUrl.username = "";
    gitUrl.password = "";

    // The Secrets an operator creates before `helm install` (the chart references them).
    const secrets = [
      secret("gitfleet-hub-nats", { "hub.creds": await readFile(lab.nats.adminCredsPath, "utf8"), "signing.seed": info.nats.accountSigningSeed }),
      secret("gitfleet-fleet-repo", { username: gitUser, password: gitPassword }),
      secret("gitfleet-hub-secrets", { "admin-token": adminToken, "webhook-secret": webhookSecret }),
      secret("gitfleet-hub-tls", { "tls.crt": tls.certPem.toString("utf8"), "tls.key": await readFile(tls.keyPath, "utf8") }, "kubernetes.io/tls"),
      secret("gitfleet-hub-notifications", { "sinks.yaml": "sinks:\n  - name: chat\n    type: slack\n    url: http://127.0.0.1:9/services/T0/B0/hunter2\n" }),
    ];
    const [httpPort, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const objects = await helmTemplate({
      chart: "gitfleet-hub",
      release: "gitfleet-hub",
      namespace: NAMESPACE,
      values: {
        replicaCount: 1,
        // The lab runs one NATS server: one JetStream replica (the chart's default is 3).
        nats: { url: info.nats.url, credentialsSecret: "gitfleet-hub-nats", replicas: 1 },
        git: { url: gitUrl.toString(), pollInterval: "1h", credentialsSecret: "gitfleet-fleet-repo" },
        webhook: { existingSecret: "gitfleet-hub-secrets" },
        adminToken: { existingSecret: "gitfleet-hub-secrets" },
        tls: { enabled: true, secretName: "gitfleet-hub-tls" },
        notifications: { existingSecret: "gitfleet-hub-notifications" },
        ports: { http: httpPort, grpc: grpcPort },
        metrics: { port: metricsPort, prometheusScrape: true },
        logLevel: "debug",
      },
    });
    // The API server accepts the install as a whole: the Secrets and everything the chart renders.
    const admin = kubeConfigFor(lab.info().clusters[0] ?? assert.fail("no lab cluster"));
    await ensureNamespaces(admin, [NAMESPACE]);
    await applyObjects(admin, [...secrets, ...objects], { dryRun: true });

    const deployment = findObject(objects, "Deployment");
    const runtime: ContainerRuntime = await containerRuntime(
      deployment,
      "hub",
      { namespace: NAMESPACE, podName: "gitfleet-hub-0", objects: [...objects, ...secrets] },
      join(work, "root"),
    );
    assert.deepEqual(
      Object.keys(runtime.env).sort(),
      [
        "GITFLEET_ADMIN_TOKEN", "GITFLEET_CREDENTIAL_TTL", "GITFLEET_DELIVERY_LEASE_TTL", "GITFLEET_EVENTS_MAX_AGE", "GITFLEET_EVENTS_MAX_COUNT", "GITFLEET_GIT_BRANCH",
        "GITFLEET_GIT_PASSWORD", "GITFLEET_GIT_POLL_INTERVAL", "GITFLEET_GIT_URL", "GITFLEET_GIT_USERNAME", "GITFLEET_GRPC_ADDR",
        "GITFLEET_GRPC_TLS_CERT", "GITFLEET_GRPC_TLS_KEY", "GITFLEET_HEARTBEAT_INTERVAL", "GITFLEET_HTTP_ADDR", "GITFLEET_LOG_LEVEL", "GITFLEET_METRICS_ADDRESS",
        "GITFLEET_NATS_ACCOUNT_SIGNING_SEED_FILE", "GITFLEET_NATS_CREDS", "GITFLEET_NATS_REPLICAS", "GITFLEET_NATS_URL",
        "GITFLEET_NOTIFY_SINKS_FILE", "GITFLEET_WEBHOOK_SECRET",
      ],
    );
    assert.equal(runtime.env["GITFLEET_NATS_CREDS"], join(work, "root", "etc/gitfleet/nats/hub.creds"), "only mount paths move");

    hub = await startProcess({
      name: "gitfleet-hub (chart)",
      command: process.execPath,
      args: ["--conditions=@gitfleet/source", "--import", "tsx", hubMain, ...runtime.args],
      env: runtime.env,
      cwd: root,
      logFile: join(work, "hub.log"),
    });
    const running = hub;
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200,
      { what: "the hub's /readyz on the chart's HTTP port", timeoutMs: 60_000, intervalMs: 250, process: running },
    );

    const api = createHubClient({ url: `http://127.0.0.1:${httpPort}`, token: adminToken });
    const { secret: token } = await api.post<{ secret: string }>("/registration-tokens", { description: "hub chart" });
    const cluster = lab.info().clusters[0] ?? assert.fail("no lab cluster");
    agent = createAgent({
      kubeConfig: kubeConfigFor(cluster),
      hub: `localhost:${grpcPort}`,
      hubTls: { mode: "ca", caPem: tls.certPem },
      token,
      clusterName: "hub-chart",
      reconcileIntervalMs: 5_000,
    });
    await agent.start();
    const { stdout } = await promisify(execFile)("git", ["ls-remote", info.git.url, "refs/heads/main"]);
    const head = stdout.split(/\s/)[0] ?? "";
    const synced = await waitForSynced(api, "hub-chart", head, { timeoutMs: 60_000 });
    assert.equal(synced.connected, true);

    // Prometheus follows the pod's scrape annotations: they name the port and path /metrics is on.
    const annotations = (at(deployment, "spec", "template", "metadata", "annotations") ?? {}) as Record<string, string>;
    assert.equal(annotations["prometheus.io/scrape"], "true");
    const scraped = await fetch(`http://127.0.0.1:${annotations["prometheus.io/port"]}${annotations["prometheus.io/path"]}`);
    assert.equal(scraped.status, 200, "the scrape annotations point at a working /metrics");
    const samples = parseExposition(await scraped.text());
    assert.equal(sampleValue(samples, "gitfleet_clusters", { state: "synced" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_grpc_streams_open"), 1);

    const body = JSON.stringify({ ref: "refs/heads/main" });
    const webhook = await fetch(`http://127.0.0.1:${httpPort}/api/v1/webhooks/git`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-hub-signature-256": `sha256=${createHmac("sha256", webhookSecret).update(body).digest("hex")}`,
      },
      body,
    });
    assert.equal(webhook.status, 202, "the webhook secret from the chart's Secret is the hub's");
    const { items: sinks } = await api.get<{ items: Array<{ name: string; url: string }> }>("/notifications/sinks");
    assert.deepEqual(sinks.map((s) => [s.name, s.url]), [["chat", "http://127.0.0.1:9/…"]], "the sinks file from the chart's Secret is the hub's");

    await agent.stop();
    agent = undefined;
    await running.stop();
    assert.equal(await running.exited, 0, "the hub stops cleanly on SIGTERM");
  });
});
