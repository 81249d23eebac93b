// Register clusters with an agent token and deliver their desired state from
// Git, end to end on the lab: real NATS, Git server, kube-apiservers, hub and agents.
import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import type { Agent } from "@gitfleet/agent";
import { credentials, Metadata } from "@grpc/grpc-js";
import { connect, jwtAuthenticator } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { fromSeed } from "@nats-io/nkeys";
import { AgentService, connectProofPayload, createClient, GrpcStatus } from "@gitfleet/proto";
import { kubeConfigFor, readObject } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { startFleet, waitForSynced, type ClusterStatusView, type Fleet } from "../fleet/fleet.js";

const demoFleet = fileURLToPath(new URL("../../fixtures/plain-fleet", import.meta.url));

interface CreatedToken {
  id: string;
  secret: string;
}

/** A ConfigMap manifest as a fleet repository holds it. */
function configMapYaml(name: string, data: Record<string, string>, namespace?: string): string {
  return [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    `  name: ${name}`,
    ...(namespace ? [`  namespace: ${namespace}`] : []),
    "data:",
    ...Object.entries(data).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    "",
  ].join("\n");
}

/**
 * Opens a Connect stream with a credential, proves the cluster's signing key over Welcome's
 * nonce as an agent does, sends one status report and closes.
 */
