// `curl /metrics` on the hub and on the agent, end to end on the lab: a hub and an agent on a
// real kube-apiserver, scraped with fetch the way Prometheus scrapes them, the text parsed, and
// the values checked against what the fleet is doing (a synced cluster, an open stream, passes
// run, drift made with the Kubernetes API).
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { createAgentMetrics, startProbeServer, type ProbeServer } from "@gitfleet/agent";
import { parseExposition, sampleValue, type Sample } from "@gitfleet/hub";
import { kubeConfigFor, mergePatchAs } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { configMap, manifestsYaml, namespace, writeSeed } from "../fleet/fleet-seed.js";

const cluster = "metrics-eu";

async function scrape(url: string): Promise<{ samples: Sample[]; contentType: string }> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return { samples: parseExposition(await response.text()), contentType: response.headers.get("content-type") ?? "" };
}

describe("curl /metrics on the hub and the agent shows the fleet", { timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  let probes: ProbeServer;
  let hubMetrics: string;
  let agentMetrics: string;

  before(async () => {
    seed = await writeSeed({
      "fleet.yaml": stringify({
        apiVersion: "gitfleet.dev/v1",
        kind: "Fleet",
        bundles: [{ name: "settings", path: "settings", namespace: "settings", drift: "report", clusterSelector: {} }],
      }),
      "settings/objects.yaml": manifestsYaml(namespace("settings"), configMap("greeting", { text: "hello" })),
    });
    // The chart's way: metrics on a port of their own (GITFLEET_METRICS_ADDRESS).
    fleet = await startFleet({ clusters: [cluster], seed, webhookOnPush: true, hub: { metricsAddress: "127.0.0.1:0" } });
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1, labels: { region: "eu" } });
    const metrics = createAgentMetrics({ version: "e2e" });
    await fleet.startAgent(cluster, { token: token.secret, labels: { region: "eu" }, metrics });
    // The agent's probe server, as gitfleet-agent serves it (main.ts), with the agent's metrics.
    probes = await startProbeServer({ address: "127.0.0.1:0", liveness: () => ({ ok: true, message: "ok" }), readiness: () => ({ ok: true, message: "ok" }), metrics });
    await waitForSynced(fleet.api, cluster, await fleet.head(), { timeoutMs: 120_000 });
    const metricsPort = fleet.hub.metricsPort;
    assert.ok(metricsPort, "the hub serves metrics on a port of its own");
    hubMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
    agentMetrics = `http://127.0.0.1:${probes.port}/metrics`;
  });

  after(async () => {
    await probes?.close();
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("the hub: one cluster synced, its bundle synced and healthy, one stream open, resolve, render and publish timed", async () => {
    const { samples, contentType } = await scrape(hubMetrics);
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
    assert.equal(value("gitfleet_clusters", { state: "synced" }), 1);
    assert.equal(value("gitfleet_clusters", { state: "stale" }), 0);
    assert.equal(value("gitfleet_clusters", { state: "pending" }), 0);
    assert.equal(value("gitfleet_bundles", { sync: "synced", health: "healthy" }), 1);
    assert.equal(value("gitfleet_drifted_objects", { state: "drifted" }), 0);
    assert.equal(value("gitfleet_grpc_streams_open"), 1);
    assert.equal(value("gitfleet_hub_ready"), 1);
    assert.ok((value("gitfleet_resolve_duration_seconds_count", { outcome: "success" }) ?? 0) >= 1, "a resolve was timed");
    assert.ok((value("gitfleet_render_duration_seconds_count", { outcome: "success" }) ?? 0) >= 1, "a render was timed");
    assert.ok((value("gitfleet_publish_duration_seconds_count", { outcome: "success" }) ?? 0) >= 1, "a publish was timed");
    const resolveSeconds = value("gitfleet_resolve_duration_seconds_sum", { outcome: "success" }) ?? -1;
    assert.ok(resolveSeconds > 0 && resolveSeconds < 120, `resolving took a plausible time (${resolveSeconds} s)`);
    assert.equal(value("gitfleet_git_errors_total", { operation: "fetch" }), 0);
    assert.equal(value("gitfleet_nats_errors_total", { kind: "publish" }), 0);
    assert.ok((value("process_resident_memory_bytes") ?? 0) > 0, "process metrics are there");
    // Counts only: no cluster name, label value or secret in what anyone can scrape.
    const text = await (await fetch(hubMetrics)).text();
    assert.ok(!text.includes(cluster), "the cluster's name is not in the metrics");
    assert.ok(!text.includes(fleet.adminToken) && !text.includes(fleet.webhookSecret), "no secret is in the metrics");
  });

  test("the agent: passes and the bundle's apply timed, the bundle synced, the hub connected", async () => {
    const { samples } = await scrape(agentMetrics);
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
    assert.ok((value("gitfleet_agent_reconcile_duration_seconds_count", { outcome: "success" }) ?? 0) > 0, "reconcile passes were timed");
    assert.ok((value("gitfleet_agent_bundle_apply_duration_seconds_count", { bundle: "settings", sync: "synced" }) ?? 0) >= 1, "the bundle's apply was timed");
    assert.equal(value("gitfleet_agent_bundles", { sync: "synced", health: "healthy" }), 1);
    assert.equal(value("gitfleet_agent_hub_connected"), 1);
    assert.equal(value("gitfleet_agent_leader"), 1);
    assert.equal(value("gitfleet_agent_reconcile_errors_total"), 0);
    assert.ok((value("gitfleet_agent_last_reconcile_timestamp_seconds") ?? 0) > Date.now() / 1000 - 600, "the last pass was recent");
  });

  test("drift made with the Kubernetes API shows on both, and clears when the object is put back", async () => {
    const kc = kubeConfigFor(fleet.cluster(cluster));
    const patch = (text: string) =>
      mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "greeting", namespace: "settings" }, data: { text } }, "kubectl-edit");
    await patch("changed by hand");
    await waitFor(async () => sampleValue((await scrape(agentMetrics)).samples, "gitfleet_agent_drifted_objects", { state: "drifted" }) === 1 || undefined, {
      what: "the agent's gitfleet_agent_drifted_objects{state=drifted} to be 1",
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await waitFor(async () => sampleValue((await scrape(hubMetrics)).samples, "gitfleet_drifted_objects", { state: "drifted" }) === 1 || undefined, {
      what: "the hub's gitfleet_drifted_objects{state=drifted} to be 1",
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await patch("hello");
    await waitFor(async () => sampleValue((await scrape(hubMetrics)).samples, "gitfleet_drifted_objects", { state: "drifted" }) === 0 || undefined, {
      what: "the hub's gitfleet_drifted_objects{state=drifted} back to 0",
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });

  test("without GITFLEET_METRICS_ADDRESS the hub serves /metrics on the API port, without a token", async () => {
    const replica = await fleet.startReplica({ metricsAddress: undefined });
    const { samples } = await scrape(`${replica.url}/metrics`);
    assert.equal(replica.hub.metricsPort, undefined);
    assert.equal(sampleValue(samples, "gitfleet_clusters", { state: "synced" }), 1, "every replica counts the whole fleet from its index");
    assert.equal(sampleValue(samples, "gitfleet_grpc_streams_open"), 0, "the stream is held by the first replica");
  });
});
