// Story 12 of promotion: the environment diff, end to end on the lab with the demo fleet. The
// desired state of prod-us and prod-eu differs in exactly the fields their overlays (and the
// cluster name they substitute) make differ; and one cluster's diff over a range of commits shows
// exactly the tag bump committed in between, read back from Git by the hub.
import assert from "node:assert/strict";
import { readFile, rm, cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { runGitfleet } from "../fleet/gitfleet-cli.js";

const demoFleet = fileURLToPath(new URL("../../fixtures/demo-fleet", import.meta.url));
const clusters = [
  { name: "prod-us", labels: { env: "prod", region: "us" } },
  { name: "prod-eu", labels: { env: "prod", region: "eu" } },
];

interface DiffAnswer {
  from: { kind: string; name: string; commit: string; cluster: string };
  to: { kind: string; name: string; commit: string; cluster: string };
  bundles: string[];
  objects: { apiVersion: string; kind: string; namespace: string; name: string; change: string; bundle: string; fields: { path: string; from?: unknown; to?: unknown }[] }[];
  counts: { added: number; removed: number; changed: number; unchanged: number };
  notes: string[];
}

/** Every differing field as "Kind namespace/name path: from -> to", sorted. */
function fieldsOf(answer: DiffAnswer): string[] {
  return answer.objects
    .flatMap((o) => o.fields.map((f) => `${o.kind} ${o.namespace}/${o.name} ${f.path}: ${JSON.stringify(f.from)} -> ${JSON.stringify(f.to)}`))
    .sort();
}

describe("story 12: the environment diff", { timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  let first: string;

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-seed-"));
    await cp(demoFleet, seed, { recursive: true });
    fleet = await startFleet({ clusters: clusters.map((c) => c.name), seed, webhookOnPush: true });
    first = await fleet.head();
    for (const c of clusters) {
      const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1, labels: c.labels });
      await fleet.startAgent(c.name, { token: token.secret, labels: c.labels });
    }
    for (const c of clusters) await waitForSynced(fleet.api, c.name, first, { timeoutMs: 120_000 });
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("prod-us and prod-eu differ in exactly their instance label, region and cluster name", async () => {
    const answer = await fleet.api.get<DiffAnswer>("/diff?from=prod-us&to=prod-eu");
    assert.equal(answer.from.kind, "cluster");
    assert.equal(answer.from.commit, first);
    assert.deepEqual(answer.bundles, ["platform", "web"]);
    const label = "/metadata/labels/app.kubernetes.io~1instance";
    const instance = `${label}: "web-prod-us" -> "web-prod-eu"`;
    assert.deepEqual(fieldsOf(answer), [
      `ConfigMap web/web-config /data/cluster: "prod-us" -> "prod-eu"`,
      `ConfigMap web/web-config /data/region: "us" -> "eu"`,
      `ConfigMap web/web-config ${instance}`,
      `Deployment web/web ${instance}`,
      `Namespace /web ${instance}`,
      `Service web/web ${instance}`,
      `ServiceAccount web/web ${instance}`,
    ]);
    assert.deepEqual(answer.counts, { added: 0, removed: 0, changed: 5, unchanged: 2 });
    assert.ok(answer.objects.every((o) => o.change === "changed" && o.bundle === "web"));
    // The demo's clusters are named like the pipeline's stages: a bare name is the cluster.
    assert.deepEqual(answer.notes, [
      "prod-us is a cluster and a stage; compared the cluster (name the stage as stage:prod-us)",
      "prod-eu is a cluster and a stage; compared the cluster (name the stage as stage:prod-eu)",
    ]);

    const cli = await runGitfleet(fleet, "diff", "prod-us", "prod-eu");
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^prod-us \(cluster, at [0-9a-f]{7}\) → prod-eu \(cluster, at [0-9a-f]{7}\)$/m);
    assert.match(cli.stdout, /^~ ConfigMap web\/web-config {2}\[v1, bundle web\]\n(?: {4}.*\n)*? {4}data\.region +"us" → "eu"$/m);
    assert.match(cli.stdout, /^5 changed, 0 added, 0 removed, 2 unchanged$/m);
  });

  test("the stages prod-us and prod-eu of pipeline web differ in the same fields of the web bundle alone", async () => {
    const answer = await fleet.api.get<DiffAnswer & { from: { pipeline: string; clusters: string[]; uniform: boolean } }>("/diff?from=stage:prod-us&to=stage:web/prod-eu");
    assert.deepEqual(
      { kind: answer.from.kind, pipeline: answer.from.pipeline, cluster: answer.from.cluster, clusters: answer.from.clusters, uniform: answer.from.uniform },
      { kind: "stage", pipeline: "web", cluster: "prod-us", clusters: ["prod-us"], uniform: true },
    );
    assert.deepEqual(answer.bundles, ["web"]);
    assert.deepEqual(answer.counts, { added: 0, removed: 0, changed: 5, unchanged: 0 });
    assert.equal(fieldsOf(answer).length, 7);
    assert.deepEqual(answer.notes, []);

    // No cluster is labelled for staging here: nothing is rendered for that stage.
    const res = await fetch(`${fleet.hubUrl}/api/v1/diff?from=stage:staging&to=stage:prod-us`, { headers: { authorization: `Bearer ${fleet.adminToken}` } });
    assert.equal(res.status, 412);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /stage staging of pipeline web has no clusters at commit [0-9a-f]{12}/);
  });

  test("names that are neither a cluster nor a stage are refused with 404", async () => {
    const res = await fetch(`${fleet.hubUrl}/api/v1/diff?from=prod-us&to=prod-mars`, { headers: { authorization: `Bearer ${fleet.adminToken}` } });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /no cluster or stage named prod-mars/);
  });

  test("a range of commits for prod-us shows exactly the tag bump committed in between", async () => {
    const file = "apps/web/prod-us/kustomization.yaml";
    const before = await readFile(join(seed, file), "utf8");
    assert.match(before, /newTag: 1\.4\.0/);
    const bumped = await fleet.commit({ [file]: before.replace("newTag: 1.4.0", "newTag: 1.4.1") }, "prod-us: web 1.4.1");
    await waitForSynced(fleet.api, "prod-us", bumped, { timeoutMs: 120_000 });

    // Abbreviated shas, as `git log --oneline` shows them; the older one is read back from Git.
    const range = await fleet.api.get<DiffAnswer>(`/diff?cluster=prod-us&revisions=${first.slice(0, 7)}..${bumped.slice(0, 7)}`);
    assert.equal(range.from.commit, first);
    assert.equal(range.to.commit, bumped);
    assert.deepEqual(fieldsOf(range), [`Deployment web/web /spec/template/spec/containers/0/image: "registry.example.com/web:1.4.0" -> "registry.example.com/web:1.4.1"`]);
    assert.deepEqual(range.counts, { added: 0, removed: 0, changed: 1, unchanged: 6 });

    // A.. runs to the last good commit; prod-eu did not change over the same range.
    const toHead = await fleet.api.get<DiffAnswer>(`/diff?cluster=prod-us&revisions=${first}..`);
    assert.deepEqual(fieldsOf(toHead), fieldsOf(range));
    assert.deepEqual((await fleet.api.get<DiffAnswer>(`/diff?cluster=prod-eu&revisions=${first.slice(0, 7)}..`)).objects, []);

    // The two clusters compared at the older commit no longer show the image, at the head they do.
    const then = await fleet.api.get<DiffAnswer>(`/diff?from=prod-us&to=prod-eu&revision=${first.slice(0, 10)}`);
    assert.ok(!fieldsOf(then).some((f) => f.includes("/image")));
    const now = await fleet.api.get<DiffAnswer>("/diff?from=prod-us&to=prod-eu");
    assert.ok(fieldsOf(now).includes(`Deployment web/web /spec/template/spec/containers/0/image: "registry.example.com/web:1.4.1" -> "registry.example.com/web:1.4.0"`));

    const cli = await runGitfleet(fleet, "diff", "--cluster", "prod-us", "--revisions", `${first.slice(0, 7)}..${bumped.slice(0, 7)}`);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^ {4}spec\.template\.spec\.containers\[name=web\]\.image +"registry\.example\.com\/web:1\.4\.0" → "registry\.example\.com\/web:1\.4\.1"$/m);
    assert.match(cli.stdout, /^1 changed, 0 added, 0 removed, 6 unchanged$/m);

    const unknown = await fetch(`${fleet.hubUrl}/api/v1/diff?cluster=prod-us&revisions=0123456..${bumped.slice(0, 7)}`, { headers: { authorization: `Bearer ${fleet.adminToken}` } });
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /no commit 0123456 in the history of branch main/);
  });
});
