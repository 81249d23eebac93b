import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { BundlePayloadSchema, DriftMode, digest, toBinary } from "@gitfleet/proto";
import { RenderError } from "./errors.js";
import { createOverlayRenderer, type OverlayRenderer } from "./render/index.js";
import type { ResolvedBundle } from "./resolution.js";
import { resolve, type Resolution } from "./resolve.js";
import type { ClusterRef, Snapshot } from "./snapshot.js";

const fleet = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: base
    path: base
  - name: web
    path: apps/web
    namespace: web
    drift: report
    ignore: [/spec/replicas]
    targets:
      - name: prod-eu
        clusterSelector:
          matchLabels: { env: prod, region: eu }
        overlay: overlays/eu
        variables: { replicas: "3" }
      - name: prod
        clusterSelector:
          matchLabels: { env: prod }
        overlay: overlays/prod
        substitute: true
  - name: api
    path: apps/api
    clusterSelector:
      matchExpressions:
        - { key: region, operator: In, values: [eu] }
`;

const cm = (name: string, data = ""): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${data}`;

function snapshot(commit: string, entries: Record<string, string>): Snapshot {
  return { commit, files: new Map(Object.entries(entries).map(([p, c]) => [p, new TextEncoder().encode(c)])) };
}

const repo = {
  "fleet.yaml": fleet,
  "base/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
  "apps/web/overlays/eu/cm.yaml": cm("web", 'data:\n  replicas: "${replicas}"\n  cluster: "${cluster_name}"\n'),
  "apps/web/overlays/prod/cm.yaml": cm("web", 'data:\n  region: "${cluster_label_region:=none}"\n'),
  "apps/api/cm.yaml": cm("api"),
};

const clusters: ClusterRef[] = [
  { id: "c-eu-1", name: "eu-1", labels: { env: "prod", region: "eu" } },
  { id: "c-eu-2", name: "eu-2", labels: { env: "prod", region: "eu" }, variables: { replicas: "5" } },
  { id: "c-us-1", name: "us-1", labels: { env: "prod", region: "us" } },
  { id: "c-us-2", name: "us-2", labels: { env: "prod", region: "us" } },
  { id: "c-dev", name: "dev", labels: { env: "dev", region: "eu" } },
];

/** A plain renderer that counts the folders it renders. */
function counting(): OverlayRenderer & { dirs: string[] } {
  const inner = createOverlayRenderer();
  const dirs: string[] = [];
  return {
    dirs,
    render(input) {
      dirs.push(input.dir);
      return inner.render(input);
    },
  };
}

function ok(resolution: Resolution): Extract<Resolution, { ok: true }> {
  assert.ok(resolution.ok, `resolution failed: ${resolution.ok ? "" : resolution.error.message}`);
  return resolution;
}

function bundle(resolution: Resolution, cluster: string, name: string): ResolvedBundle | undefined {
  return ok(resolution).clusters.get(cluster)?.bundles.find((b) => b.name === name);
}

function data(b: ResolvedBundle | undefined): unknown {
  const [first] = b?.payload.objects ?? [];
  return first && (JSON.parse(new TextDecoder().decode(first)) as { data?: unknown }).data;
}

