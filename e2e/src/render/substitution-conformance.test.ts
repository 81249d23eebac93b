// Real-world overlays through `gitfleet render`, against the pinned kustomize binary: a Redis HA
// setup with shell scripts, a monitoring stack (Prometheus, Alertmanager, blackbox exporter) with
// components, replacements, merged generators and regex-targeted JSON 6902 patches, nginx, Grafana
// dashboards, multi-MB CRDs and a bootstrap placeholder (e2e/fixtures/conformance). Where a
// target does not substitute, what gitfleet delivers is what `kustomize build` prints, object for
// object; where it does, only gitfleet references change, unquoted ones typed.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createKustomizeRenderer, createOverlayRenderer, resolve, type KustomizeRenderer } from "@gitfleet/hub/delivery";
import { parseAllDocuments } from "yaml";
import { skipUnlessTool } from "../lab/skip.js";
import { readTree, snapshotOf } from "./snapshot-tree.js";
import { writeCrdOverlay } from "./crd-corpus.js";

const run = promisify(execFile);
const binary = process.env["GITFLEET_KUSTOMIZE"];
const corpus = fileURLToPath(new URL("../../fixtures/conformance", import.meta.url));
const gitfleetCli = fileURLToPath(new URL("../../../hub/src/bin/gitfleet.ts", import.meta.url));

type Obj = Record<string, unknown>;

/** Each overlay of the corpus, and the variables its substituting target sets. */
const overlays: Record<string, { path: string; variables?: Record<string, string> }> = {
  "redis-ha": { path: "redis-ha", variables: { redis_replicas: "5" } },
  monitoring: { path: "monitoring/overlays/prod", variables: { prometheus_replicas: "3" } },
  nginx: { path: "nginx" },
  grafana: { path: "grafana" },
  crds: { path: "crds" },
  placeholder: { path: "placeholder" },
};

/**
 * Every overlay as a bundle with two targets: `as-written` (no substitution, the default) and
 * `substituted` (opted in, with the overlay's variables). The placeholder is empty on purpose.
 */
function fleetYaml(): string {
  const lines = ["apiVersion: gitfleet.dev/v1", "kind: Fleet", "bundles:"];
  for (const [name, { path, variables }] of Object.entries(overlays)) {
    lines.push(`  - name: ${name}`, `    path: ${path}`);
    if (name === "placeholder") lines.push("    allowEmpty: true");
    lines.push("    targets:", "      - name: as-written", "        clusterSelector: { matchLabels: { variant: as-written } }");
    lines.push("      - name: substituted", "        clusterSelector: { matchLabels: { variant: substituted } }");
    lines.push(variables ? `        variables: ${JSON.stringify(variables)}` : "        substitute: true");
  }
  return `${lines.join("\n")}\n`;
}

function idOf(object: Obj): string {
  const metadata = (object["metadata"] ?? {}) as Obj;
  return `${String(object["kind"])} ${typeof metadata["namespace"] === "string" ? `${metadata["namespace"]}/` : ""}${String(metadata["name"])}`;
}

async function kustomizeBuild(dir: string): Promise<Obj[]> {
  const { stdout } = await run(binary ?? "kustomize", ["build", dir], { maxBuffer: 256 * 1024 * 1024 });
  return parseAllDocuments(stdout, { version: "1.1" }).flatMap((doc) => {
    assert.deepEqual(doc.errors, [], `kustomize printed invalid YAML for ${dir}`);
    const value = doc.toJS() as Obj | null;
    return value === null ? [] : [value];
  });
}

/** Runs the gitfleet CLI as a user would. */
async function gitfleet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--conditions=@gitfleet/source", "--import", "tsx", gitfleetCli, ...args], { maxBuffer: 256 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** `gitfleet render -o json` for a cluster of one variant: bundle name -> objects. */
async function rendered(repo: string, variant: string): Promise<Map<string, Obj[]>> {
  const out = await gitfleet("render", "--repo", repo, "--cluster", `conformance-${variant}`, "--labels", `variant=${variant}`, "-o", "json");
  assert.equal(out.code, 0, out.stderr);
  const parsed = JSON.parse(out.stdout) as { bundles: Array<{ name: string; target: string; objects: Obj[] }> };
  assert.deepEqual(parsed.bundles.map((b) => [b.name, b.target]), Object.keys(overlays).map((name) => [name, variant]));
  return new Map(parsed.bundles.map((b) => [b.name, b.objects]));
}

function find(objects: readonly Obj[], kind: string, name: RegExp): Obj {
  const found = objects.find((o) => o["kind"] === kind && name.test(String((o["metadata"] as Obj)["name"])));
  assert.ok(found, `${kind} ${String(name)} among ${objects.map(idOf).join(", ")}`);
  return found;
}

