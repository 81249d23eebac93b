import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type { EnvironmentCluster, EnvironmentRevision, EnvironmentSource, EnvironmentStage } from "../delivery-contract.js";
import { HubError } from "../errors.js";
import { compareEnvironments, compareRevisions } from "./environment-diff.js";
import { parseEnvironmentRef } from "./environment-ref.js";

const configMap = (data: Record<string, string>) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web-config", namespace: "web" }, data });
const platform = { name: "platform", target: "default", overlay: "platform", digest: "p", objects: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "observability" } }] };

/** A cluster with the platform bundle and a web bundle whose ConfigMap says region and cluster. */
function cluster(name: string, region: string, options: { tag?: string; broken?: boolean; platform?: boolean } = {}): EnvironmentCluster {
  const data = { region, cluster: name, tag: options.tag ?? "1.4.0" };
  const web = { name: "web", target: `prod-${region}`, overlay: `apps/web/prod-${region}`, digest: JSON.stringify(data), objects: [configMap(data)] };
  return {
    name,
    bundles: [...(options.platform === false ? [] : [platform]), ...(options.broken ? [] : [web])],
    errors: options.broken ? [{ bundle: "web", message: "kustomization.yaml:3: unknown field" }] : [],
  };
}

function revision(commit: string, clusters: EnvironmentCluster[], stages: EnvironmentStage[]): EnvironmentRevision {
  return { commit, clusterNames: clusters.map((c) => c.name).sort(), stages, cluster: (name) => clusters.find((c) => c.name === name) };
}

const stage = (name: string, clusters: string[], pipeline = "web"): EnvironmentStage => ({ pipeline, bundle: "web", name, target: name, clusters });

function source(revisions: Record<string, EnvironmentRevision>, head: string): EnvironmentSource & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return {
    asked,
    at(rev) {
      asked.push(rev);
      const found = revisions[rev ?? head] ?? Object.entries(revisions).find(([sha]) => rev !== undefined && sha.startsWith(rev))?.[1];
      return found ? Promise.resolve(found) : Promise.reject(new HubError("not-found", `no commit ${rev}`));
    },
  };
}

const a = "a".repeat(40);
const b = "b".repeat(40);
const head = revision(
  a,
  [cluster("us-1", "us"), cluster("us-2", "us"), cluster("eu-1", "eu"), cluster("eu-2", "eu"), cluster("prod-us", "us")],
  [stage("prod-us", ["us-1", "us-2"]), stage("prod-eu", ["eu-1", "eu-2"]), stage("empty", [])],
);

const rejectsWith = (code: string, message: RegExp) => (err: unknown) => err instanceof HubError && err.code === code && message.test(err.message);