void describe("resolve", () => {
  void test("each bundle goes through its first matching target; a cluster matching none gets nothing of it", async () => {
    const r = ok(await resolve({ snapshot: snapshot("c1", repo), clusters, renderer: counting() }));
    const names = (id: string): string[] => r.clusters.get(id)?.assignments.map((a) => `${a.bundle}:${a.target}`) ?? [];
    assert.deepEqual(names("c-eu-1"), ["base:default", "web:prod-eu", "api:default"]);
    assert.deepEqual(names("c-us-1"), ["base:default", "web:prod"]);
    assert.deepEqual(names("c-dev"), ["base:default", "api:default"]);
    assert.deepEqual(r.clusters.get("c-us-1")?.assignments[1], { bundle: "web", target: "prod", overlay: "apps/web/overlays/prod" });
  });

  void test("builds the payload with objects and policy, and the digest over its encoding", async () => {
    const r = await resolve({ snapshot: snapshot("c1", repo), clusters, renderer: counting() });
    const web = bundle(r, "c-us-1", "web");
    assert.ok(web);
    assert.equal(web.target, "prod");
    assert.deepEqual(
      web.payload.objects.map((o) => JSON.parse(new TextDecoder().decode(o)) as unknown),
      [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "web" }, data: { region: "us" } }],
    );
    assert.equal(web.payload.policy?.drift, DriftMode.REPORT);
    assert.deepEqual(web.payload.policy?.ignore, ["/spec/replicas"]);
    assert.equal(web.payload.policy?.prune, true);
    assert.equal(web.payload.policy?.namespace, "web");
    const bytes = toBinary(BundlePayloadSchema, web.payload);
    assert.equal(web.digest, digest(bytes));
    assert.equal(web.size, bytes.byteLength);
  });

  void test("substitutes per cluster: cluster name and labels, target variables, the cluster's own over them", async () => {
    const r = await resolve({ snapshot: snapshot("c1", repo), clusters, renderer: counting() });
    assert.deepEqual(data(bundle(r, "c-eu-1", "web")), { replicas: "3", cluster: "eu-1" });
    assert.deepEqual(data(bundle(r, "c-eu-2", "web")), { replicas: "5", cluster: "eu-2" });
  });

  void test("renders each overlay once and shares a result among clusters whose variables agree", async () => {
    const renderer = counting();
    const r = ok(await resolve({ snapshot: snapshot("c1", repo), clusters, renderer }));
    assert.deepEqual([...renderer.dirs].sort(), ["apps/api", "apps/web/overlays/eu", "apps/web/overlays/prod", "base"]);
    assert.equal(r.stats.rendered, 4);
    assert.equal(bundle(r, "c-us-1", "web"), bundle(r, "c-us-2", "web"), "same region label: one payload");
    assert.equal(bundle(r, "c-eu-1", "base"), bundle(r, "c-dev", "base"), "no variables: one payload for all");
    assert.notEqual(bundle(r, "c-eu-1", "web")?.digest, bundle(r, "c-eu-2", "web")?.digest);
  });

  void test("an undefined variable fails that bundle on that cluster only, naming object and field", async () => {
    const withOwner = { ...repo, "apps/web/overlays/prod/cm.yaml": cm("web", "data:\n  owner: ${owner}\n") };
    const r = ok(await resolve({ snapshot: snapshot("c2", withOwner), clusters: [...clusters.slice(2, 3), { id: "c-us-3", name: "us-3", labels: { env: "prod" }, variables: { owner: "team-a" } }], renderer: counting() }));
    const us1 = r.clusters.get("c-us-1");
    assert.deepEqual(us1?.bundles.map((b) => b.name), ["base"]);
    assert.deepEqual(
      us1?.errors.map((e) => ({ bundle: e.bundle, target: e.target, path: e.path, commit: e.commit, reason: e.reason })),
      [{ bundle: "web", target: "prod", path: "apps/web/overlays/prod", commit: "c2", reason: "variable-undefined" }],
    );
    assert.match(us1?.errors[0]?.message ?? "", /^ConfigMap web \(apps\/web\/overlays\/prod\/cm\.yaml:1 \(document 1\)\): data\.owner: variable owner is not defined/);
    assert.deepEqual(data(bundle(r, "c-us-3", "web")), { owner: "team-a" });
  });

  void test("a broken overlay fails only its target's clusters; the bundle's other targets resolve", async () => {
    const r = ok(await resolve({ snapshot: snapshot("c3", { ...repo, "apps/web/overlays/eu/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n" }), clusters, renderer: counting() }));
    for (const id of ["c-eu-1", "c-eu-2"]) {
      const cluster = r.clusters.get(id);
      assert.deepEqual(cluster?.bundles.map((b) => b.name), ["base", "api"]);
      assert.deepEqual(
        cluster?.errors.map((e) => ({ bundle: e.bundle, target: e.target, path: e.path, reason: e.reason, file: e.file })),
        [{ bundle: "web", target: "prod-eu", path: "apps/web/overlays/eu", reason: "object-invalid", file: "apps/web/overlays/eu/cm.yaml" }],
      );
      assert.match(cluster?.errors[0]?.message ?? "", /apps\/web\/overlays\/eu\/cm\.yaml:1 \(document 1\): metadata\.name is missing/);
    }
    assert.deepEqual(r.clusters.get("c-us-1")?.errors, []);
    assert.deepEqual(r.clusters.get("c-us-1")?.bundles.map((b) => b.name), ["base", "web"]);
  });

  void test("a broken fleet.yaml fails the whole resolution with its error", async () => {
    const r = await resolve({ snapshot: snapshot("c3", { ...repo, "fleet.yaml": fleet.replace("kind: Fleet", "kind: Flet") }), clusters, renderer: counting() });
    assert.ok(!r.ok);
    assert.equal(r.commit, "c3");
    assert.match(r.error.message, /^fleet\.yaml:2: kind: must be Fleet/);
  });

  void test("a cluster that no bundle targets gets empty lists", async () => {
    const only = `apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: api\n    path: apps/api\n    clusterSelector: { matchLabels: { env: prod } }\n`;
    const r = ok(await resolve({ snapshot: snapshot("c1", { ...repo, "fleet.yaml": only }), clusters: [{ id: "c-x", name: "x", labels: {} }], renderer: counting() }));
    assert.deepEqual(r.clusters.get("c-x"), { clusterId: "c-x", bundles: [], errors: [], assignments: [] });
  });

  void test("the next commit renders only overlays whose files changed, and reuses the rest with their digests", async () => {
    const first = ok(await resolve({ snapshot: snapshot("c1", repo), clusters, renderer: counting() }));
    const renderer = counting();
    const next = { ...repo, "apps/web/overlays/eu/cm.yaml": cm("web", 'data:\n  replicas: "${replicas}"\n  cluster: "${cluster_name}"\n  new: "1"\n') };
    const second = ok(await resolve({ snapshot: snapshot("c2", next), clusters, renderer, previous: first.renders }));
    assert.deepEqual(renderer.dirs, ["apps/web/overlays/eu"]);
    assert.equal(second.stats.rendered, 1);
    assert.equal(second.stats.reused, 3);
    assert.ok(second.stats.resultsReused > 0, "results of unchanged overlays are carried over");
    for (const [id, name] of [["c-us-1", "web"], ["c-eu-1", "base"], ["c-eu-1", "api"]] as const) {
      assert.equal(bundle(second, id, name)?.digest, bundle(first, id, name)?.digest, `${name} on ${id} is unchanged`);
    }
    assert.notEqual(bundle(second, "c-eu-1", "web")?.digest, bundle(first, "c-eu-1", "web")?.digest);
    const third = ok(await resolve({ snapshot: snapshot("c3", { ...next, "apps/web/overlays/prod/new.yaml": cm("extra") }), clusters, renderer: counting(), previous: second.renders }));
    assert.equal(third.stats.rendered, 1, "a file added to a plain folder renders it again");
  });

  void test("reuse follows the inputs a renderer reports, files outside the overlay included", async () => {
    const calls: string[] = [];
    const renderer: OverlayRenderer = {
      render({ snapshot: snap, dir }) {
        calls.push(dir);
        const base = new TextDecoder().decode(snap.files.get("shared/base.yaml"));
        return Promise.resolve({ objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: { base } }], inputs: ["shared/base.yaml", `${dir}/`] });
      },
    };
    const files = { ...repo, "shared/base.yaml": "one" };
    const first = ok(await resolve({ snapshot: snapshot("c1", files), clusters, renderer }));
    calls.length = 0;
    await resolve({ snapshot: snapshot("c2", { ...files, "apps/api/cm.yaml": cm("api-v2") }), clusters, renderer, previous: first.renders });
    assert.deepEqual(calls, ["apps/api"]);
    calls.length = 0;
    await resolve({ snapshot: snapshot("c3", { ...files, "shared/base.yaml": "two" }), clusters, renderer, previous: first.renders });
    assert.equal(calls.length, 4, "every overlay read the changed file");
  });

  void test("a failure that says nothing of its inputs is rendered again next time, and marks the resolution unsettled", async () => {
    let calls = 0;
    const flaky: OverlayRenderer = {
      render: () => {
        calls++;
        return Promise.reject(new RenderError("manifest-invalid", "kustomize build did not finish in time"));
      },
    };
    const first = ok(await resolve({ snapshot: snapshot("c1", repo), clusters: clusters.slice(0, 1), renderer: flaky }));
    assert.equal(first.stats.unsettled, 3);
    assert.match(first.clusters.get("c-eu-1")?.errors[0]?.message ?? "", /did not finish in time/);
    const second = ok(await resolve({ snapshot: snapshot("c1", repo), clusters: clusters.slice(0, 1), renderer: flaky, previous: first.renders }));
    assert.equal(calls, 6);
    assert.equal(second.stats.reused, 0);
  });

  void test("a target without substitution delivers ${...} as written, one result for all its clusters, whatever their variables", async () => {
    const off = fleet.replace("        substitute: true\n", "");
    const r = ok(await resolve({ snapshot: snapshot("c1", { ...repo, "fleet.yaml": off }), clusters: [...clusters, { id: "c-us-3", name: "us-3", labels: { env: "prod" }, variables: { x: "1" } }], renderer: counting() }));
    assert.deepEqual(data(bundle(r, "c-us-1", "web")), { region: "${cluster_label_region:=none}" });
    assert.equal(bundle(r, "c-us-1", "web"), bundle(r, "c-us-3", "web"));
    assert.equal(r.stats.results, 5, "one each for base, api and web's prod target (us-1, us-2, us-3); eu-1 and eu-2 (prod-eu substitutes) differ");
  });

  void test("an empty overlay fails its bundle unless the bundle allows it; then its clusters get an empty bundle", async () => {
    const empty = { ...repo, "apps/api/cm.yaml": "# nothing here yet\n" };
    const refused = ok(await resolve({ snapshot: snapshot("c1", empty), clusters: clusters.slice(0, 1), renderer: counting() }));
    assert.equal(refused.clusters.get("c-eu-1")?.errors[0]?.reason, "no-objects");
    assert.match(refused.clusters.get("c-eu-1")?.errors[0]?.message ?? "", /allowEmpty: true/);
    const allowed = ok(await resolve({ snapshot: snapshot("c1", { ...empty, "fleet.yaml": fleet.replace("    path: apps/api\n", "    path: apps/api\n    allowEmpty: true\n") }), clusters: clusters.slice(0, 1), renderer: counting() }));
    assert.deepEqual(allowed.clusters.get("c-eu-1")?.errors, []);
    assert.deepEqual(bundle(allowed, "c-eu-1", "api")?.payload.objects, []);
  });

  void test("a policy change changes the digest without rendering again", async () => {
    const first = ok(await resolve({ snapshot: snapshot("c1", repo), clusters, renderer: counting() }));
    const renderer = counting();
    const second = ok(await resolve({ snapshot: snapshot("c2", { ...repo, "fleet.yaml": fleet.replace("drift: report", "drift: correct") }), clusters, renderer, previous: first.renders }));
    assert.notEqual(bundle(second, "c-us-1", "web")?.digest, bundle(first, "c-us-1", "web")?.digest);
    assert.deepEqual(renderer.dirs, []);
  });

  void test("publishes every ignore rule in ignore_rules and the unscoped ones in ignore, for older agents", async () => {
    const scoped = fleet.replace(
      "ignore: [/spec/replicas]",
      "ignore:\n      - /spec/replicas\n      - { path: /spec/template/spec/containers/*/image, group: apps, kind: Deployment, name: web }\n      - { path: /data/cache, kind: ConfigMap, namespace: web }",
    );
    const r = ok(await resolve({ snapshot: snapshot("c1", { ...repo, "fleet.yaml": scoped }), clusters, renderer: counting() }));
    const policy = bundle(r, "c-us-1", "web")?.payload.policy;
    assert.deepEqual(policy?.ignore, ["/spec/replicas"]);
    assert.deepEqual(
      policy?.ignoreRules.map(({ path, group, kind, namespace, name }) => ({ path, group, kind, namespace, name })),
      [
        { path: "/spec/replicas", group: "", kind: "", namespace: "", name: "" },
        { path: "/spec/template/spec/containers/*/image", group: "apps", kind: "Deployment", namespace: "", name: "web" },
        { path: "/data/cache", group: "", kind: "ConfigMap", namespace: "web", name: "" },
      ],
    );
  });

  void test("a change of an ignore rule's scope alone changes the digest, so agents get it", async () => {
    const withScope = (name: string) => fleet.replace("ignore: [/spec/replicas]", `ignore: [{ path: /spec/replicas, kind: Deployment, name: ${name} }]`);
    const first = ok(await resolve({ snapshot: snapshot("c1", { ...repo, "fleet.yaml": withScope("web") }), clusters, renderer: counting() }));
    const renderer = counting();
    const second = ok(await resolve({ snapshot: snapshot("c2", { ...repo, "fleet.yaml": withScope("api") }), clusters, renderer, previous: first.renders }));
    assert.notEqual(bundle(second, "c-us-1", "web")?.digest, bundle(first, "c-us-1", "web")?.digest);
    assert.deepEqual(renderer.dirs, []);
    // The unscoped list is the same (empty) both times: only ignore_rules tells them apart.
    assert.deepEqual(bundle(second, "c-us-1", "web")?.payload.policy?.ignore, []);
  });

  void test("a cluster's new variable value changes only the clusters and overlays that read it", async () => {
    const first = ok(await resolve({ snapshot: snapshot("c1", repo), clusters, renderer: counting() }));
    const changed = clusters.map((c) => (c.id === "c-eu-1" ? { ...c, variables: { replicas: "7" } } : c));
    const second = ok(await resolve({ snapshot: snapshot("c1", repo), clusters: changed, renderer: counting(), previous: first.renders }));
    assert.equal(second.stats.rendered, 0);
    assert.deepEqual(data(bundle(second, "c-eu-1", "web")), { replicas: "7", cluster: "eu-1" });
    assert.equal(bundle(second, "c-eu-2", "web")?.digest, bundle(first, "c-eu-2", "web")?.digest);
    assert.equal(bundle(second, "c-eu-1", "base")?.digest, bundle(first, "c-eu-1", "base")?.digest);
  });
});