async function reportWith(fleet: Fleet, grpcToken: string, signingSeed: string, revision: string): Promise<void> {
  const client = createClient(AgentService, fleet.grpcAddress, credentials.createSsl(fleet.tls.certPem), {
    "grpc.ssl_target_name_override": "localhost",
  });
  try {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${grpcToken}`);
    const stream = client.connect({ metadata });
    let reported = false;
    for await (const message of stream) {
      // Welcome comes first; everything after it is drained until the hub ends the call.
      if (reported || message.kind.case !== "welcome") continue;
      const { clusterId, nonce } = message.kind.value;
      const signature = fromSeed(new TextEncoder().encode(signingSeed)).sign(connectProofPayload(clusterId, nonce));
      stream.write({ kind: { case: "proof", value: { signature } } });
      stream.write({ kind: { case: "status", value: { observedRevision: revision } } });
      stream.end();
      reported = true;
    }
  } finally {
    client.close();
  }
}

describe("register a cluster with a token and deliver its desired state from Git", { timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  let head: string;
  const agents = new Map<string, Agent>();

  const configMap = async (cluster: string, name: string, namespace: string) =>
    await readObject<{ apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> }>(
      kubeConfigFor(fleet.cluster(cluster)),
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace } },
    );

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-seed-"));
    await cp(demoFleet, seed, { recursive: true });
    fleet = await startFleet({ clusters: ["staging-us", "prod-us", "prod-eu"], seed });
    head = await fleet.head();
  });

  after(async () => {
    await fleet?.stop();
    await rm(seed, { recursive: true, force: true });
  });

  test("an agent registers with a token; its bundles appear in its cluster and the hub shows it synced at the commit", async () => {
    const created = await fleet.api.post<CreatedToken>("/registration-tokens", {
      ttl: "1h",
      maxUses: 3,
      description: "e2e",
      labels: { fleet: "demo" },
      allowedLabels: { env: ["staging", "prod"], region: ["us", "eu"] },
    });
    const labels: Record<string, Record<string, string>> = {
      "staging-us": { env: "staging", region: "us" },
      "prod-us": { env: "prod", region: "us" },
      "prod-eu": { env: "prod", region: "eu" },
    };
    for (const [name, l] of Object.entries(labels)) {
      agents.set(name, await fleet.startAgent(name, { token: created.secret, labels: l }));
    }
    for (const name of Object.keys(labels)) {
      const status = await waitForSynced(fleet.api, name, head);
      assert.equal(status.connected, true);
      assert.equal(status.labels["fleet"], "demo", "the token's preset labels are applied");
    }
    assert.equal((await configMap("staging-us", "web-config", "web"))?.data?.["environment"], "staging");
    assert.equal((await configMap("prod-eu", "web-config", "web"))?.data?.["region"], "eu");
    const bundles = (await fleet.api.get<ClusterStatusView>("/clusters/prod-eu")).bundles?.map((b) => b.name).sort();
    assert.deepEqual(bundles, ["platform", "web"], "prod-eu gets the bundles that target it");
    assert.equal((await configMap("prod-eu", "web-config", "web"))?.data?.["cluster"], "prod-eu", "${cluster_name} is filled in per cluster");
  });

  test("a pushed commit, announced by webhook, is applied in every cluster it targets", async () => {
    const sha = await fleet.commit(
      {
        "platform/fleet-info.yaml": configMapYaml("fleet-info", { owner: "platform-team" }, "observability"),
      },
      "platform: add fleet-info",
    );
    const res = await fleet.webhook();
    assert.equal(res.status, 202);
    for (const name of ["staging-us", "prod-us", "prod-eu"]) {
      await waitForSynced(fleet.api, name, sha);
      assert.equal((await configMap(name, "fleet-info", "observability"))?.data?.["owner"], "platform-team");
    }
    head = sha;
  });

  test("an invalid manifest fails only its bundle, names the file, and applies nothing of it", async () => {
    const sha = await fleet.commit(
      {
        "apps/web/prod-eu/config.yaml": configMapYaml("web-config", { environment: "prod", region: "eu", replicas: "5" }),
        "apps/web/prod-eu/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\ndata: { a: b }\n",
        "platform/fleet-info.yaml": configMapYaml("fleet-info", { owner: "platform-team-2" }, "observability"),
      },
      "break web in prod-eu, change platform",
    );
    await fleet.webhook();
    // The platform bundle still moves on in prod-eu...
    await waitFor(async () => (await configMap("prod-eu", "fleet-info", "observability"))?.data?.["owner"] === "platform-team-2", {
      what: "platform change applied in prod-eu",
      timeoutMs: 60_000,
    });
    // ...while web reports the error of its prod-eu overlay with the file, and none of its change is applied.
    const status = await waitFor(
      async () => {
        const c = await fleet.api.get<ClusterStatusView>("/clusters/prod-eu");
        return c.errors?.some((e) => e.bundle === "web") ? c : undefined;
      },
      { what: "the web error on prod-eu", timeoutMs: 30_000 },
    );
    const error = status.errors?.find((e) => e.bundle === "web");
    assert.match(error?.message ?? "", /broken\.yaml/);
    assert.equal(error?.target, "prod-eu");
    assert.equal((await configMap("prod-eu", "web-config", "web"))?.data?.["replicas"], "3", "the broken bundle is not half-applied");
    assert.equal(status.errors?.some((e) => e.bundle === "platform"), false);
    // Clusters the broken bundle does not target have no error.
    const us = await waitForSynced(fleet.api, "prod-us", sha);
    assert.deepEqual(us.errors ?? [], []);
    head = sha;
  });

  test("an object rejected by the Kubernetes API fails its bundle with the object named; nothing of that bundle is applied", async () => {
    const sha = await fleet.commit(
      {
        "apps/web/prod-eu/broken.yaml": null,
        "apps/web/prod-us/config.yaml": configMapYaml("web-config", { environment: "prod", region: "us", replicas: "4" }),
        "apps/web/prod-us/bad-service.yaml": [
          "apiVersion: v1",
          "kind: Service",
          "metadata:",
          "  name: bad",
          "spec:",
          "  ports:",
          "    - port: 999999",
          "",
        ].join("\n"),
      },
      "web in prod-us: an invalid Service port",
    );
    await fleet.webhook();
    const bundle = await waitFor(
      async () => {
        const c = await fleet.api.get<ClusterStatusView>("/clusters/prod-us");
        const b = c.bundles?.find((x) => x.name === "web");
        return b?.sync === "failed" && c.observedRevision === sha ? b : undefined;
      },
      { what: "web failed on prod-us", timeoutMs: 60_000 },
    );
    assert.match(bundle.message ?? "", /Service web\/bad/);
    assert.equal((await configMap("prod-us", "web-config", "web"))?.data?.["replicas"], "3", "nothing of the failed bundle is applied");
    // The prod-eu bundle, fixed by the same commit, applies.
    await waitForSynced(fleet.api, "prod-eu", sha);
    assert.equal((await configMap("prod-eu", "web-config", "web"))?.data?.["replicas"], "5");
    head = await fleet.commit({ "apps/web/prod-us/bad-service.yaml": null }, "web in prod-us: drop the bad Service");
    await fleet.webhook();
    await waitForSynced(fleet.api, "prod-us", head);
    assert.equal((await configMap("prod-us", "web-config", "web"))?.data?.["replicas"], "4");
  });

  test("cluster A's agent can neither read B's desired state nor publish or report as B", async () => {
    const a = agents.get("prod-us")?.identity;
    const b = agents.get("staging-us")?.identity;
    assert.ok(a && b);
    const nc = await connect({
      servers: a.credentials.natsServers,
      authenticator: jwtAuthenticator(a.credentials.natsUserJwt, new TextEncoder().encode(a.natsUserSeed)),
      inboxPrefix: a.credentials.natsInboxPrefix,
    });
    try {
      const kv = await new Kvm(nc).open(a.kvBucket, { allow_direct: true });
      assert.ok(await kv.get(`${a.keyPrefix}.desired`), "A reads its own desired state");
      await assert.rejects(kv.get(`${b.keyPrefix}.desired`), /permission/i, "A cannot read B's desired state");
      await assert.rejects(kv.put(`${b.keyPrefix}.desired`, "forged"), /permission|timeout/i, "A cannot publish as B");
      await assert.rejects(kv.put(`${a.keyPrefix}.desired`, "forged"), /permission|timeout/i, "A cannot write even its own");
    } finally {
      await nc.close();
    }
    // A report sent with A's credential lands on A, whatever it says: B's status is untouched.
    const bBefore = await fleet.api.get<ClusterStatusView>("/clusters/staging-us");
    await reportWith(fleet, a.credentials.grpcToken, a.signingSeed, "forged-revision");
    const aAfter = await waitFor(
      async () => {
        const c = await fleet.api.get<ClusterStatusView>("/clusters/prod-us");
        return c.observedRevision === "forged-revision" ? c : undefined;
      },
      { what: "the report to land on prod-us", timeoutMs: 10_000 },
    );
    assert.equal(aAfter.name, "prod-us");
    assert.equal((await fleet.api.get<ClusterStatusView>("/clusters/staging-us")).observedRevision, bBefore.observedRevision);
    // The real agent puts its own status back on its next report.
    await agents.get("prod-us")?.reconcileNow();
  });

  test("an agent restart does not register again", async () => {
    const before = agents.get("prod-us");
    assert.ok(before?.identity);
    const id = before.identity.clusterId;
    await before.stop();
    const clustersBefore = (await fleet.api.get<{ items: unknown[] }>("/clusters")).items.length;
    const again = await fleet.startAgent("prod-us");
    agents.set("prod-us", again);
    assert.equal(again.identity?.clusterId, id, "the identity Secret is reused");
    assert.equal((await fleet.api.get<{ items: unknown[] }>("/clusters")).items.length, clustersBefore);
    await waitFor(async () => (await fleet.api.get<ClusterStatusView>("/clusters/prod-us")).connected, {
      what: "prod-us connected again",
      timeoutMs: 30_000,
    });
  });

  test("a hub restart keeps clusters and tokens, and agents reconnect on their own", async () => {
    const tokensBefore = (await fleet.api.get<{ items: { id: string }[] }>("/registration-tokens")).items.map((t) => t.id);
    await fleet.restartHub();
    const tokensAfter = (await fleet.api.get<{ items: { id: string }[] }>("/registration-tokens")).items.map((t) => t.id);
    assert.deepEqual(tokensAfter.sort(), tokensBefore.sort());
    const names = (await fleet.api.get<{ items: { name: string }[] }>("/clusters")).items.map((c) => c.name).sort();
    assert.deepEqual(names, ["prod-eu", "prod-us", "staging-us"]);
    for (const name of names) {
      await waitFor(async () => (await fleet.api.get<ClusterStatusView>(`/clusters/${name}`)).connected, {
        what: `${name} reconnected to the restarted hub`,
        timeoutMs: 60_000,
      });
    }
    // And delivery still works through the new hub.
    head = await fleet.commit({ "platform/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: observability\n" }, "platform: extra");
    await fleet.webhook();
    for (const name of names) await waitForSynced(fleet.api, name, head);
  });

  test("with NATS down the agent keeps enforcing its last desired state, and reports once NATS is back", async () => {
    const kc = kubeConfigFor(fleet.cluster("staging-us"));
    await fleet.lab.nats.stop();
    try {
      await kc.makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ name: "web-config", namespace: "web" });
      await waitFor(async () => (await configMap("staging-us", "web-config", "web"))?.data?.["environment"] === "staging", {
        what: "the deleted ConfigMap to come back while NATS is down",
        timeoutMs: 60_000,
      });
    } finally {
      await fleet.lab.nats.restart();
    }
    const sha = await fleet.commit({ "platform/after-outage.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-outage\n  namespace: observability\n" }, "platform: after the outage");
    await fleet.webhook();
    await waitForSynced(fleet.api, "staging-us", sha, { timeoutMs: 90_000 });
    head = sha;
  });

  test("deleting a cluster revokes its agent", async () => {
    const agent = agents.get("prod-eu");
    assert.ok(agent?.identity);
    await fleet.api.delete("/clusters/prod-eu");
    await assert.rejects(fleet.api.get("/clusters/prod-eu"), /is not registered/);
    await waitFor(() => !agent.hubConnected, { what: "the deleted cluster's stream to close", timeoutMs: 30_000 });
    // Its credential is refused from then on.
    await assert.rejects(reportWith(fleet, agent.identity.credentials.grpcToken, agent.identity.signingSeed, "deleted"), (err: { code?: number }) => {
      assert.equal(err.code, GrpcStatus.UNAUTHENTICATED);
      return true;
    });
  });
});
