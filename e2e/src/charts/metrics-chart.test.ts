// The charts' monitoring, as an operator turns it on: scrape annotations on the port and path the
// binaries serve /metrics on, a ServiceMonitor that selects exactly the metrics Service, the
// PrometheusRule with the alerts docs/metrics.md lists, the Grafana dashboard, and no metric name
// in an alert or a panel that the hub or the agent does not export (checked against their registries).
import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createAgentMetrics } from "@gitfleet/agent";
import { createHubMetrics } from "@gitfleet/hub";
import { chartsDir, findObject, helmBinary, helmTemplate, type RenderedObject } from "./helm.js";
import { skipUnlessTool } from "../lab/skip.js";

const skip = skipUnlessTool(!helmBinary() ? "GITFLEET_HELM_BIN is not set (path of the pinned helm binary; `npm test` builds it)" : false);
const hubValues = { nats: { url: "nats://nats.nats:4222", credentialsSecret: "hub-nats" } };
const agentValues = { clusterName: "c1", hub: { address: "hub.gitfleet.example:443" }, registration: { token: "gf_reg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } };

type Json = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, key) => (typeof v === "object" && v !== null ? (v as Json)[key as string] : undefined), value);

/** Every metric name the hub and the agent export, histogram series included. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const registry of [createHubMetrics({ version: "0" }).registry, createAgentMetrics({ version: "0" }).registry]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

/** Metric names in a PromQL expression: identifiers followed by `{`, `[`, `)` or a space, that are not functions or labels. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:gitfleet|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1] ?? "");
}

function containerPorts(deployment: RenderedObject): Map<string, number> {
  const ports = at(deployment, "spec", "template", "spec", "containers", 0, "ports") as Json[];
  return new Map(ports.map((p) => [p["name"] as string, p["containerPort"] as number]));
}

function annotations(deployment: RenderedObject): Record<string, string> {
  return (at(deployment, "spec", "template", "metadata", "annotations") ?? {}) as Record<string, string>;
}

function env(deployment: RenderedObject): Map<string, unknown> {
  const list = at(deployment, "spec", "template", "spec", "containers", 0, "env") as Json[];
  return new Map(list.map((e) => [e["name"] as string, e["value"]]));
}

/** The ServiceMonitor's Service: the one whose labels its selector matches, with the endpoint's port. */
function monitoredService(objects: readonly RenderedObject[], monitor: RenderedObject): RenderedObject {
  const wanted = at(monitor, "spec", "selector", "matchLabels") as Record<string, string>;
  const services = objects.filter((o) => o.kind === "Service" && Object.entries(wanted).every(([k, v]) => o.metadata.labels?.[k] === v));
  assert.equal(services.length, 1, `the ServiceMonitor selects exactly one Service (got ${services.map((s) => s.metadata.name).join(", ")})`);
  const service = services[0] as RenderedObject;
  const port = at(monitor, "spec", "endpoints", 0, "port");
  assert.ok((at(service, "spec", "ports") as Json[]).some((p) => p["name"] === port), `the Service has the port ${String(port)}`);
  return service;
}

