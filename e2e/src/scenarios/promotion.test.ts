// Promotion end to end on the lab, as a user lives it with the demo fleet: a tag bump in staging,
// a promotion refused while a staging pod fails, a dry run, the promotion that changes one line of
// prod-us's overlay and is verified, prod-eu promoted and rolled back, and a viewer who cannot
// promote. Stories 1-5, 10 and 11 of the promotion issue; they share one fleet and run in order.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { kubeConfigFor } from "../kube-client.js";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { runGitfleet } from "../fleet/gitfleet-cli.js";
import {
  callAs,
  demoClusters,
  demoFile,
  demoSeed,
  failingPodsPatch,
  overlayFile,
  promotionOf,
  promotionsOf,
  startDemoAgents,
  waitForPromotionState,
  waitForWebHealthy,
  waitForWebImage,
  webImage,
  webImageIn,
  webPipelineFleet,
  withTag,
  type GatesView,
  type PromotionRecordView,
} from "../fleet/promotions.js";
import { waitFor } from "../lab/process.js";

/** The demo's web bundle with a pipeline of its own: short verification, so failures show fast. */
const fleetYaml = webPipelineFleet([{ name: "staging" }, { name: "prod-us" }, { name: "prod-eu" }]);


const clusters = Object.keys(demoClusters) as (keyof typeof demoClusters)[];