function assertSameObjects(actual: readonly Obj[] | undefined, expected: readonly Obj[], what: string): void {
  assert.deepEqual(actual?.map(idOf), expected.map(idOf), `${what}: the same objects in the same order`);
  for (const [i, object] of expected.entries()) assert.deepEqual(actual?.[i], object, `${what}: ${idOf(object)}`);
}

void describe("real-world overlays: substitution only where asked", { timeout: 600_000, skip: skipUnlessTool(binary ? false : "GITFLEET_KUSTOMIZE is not set: run through `npm test`, which builds the pinned kustomize") }, () => {
  let scratch: string;
  let repo: string;
  const built = new Map<string, Obj[]>();
  let asWritten: Map<string, Obj[]>;
  let substituted: Map<string, Obj[]>;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "gitfleet-conformance-"));
    repo = join(scratch, "repo");
    await cp(corpus, repo, { recursive: true });
    await writeCrdOverlay(join(repo, "crds"), { count: 2, bytes: 3_000_000 });
    await writeFile(join(repo, "fleet.yaml"), fleetYaml());
    for (const [name, { path }] of Object.entries(overlays)) built.set(name, await kustomizeBuild(join(repo, path)));
    [asWritten, substituted] = await Promise.all([rendered(repo, "as-written"), rendered(repo, "substituted")]);
  });
  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  void test("the corpus holds what it claims: shell and template forms, multi-MB CRDs, an empty placeholder", () => {
    const text = (name: string): string => JSON.stringify(built.get(name));
    for (const form of ["${HOSTNAME##*-}", "${HOSTNAME%-*}", "${#1}", "${1}", "$1", "${response:0:7}", "${REDIS_PORT:=6379}"]) assert.ok(text("redis-ha").includes(form), form);
    for (const form of ["replacement: $1", "replacement: ${1}:${2}", "\\\"$1\\\"", "reReplaceAll", "{{ $labels.instance }}"]) assert.ok(text("monitoring").includes(form), form);
    for (const form of ["$host", "$request_uri", "$proxy_add_x_forwarded_for"]) assert.ok(text("nginx").includes(form), form);
    assert.ok(text("grafana").includes("${DS_PROMETHEUS}") && text("grafana").includes("${__rate_interval}"));
    const crds = built.get("crds") ?? [];
    assert.equal(crds.length, 2);
    for (const crd of crds) assert.ok(JSON.stringify(crd).length > 2_000_000, `${idOf(crd)} is several MB`);
    assert.deepEqual(built.get("placeholder"), []);
    const monitoring = built.get("monitoring") ?? [];
    assert.ok(find(monitoring, "PodDisruptionBudget", /^alertmanager$/), "a component's resource");
    assert.match(String((find(monitoring, "ConfigMap", /^alertmanager-config-/)["data"] as Obj)["alertmanager.yml"]), /inhibit_rules/, "a generator merged by the overlay");
    assert.equal((find(monitoring, "ConfigMap", /^blackbox-config-/)["data"] as Obj)["LOG_LEVEL"], "warn");
    assert.equal((find(monitoring, "Deployment", /^blackbox-exporter$/)["spec"] as Obj)["replicas"], 2, "a JSON 6902 patch aimed by a regular expression");
    assert.match(JSON.stringify(find(monitoring, "Deployment", /^prometheus$/)), /"name":"RETENTION","value":"30d"/, "a replacement");
  });

  for (const name of Object.keys(overlays)) {
    void test(`${name}: without substitution gitfleet render gives exactly what kustomize build gives`, () => {
      assertSameObjects(asWritten.get(name), built.get(name) ?? [], name);
    });
  }

  void test("with substitution, only gitfleet references change: shell scripts, configs and dashboards stay byte for byte", () => {
    const expected = structuredClone(Object.fromEntries(built));
    const redis = expected["redis-ha"] ?? [];
    const statefulSet = find(redis, "StatefulSet", /^redis-ha-server$/) as { spec: { replicas: unknown; template: { spec: { containers: Obj[] } } } };
    statefulSet.spec.replicas = 5;
    const [redisContainer] = statefulSet.spec.template.spec.containers;
    if (redisContainer) redisContainer["image"] = "redis:7.2.5-alpine";
    (find(redis, "ConfigMap", /^redis-ha-health$/)["data"] as Obj)["max-clients"] = "10000";
    const monitoring = expected["monitoring"] ?? [];
    (find(monitoring, "Deployment", /^prometheus$/)["spec"] as Obj)["replicas"] = 3;
    const prometheusConfig = find(monitoring, "ConfigMap", /^prometheus-config-/)["data"] as Obj;
    prometheusConfig["prometheus.yml"] = String(prometheusConfig["prometheus.yml"]).replace("cluster: ${cluster_name}", "cluster: conformance-substituted");
    const nginx = find(expected["nginx"] ?? [], "Deployment", /^nginx$/) as { spec: { template: { spec: { containers: Obj[] } } } };
    const [nginxContainer] = nginx.spec.template.spec.containers;
    if (nginxContainer) nginxContainer["image"] = "nginx:1.27.3";
    for (const name of Object.keys(overlays)) assertSameObjects(substituted.get(name), expected[name] ?? [], `${name}, substituted`);
  });

  void test("typed values through kustomize: unquoted references become numbers, a quoted one stays a string", () => {
    const redis = substituted.get("redis-ha") ?? [];
    assert.strictEqual((find(redis, "StatefulSet", /^redis-ha-server$/)["spec"] as Obj)["replicas"], 5, "written unquoted in a resource");
    assert.strictEqual((find(redis, "ConfigMap", /^redis-ha-health$/)["data"] as Obj)["max-clients"], "10000", "written quoted");
    assert.strictEqual((find(substituted.get("monitoring") ?? [], "Deployment", /^prometheus$/)["spec"] as Obj)["replicas"], 3, "written unquoted in an inline JSON 6902 patch");
    assert.strictEqual((find(asWritten.get("redis-ha") ?? [], "StatefulSet", /^redis-ha-server$/)["spec"] as Obj)["replicas"], "${redis_replicas:=3}", "as written: text");
  });

  void test("render --check says per target whether it substitutes, and warns where references are left as written", async () => {
    const out = await gitfleet("render", "--repo", repo, "--check");
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^redis-ha\s+as-written\s+redis-ha\s+kustomize\s+5\s+off\s+-$/m);
    assert.match(out.stdout, /^redis-ha\s+substituted\s+redis-ha\s+kustomize\s+5\s+on \(variables\)\s+-$/m);
    assert.match(out.stdout, /^grafana\s+substituted\s+grafana\s+kustomize\s+2\s+on \(target\)\s+-$/m);
    assert.match(out.stdout, /^placeholder\s+as-written\s+placeholder\s+kustomize\s+0\s+off\s+-$/m);
    const warnings = out.stderr.split("\n").filter((line) => line.includes("warning:"));
    assert.deepEqual(warnings.map((w) => /bundle (\S+) \(target (\S+),/.exec(w)?.slice(1).join("/")), ["redis-ha/as-written", "monitoring/as-written"]);
    assert.match(warnings[0] ?? "", /StatefulSet redis\/redis-ha-server: spec\.replicas: holds \$\{redis_replicas:=3\}.*set substitute: true on target as-written \(or bundle redis-ha\)/);
    assert.match(warnings[1] ?? "", /ConfigMap monitoring\/prometheus-config-\w+: data\["prometheus\.yml"\]: holds \$\{cluster_name\}/);
  });

  void test("an undefined reference in a dashboard fails with the object and field; the placeholder needs allowEmpty", async (t) => {
    const renderer: KustomizeRenderer = createKustomizeRenderer({ binary: binary ?? "kustomize" });
    t.after(() => renderer.close());
    const files = await readTree(repo);
    const kustomization = new TextDecoder().decode(files.get("grafana/kustomization.yaml"));
    files.set("grafana/kustomization.yaml", new TextEncoder().encode(kustomization.replace(/ {4}options:\n {6}annotations:\n {8}gitfleet\.dev\/substitute: disabled\n/, "")));
    files.set("fleet.yaml", new TextEncoder().encode(fleetYaml().replace("    allowEmpty: true\n", "")));
    const resolution = await resolve({ snapshot: snapshotOf(files), clusters: [{ id: "c", name: "c", labels: { variant: "substituted" } }], renderer: createOverlayRenderer({ kustomize: renderer }) });
    assert.ok(resolution.ok);
    const errors = resolution.clusters.get("c")?.errors ?? [];
    assert.deepEqual(errors.map((e) => [e.bundle, e.reason]), [["grafana", "variable-undefined"], ["placeholder", "no-objects"]]);
    assert.match(errors[0]?.message ?? "", /^ConfigMap monitoring\/dashboards-\w+: data\["node-overview\.json"\]: variable DS_PROMETHEUS is not defined; .*gitfleet\.dev\/substitute: disabled/);
    assert.match(errors[1]?.message ?? "", /renders no objects.*allowEmpty: true/);
  });
});