void describe("the charts' monitoring", { skip, timeout: 120_000 }, () => {
  void it("hub: the scrape annotations, the env and the metrics port agree; metrics.port 0 puts /metrics on the API port", async () => {
    const own = findObject(await helmTemplate({ chart: "gitfleet-hub", release: "r", namespace: "gitfleet", values: { ...hubValues, metrics: { prometheusScrape: true } } }), "Deployment");
    assert.equal(annotations(own)["prometheus.io/port"], String(containerPorts(own).get("metrics")));
    assert.equal(annotations(own)["prometheus.io/path"], "/metrics");
    assert.equal(env(own).get("GITFLEET_METRICS_ADDRESS"), `0.0.0.0:${containerPorts(own).get("metrics")}`);

    const shared = findObject(
      await helmTemplate({ chart: "gitfleet-hub", release: "r", namespace: "gitfleet", values: { ...hubValues, metrics: { port: 0, prometheusScrape: true } } }),
      "Deployment",
    );
    assert.equal(annotations(shared)["prometheus.io/port"], String(containerPorts(shared).get("http")));
    assert.equal(env(shared).has("GITFLEET_METRICS_ADDRESS"), false);
    assert.equal(containerPorts(shared).has("metrics"), false);

    const off = findObject(await helmTemplate({ chart: "gitfleet-hub", release: "r", namespace: "gitfleet", values: hubValues }), "Deployment");
    assert.equal(annotations(off)["prometheus.io/scrape"], undefined, "no scrape annotations unless asked for");
  });

  void it("hub: nothing of the Prometheus Operator or Grafana is rendered unless enabled", async () => {
    const kinds = (await helmTemplate({ chart: "gitfleet-hub", release: "r", namespace: "gitfleet", values: hubValues })).map((o) => o.kind);
    assert.ok(!kinds.includes("ServiceMonitor") && !kinds.includes("PrometheusRule") && !kinds.includes("ConfigMap"), kinds.join(", "));
  });

  void it("hub: the ServiceMonitor scrapes the metrics port through a Service of its own", async () => {
    for (const port of [9091, 0]) {
      const objects = await helmTemplate({
        chart: "gitfleet-hub",
        release: "r",
        namespace: "gitfleet",
        values: { ...hubValues, metrics: { port, serviceMonitor: { enabled: true, labels: { release: "prometheus" } } } },
      });
      const monitor = findObject(objects, "ServiceMonitor");
      assert.equal(monitor.metadata.labels?.["release"], "prometheus");
      assert.equal(at(monitor, "spec", "endpoints", 0, "path"), "/metrics");
      const service = monitoredService(objects, monitor);
      const target = at(service, "spec", "ports", 0, "targetPort") as string;
      const deployment = findObject(objects, "Deployment");
      assert.equal(containerPorts(deployment).get(target), port === 0 ? containerPorts(deployment).get("http") : port, `the Service targets the port /metrics is on (metrics.port ${port})`);
    }
  });

  void it("hub: the PrometheusRule has the alerts users expect, on metrics the hub exports", async () => {
    const objects = await helmTemplate({ chart: "gitfleet-hub", release: "r", namespace: "gitfleet", values: { ...hubValues, metrics: { prometheusRule: { enabled: true } } } });
    const rule = findObject(objects, "PrometheusRule");
    const rules = (at(rule, "spec", "groups", 0, "rules") as Json[]).map((r) => ({ alert: r["alert"] as string, expr: r["expr"] as string, severity: at(r, "labels", "severity") }));
    assert.deepEqual(
      rules.map((r) => r.alert).sort(),
      [
        "GitfleetClustersFailing",
        "GitfleetClustersStale",
        "GitfleetFleetDrift",
        "GitfleetFleetStale",
        "GitfleetGitErrors",
        "GitfleetHubDown",
        "GitfleetHubNotReady",
        "GitfleetNatsErrors",
        "GitfleetNoDeliveryLeader",
        "GitfleetNotificationsGivenUp",
        "GitfleetPromotionFailed",
      ],
    );
    const exported = await exportedNames();
    for (const r of rules) {
      assert.ok(r.severity === "warning" || r.severity === "critical", `${r.alert} has a severity`);
      assert.ok(r.expr.includes('job="r-gitfleet-hub-metrics"'), `${r.alert} selects the hub's job: ${r.expr}`);
      for (const name of metricNames(r.expr)) assert.ok(exported.has(name), `${r.alert} uses ${name}, which the hub does not export`);
    }
    const docs = await readFile(join(chartsDir, "..", "docs", "metrics.md"), "utf8");
    for (const r of rules) assert.ok(docs.includes(r.alert), `docs/metrics.md describes ${r.alert}`);
  });

  void it("hub: the Grafana dashboard ships in a ConfigMap for the sidecar, and charts only exported metrics", async () => {
    const file = await readFile(join(chartsDir, "gitfleet-hub", "dashboards", "gitfleet.json"), "utf8");
    const dashboard = JSON.parse(file) as { title: string; panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    assert.equal(dashboard.title, "gitfleet");
    const exported = await exportedNames();
    let charted = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const name of metricNames(target.expr)) {
          charted++;
          assert.ok(exported.has(name), `panel "${panel.title}" uses ${name}, which neither the hub nor the agent exports`);
        }
      }
    }
    assert.ok(charted >= 15, `the dashboard charts the metrics (${charted} references)`);
    const objects = await helmTemplate({
      chart: "gitfleet-hub",
      release: "r",
      namespace: "gitfleet",
      values: { ...hubValues, metrics: { grafanaDashboard: { enabled: true, namespace: "monitoring" } } },
    });
    const map = findObject(objects, "ConfigMap");
    assert.equal(map.metadata.namespace, "monitoring");
    assert.equal(map.metadata.labels?.["grafana_dashboard"], "1");
    assert.deepEqual(JSON.parse(at(map, "data", "gitfleet.json") as string), dashboard, "the ConfigMap holds the dashboard file as it is");
  });

  void it("agent: the scrape annotations and the ServiceMonitor point at the probe port, which serves /metrics", async () => {
    const objects = await helmTemplate({
      chart: "gitfleet-agent",
      release: "a",
      namespace: "gitfleet-system",
      values: { ...agentValues, metrics: { prometheusScrape: true, serviceMonitor: { enabled: true } } },
    });
    const deployment = findObject(objects, "Deployment");
    assert.equal(annotations(deployment)["prometheus.io/port"], String(containerPorts(deployment).get("health")));
    assert.equal(annotations(deployment)["prometheus.io/path"], "/metrics");
    const monitor = findObject(objects, "ServiceMonitor");
    const service = monitoredService(objects, monitor);
    assert.equal(at(service, "spec", "ports", 0, "targetPort"), "health");
    assert.equal(at(monitor, "spec", "endpoints", 0, "path"), "/metrics");
    const plain = (await helmTemplate({ chart: "gitfleet-agent", release: "a", namespace: "gitfleet-system", values: agentValues })).map((o) => o.kind);
    assert.ok(!plain.includes("ServiceMonitor"));
  });
});