describe("promotion from stage to stage", { timeout: 900_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  const stagingOverlay = demoFile(overlayFile("staging"));
  let promotedToUs: PromotionRecordView;
  let promotedToEu: PromotionRecordView;

  const post = (body: unknown): Promise<{ status: number; body: unknown }> => callAs(fleet.hubUrl, fleet.adminToken, "POST", "/promotions", body);
  const kube = (cluster: string) => kubeConfigFor(fleet.cluster(cluster));
  const fileAt = (commit: string, path: string): Promise<string> => fleet.git("show", `${commit}:${path}`);

  before(async () => {
    seed = await demoSeed({ "fleet.yaml": fleetYaml });
    fleet = await startFleet({ clusters, seed, webhookOnPush: true });
    await startDemoAgents(fleet, clusters);
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("1. a tag bump pushed to staging runs there, healthy", async () => {
    const revision = await fleet.commit({ [overlayFile("staging")]: withTag(await stagingOverlay, "1.5.1") }, "staging: web 1.5.1");
    await waitForWebHealthy(fleet.api, "staging-us", revision);
    await waitForWebImage(kube("staging-us"), "staging-us", `${webImage}:1.5.1`);
    const pipeline = await fleet.api.get<{ stages: { name: string; values: { value?: string }[] }[] }>("/pipelines/web");
    assert.deepEqual(
      pipeline.stages.map((s) => [s.name, s.values.map((v) => v.value)]),
      [["staging", [`${webImage}:1.5.1`]], ["prod-us", [`${webImage}:1.4.0`]], ["prod-eu", [`${webImage}:1.4.0`]]],
    );
  });

  test("2. a promotion to prod-us is refused while a staging pod fails, naming the cluster and the object", async () => {
    const overlay = withTag(await stagingOverlay, "1.5.2").replace("patches:\n", "patches:\n  - path: fail.yaml\n");
    const revision = await fleet.commit({ [overlayFile("staging")]: overlay, "apps/web/staging/fail.yaml": failingPodsPatch }, "staging: web 1.5.2, whose pods fail");
    await waitForSynced(fleet.api, "staging-us", revision);
    // The pods really fail: the cluster reports the bundle unhealthy at that revision.
    await waitFor(
      async () => {
        const web = (await fleet.api.get<{ bundles: { name: string; health: string; healthRevision?: string }[] }>("/clusters/staging-us")).bundles.find((b) => b.name === "web");
        return web && web.healthRevision === revision && web.health !== "healthy" && web.health !== "unknown" ? web : undefined;
      },
      { what: "staging-us's web bundle unhealthy at the failing revision", timeoutMs: 120_000, intervalMs: 250 },
    );
    const before = await promotionsOf(fleet.api, { pipeline: "web" });

    const refused = await post({ pipeline: "web", from: "staging", to: "prod-us" });
    assert.equal(refused.status, 412, JSON.stringify(refused.body));
    const body = refused.body as { error: { message: string }; gates?: GatesView };
    const gates = body.gates ?? (body.error as { gates?: GatesView }).gates;
    assert.ok(gates, `the refusal carries the gates: ${JSON.stringify(body)}`);
    assert.equal(gates.passed, false);
    const healthy = gates.gates.find((g) => g.gate === "healthy");
    assert.ok(healthy && !healthy.passed, JSON.stringify(gates.gates));
    assert.match(healthy.message, /staging-us/);
    assert.match(healthy.message, /Deployment web\/web/);
    assert.deepEqual(healthy.clusters, ["staging-us"]);
    assert.match(body.error.message, /gate/i);
    assert.equal(await fleet.head(), revision, "nothing was committed");
    assert.deepEqual((await promotionsOf(fleet.api, { pipeline: "web" })).map((p) => p.id), before.map((p) => p.id), "no promotion recorded");

    // The CLI shows the same refusal, gate by gate, and exits 1.
    const cli = await runGitfleet(fleet, "promote", "web", "--from", "staging", "--to", "prod-us");
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stdout, /refused/);
    assert.match(cli.stdout, /healthy\s+FAIL\s+.*staging-us/);
  });

  test("staging fixed: its pods become ready at the same tag", async () => {
    const revision = await fleet.commit({ [overlayFile("staging")]: withTag(await stagingOverlay, "1.5.2"), "apps/web/staging/fail.yaml": null }, "staging: web 1.5.2 without the failure");
    await waitForWebHealthy(fleet.api, "staging-us", revision, 180_000);
  });

  test("10. a dry run shows the gates and the diff, and writes nothing", async () => {
    const head = await fleet.head();
    const before = await promotionsOf(fleet.api);
    const dry = await post({ pipeline: "web", from: "staging", to: "prod-us", dryRun: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    const answer = dry.body as { dryRun: boolean; gates: GatesView; values: { value?: string }[]; diff: { file: string; diff: string }[] };
    assert.equal(answer.dryRun, true);
    assert.equal(answer.gates.passed, true, JSON.stringify(answer.gates));
    assert.deepEqual(answer.values.map((v) => v.value), [`${webImage}:1.5.2`]);
    assert.deepEqual(answer.diff.map((d) => d.file), [overlayFile("prod-us")]);
    assert.match(answer.diff[0]?.diff ?? "", /^-\s+newTag: 1\.4\.0$/m);
    assert.match(answer.diff[0]?.diff ?? "", /^\+\s+newTag: 1\.5\.2$/m);
    assert.equal(await fleet.head(), head, "no commit");
    assert.deepEqual((await promotionsOf(fleet.api)).map((p) => p.id), before.map((p) => p.id), "no record");

    const cli = await runGitfleet(fleet, "promote", "web", "--from", "staging", "--to", "prod-us", "--dry-run");
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /nothing written/);
    assert.match(cli.stdout, /\+\s+newTag: 1\.5\.2/);
    assert.equal(await fleet.head(), head, "no commit from the CLI's dry run either");
  });

  test("3. the promotion commits exactly the tag line of prod-us's overlay, comments untouched", async () => {
    const head = await fleet.head();
    const created = await post({ pipeline: "web", from: "staging", to: "prod-us" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { promotion } = created.body as { promotion: PromotionRecordView };
    assert.equal(promotion.kind, "promotion");
    assert.equal(promotion.automatic, false);
    assert.equal(promotion.from.commit, head);
    assert.equal(promotion.gates.passed, true);
    promotedToUs = await waitForPromotionState(fleet.api, promotion.id, ["committed", "rolling-out", "verified"]);
    const commit = promotedToUs.commit ?? "";
    assert.equal(promotedToUs.parent, head);
    assert.equal(await fleet.head(), commit, "the promotion's commit is the branch head");
    assert.equal((await fleet.git("rev-list", "--count", `${head}..${commit}`)).trim(), "1", "one commit");
    assert.equal((await fleet.git("show", "--format=", "--name-only", commit)).trim(), overlayFile("prod-us"), "one file");

    const beforeText = await fileAt(head, overlayFile("prod-us"));
    const afterText = await fileAt(commit, overlayFile("prod-us"));
    assert.match(beforeText, /^# /m, "the overlay has comments to keep");
    assert.equal(afterText, beforeText.replace(/^(\s+newTag: )1\.4\.0$/m, "$11.5.2"), "exactly the tag line changed");
    const changed = afterText.split("\n").filter((line, i) => line !== beforeText.split("\n")[i]);
    assert.deepEqual(changed, ["    newTag: 1.5.2"]);

    const message = await fleet.git("log", "-1", "--format=%an <%ae>%n%B", commit);
    assert.match(message, new RegExp(`^${promotedToUs.author} <${promotedToUs.author}@gitfleet\\.invalid>$`, "m"), "the author is the token's name");
    assert.match(message, /^promote web: staging → prod-us/m);
    assert.match(message, new RegExp(`^Gitfleet-Promotion: ${promotedToUs.id}$`, "m"));
    assert.match(message, /^Gitfleet-Pipeline: web$/m);
    assert.match(message, new RegExp(`^Gitfleet-From: staging@${head}$`, "m"));
  });

  test("4. prod-us converges and the promotion becomes verified", async () => {
    const verified = await waitForPromotionState(fleet.api, promotedToUs.id, ["verified"], 180_000);
    await waitForWebImage(kube("prod-us"), "prod-us", `${webImage}:1.5.2`);
    const states = verified.transitions.map((t) => t.state);
    assert.deepEqual(states.slice(-3), ["committed", "rolling-out", "verified"], JSON.stringify(verified.transitions));
    // prod-eu was not touched.
    assert.equal(await webImageIn(kube("prod-eu")), `${webImage}:1.4.0`);

    const cli = await runGitfleet(fleet, "pipeline", "get", "web");
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^prod-us\\s+registry\\.example\\.com/web:1\\.5\\.2\\s.*${verified.id} verified`, "m"));
    const nothing = await post({ pipeline: "web", from: "staging", to: "prod-us" });
    assert.equal(nothing.status, 409, JSON.stringify(nothing.body));
    assert.match((nothing.body as { error: { message: string } }).error.message, /prod-us already runs .*web:1\.5\.2/);
  });

  test("5. prod-eu is promoted, then rolled back through the API: its clusters return to the old tag, and the records link both", async () => {
    const created = await post({ pipeline: "web", from: "prod-us", to: "prod-eu" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    promotedToEu = await waitForPromotionState(fleet.api, (created.body as { promotion: PromotionRecordView }).promotion.id, ["verified"], 180_000);
    await waitForWebImage(kube("prod-eu"), "prod-eu", `${webImage}:1.5.2`);

    const rolled = await callAs(fleet.hubUrl, fleet.adminToken, "POST", `/promotions/${promotedToEu.id}/rollback`, {});
    assert.equal(rolled.status, 201, JSON.stringify(rolled.body));
    const { promotion: rollback } = rolled.body as { promotion: PromotionRecordView };
    assert.equal(rollback.kind, "rollback");
    assert.equal(rollback.rollbackOf, promotedToEu.id);
    assert.equal(rollback.to.stage, "prod-eu");
    const done = await waitForPromotionState(fleet.api, rollback.id, ["verified"], 180_000);
    await waitForWebImage(kube("prod-eu"), "prod-eu", `${webImage}:1.4.0`);

    const original = await promotionOf(fleet.api, promotedToEu.id);
    assert.equal(original.rolledBackBy, rollback.id, "the promotion points at its rollback");
    assert.equal(original.state, "rolled-back");
    const message = await fleet.git("log", "-1", "--format=%B", done.commit ?? "");
    assert.match(message, new RegExp(`^Gitfleet-Rollback-Of: ${promotedToEu.id}$`, "m"));
    assert.equal(await fileAt(done.commit ?? "", overlayFile("prod-eu")), await fileAt(promotedToEu.parent ?? "", overlayFile("prod-eu")), "the overlay is as before the promotion");
  });

  test("11. a viewer token reads promotions but cannot promote or roll back", async () => {
    const head = await fleet.head();
    const as = (method: string, path: string, body?: unknown) => callAs(fleet.hubUrl, fleet.viewerToken, method, path, body);
    assert.equal((await as("GET", "/promotions")).status, 200);
    assert.equal((await as("GET", "/pipelines/web")).status, 200);
    assert.equal((await as("POST", "/promotions", { pipeline: "web", from: "prod-us", to: "prod-eu" })).status, 403);
    assert.equal((await as("POST", "/promotions", { pipeline: "web", from: "prod-us", to: "prod-eu", dryRun: true })).status, 403);
    assert.equal((await as("POST", `/promotions/${promotedToUs.id}/rollback`, {})).status, 403);
    assert.equal((await as("POST", "/pipelines/web/resume", {})).status, 403);
    assert.equal(await fleet.head(), head, "nothing committed");
  });
});