void describe("environment diff", () => {
  void test("two clusters: every bundle, each differing field", async () => {
    const diff = await compareEnvironments(source({ [a]: head }, a), { from: "us-1", to: "eu-1" });
    assert.deepEqual(diff.from, { kind: "cluster", name: "us-1", commit: a, cluster: "us-1", clusters: ["us-1"], uniform: true });
    assert.deepEqual(diff.bundles, ["platform", "web"]);
    assert.deepEqual(diff.counts, { added: 0, removed: 0, changed: 1, unchanged: 1 });
    assert.deepEqual(diff.objects[0]?.fields.map((f) => [f.path, f.from, f.to]), [
      ["/data/cluster", "us-1", "eu-1"],
      ["/data/region", "us", "eu"],
    ]);
    assert.deepEqual(diff.notes, []);
  });

  void test("two stages: the stage's bundle only, the first cluster by name standing for a stage whose clusters differ", async () => {
    const diff = await compareEnvironments(source({ [a]: head }, a), { from: "stage:prod-us", to: "prod-eu" });
    assert.deepEqual(diff.from, { kind: "stage", name: "prod-us", pipeline: "web", commit: a, cluster: "us-1", clusters: ["us-1", "us-2"], uniform: false });
    assert.equal(diff.to.cluster, "eu-1");
    assert.deepEqual(diff.bundles, ["web"]);
    assert.equal(diff.counts.unchanged, 0, "the platform bundle is left out");
    assert.deepEqual(diff.notes, [
      "the 2 clusters of stage prod-us get 2 different renders of bundle web; us-1, the first by name, stands for the stage",
      "the 2 clusters of stage prod-eu get 2 different renders of bundle web; eu-1, the first by name, stands for the stage",
    ]);
  });

  void test("a stage whose clusters all get the same render is uniform", async () => {
    const same = revision(a, [cluster("x", "us"), { ...cluster("x", "us"), name: "y" }], [stage("prod-us", ["x", "y"])]);
    const diff = await compareEnvironments(source({ [a]: same }, a), { from: "stage:prod-us", to: "x" });
    assert.equal(diff.from.uniform, true);
    assert.deepEqual(diff.notes, []);
    assert.deepEqual(diff.bundles, ["web"]);
  });

  void test("a bare name is a cluster before a stage, and the answer says how to name the stage", async () => {
    const diff = await compareEnvironments(source({ [a]: head }, a), { from: "prod-us", to: "stage:web/prod-us" });
    assert.equal(diff.from.kind, "cluster");
    assert.equal(diff.to.kind, "stage");
    assert.equal(diff.notes[0], "prod-us is a cluster and a stage; compared the cluster (name the stage as stage:prod-us)");
  });

  void test("at a revision, both sides are rendered at that commit", async () => {
    const src = source({ [a]: head, [b]: revision(b, [cluster("us-1", "us", { tag: "1.5.0" }), cluster("eu-1", "eu")], []) }, a);
    const diff = await compareEnvironments(src, { from: "us-1", to: "eu-1", revision: "bbbb" });
    assert.deepEqual(src.asked, ["bbbb"]);
    assert.equal(diff.from.commit, b);
    assert.ok(diff.objects[0]?.fields.some((f) => f.path === "/data/tag"));
  });

  void test("one cluster over a range of commits; B may be left out for the last good commit", async () => {
    const src = source({ [a]: head, [b]: revision(b, [cluster("us-1", "us", { tag: "1.5.0" })], []) }, a);
    const diff = await compareRevisions(src, { cluster: "us-1", revisions: `${a.slice(0, 7)}..${b.slice(0, 7)}` });
    assert.equal(diff.from.commit, a);
    assert.equal(diff.to.commit, b);
    assert.deepEqual(diff.objects.flatMap((o) => o.fields.map((f) => [f.path, f.from, f.to])), [["/data/tag", "1.4.0", "1.5.0"]]);
    const toHead = await compareRevisions(src, { cluster: "us-1", revisions: `${b.slice(0, 7)}..` });
    assert.equal(toHead.to.commit, a);
  });

  void test("refusals say what was wrong", async () => {
    const src = source({ [a]: head, [b]: revision(b, [cluster("us-1", "us", { broken: true }), cluster("eu-1", "eu")], [stage("prod-us", ["us-1"]), stage("prod-us", ["eu-1"], "other")]) }, a);
    await assert.rejects(compareEnvironments(src, { from: "nowhere", to: "us-1" }), rejectsWith("not-found", /^no cluster or stage named nowhere at commit aaaaaaaaaaaa$/));
    await assert.rejects(compareEnvironments(src, { from: "cluster:prod-eu", to: "us-1" }), rejectsWith("not-found", /^no cluster named prod-eu/));
    await assert.rejects(compareEnvironments(src, { from: "stage:us-1", to: "us-1" }), rejectsWith("not-found", /^no stage named us-1/));
    await assert.rejects(compareEnvironments(src, { from: "stage:empty", to: "us-1" }), rejectsWith("failed-precondition", /stage empty of pipeline web has no clusters/));
    await assert.rejects(compareEnvironments(src, { from: "stage:prod-us", to: "us-1", revision: "bbbb" }), rejectsWith("invalid-argument", /stage prod-us is in pipelines web, other; name one as stage:PIPELINE\/prod-us/));
    await assert.rejects(compareEnvironments(src, { from: "us-1", to: "eu-1", revision: "bbbb" }), rejectsWith("failed-precondition", /bundle web does not render for cluster us-1 at commit bbbbbbbbbbbb: kustomization.yaml:3: unknown field/));
    await assert.rejects(compareRevisions(src, { cluster: "us-1", revisions: "main..HEAD" }), rejectsWith("invalid-argument", /not a range A\.\.B of commit shas/));
    await assert.rejects(compareRevisions(src, { cluster: "stage:prod-us", revisions: "aaaa..bbbb" }), rejectsWith("invalid-argument", /names a stage/));
    await assert.rejects(compareRevisions(src, { cluster: "us-1", revisions: "cccc..aaaa" }), rejectsWith("not-found", /no commit cccc/));
  });

  void test("names are parsed with their prefixes and checked as DNS labels", () => {
    assert.deepEqual(parseEnvironmentRef("prod-us", "from"), { kind: "any", pipeline: undefined, name: "prod-us", text: "prod-us" });
    assert.deepEqual(parseEnvironmentRef("web/prod-us", "from"), { kind: "stage", pipeline: "web", name: "prod-us", text: "web/prod-us" });
    assert.deepEqual(parseEnvironmentRef("cluster:eu-1", "to").kind, "cluster");
    assert.throws(() => parseEnvironmentRef("region:eu", "to"), /to: "region:eu" names neither a cluster nor a stage/);
    assert.throws(() => parseEnvironmentRef("cluster:web/eu", "to"), /a cluster name has no pipeline part/);
    assert.throws(() => parseEnvironmentRef("Prod_US", "from"), /from: the name "Prod_US" in "Prod_US"/);
  });
});
