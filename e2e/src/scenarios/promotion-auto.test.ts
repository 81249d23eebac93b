// Automatic promotion and automatic rollback on the lab (stories 6 and 7 of the promotion issue):
// a tag bump in staging reaches prod-us by itself once staging soaked, with "gitfleet" as the
// author; a promotion whose pods fail in prod-us is reverted by itself, and auto-promotion of that
// pipeline holds until someone resumes it.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { kubeConfigFor } from "../kube-client.js";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import {
  callAs,
  demoFile,
  demoSeed,
  derivedApp,
  overlayFile,
  promotionOf,
  promotionsOf,
  startDemoAgents,
  waitForPromotionState,
  waitForWebImage,
  webImage,
  withTag,
  type PromotionRecordView,
} from "../fleet/promotions.js";
import { waitFor } from "../lab/process.js";
import { failAnnotation } from "../lab/workloads.js";

const soakMs = 5_000;
const apiImage = "registry.example.com/api";
const apiOverlay = (stage: string): string => `apps/api/${stage}/kustomization.yaml`;
const apiPods = (stage: string): string => `apps/api/${stage}/pods.yaml`;
/** The api app's promoted pod settings: a release annotation, or the lab's failure annotation too. */
const podsPatch = (release: string, fail = false): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    metadata:\n      annotations:\n        example.com/release: "${release}"\n${fail ? `        ${failAnnotation}: "true"\n` : ""}`;

const target = (name: string, labels: Record<string, string>) => ({ name, clusterSelector: { matchLabels: labels }, overlay: name });
const fleetYaml = stringify({
  apiVersion: "gitfleet.dev/v1",
  kind: "Fleet",
  bundles: [
    { name: "web", path: "apps/web", namespace: "web", substitute: true, targets: [target("staging", { env: "staging" }), target("prod-us", { env: "prod", region: "us" })] },
    { name: "api", path: "apps/api", namespace: "api", substitute: true, targets: [target("staging", { env: "staging" }), target("prod-us", { env: "prod", region: "us" })] },
  ],
  pipelines: [
    {
      name: "web",
      bundle: "web",
      promote: { images: [webImage] },
      stages: [
        { name: "staging", target: "staging", gates: { healthy: true, soak: `${soakMs / 1000}s` }, auto: true },
        { name: "prod-us", target: "prod-us", verify: { timeout: "2m" } },
      ],
    },
    {
      // A stage without a health gate: what runs in staging moves on as soon as it is synced.
      name: "api",
      bundle: "api",
      promote: { images: [apiImage], files: ["pods.yaml"] },
      stages: [
        { name: "staging", target: "staging", gates: { healthy: false }, auto: true },
        { name: "prod-us", target: "prod-us", rollback: "auto", verify: { timeout: "20s" } },
      ],
    },
  ],
});

const clusters = ["staging-us", "prod-us"] as const;

describe("automatic promotion and rollback", { timeout: 900_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  let apiFiles: Record<string, string>;
  const kube = (cluster: string) => kubeConfigFor(fleet.cluster(cluster));

  /** Waits for a new automatic promotion of `pipeline` that carries `value`. */
  const waitForAutomatic = (pipeline: string, value: string): Promise<PromotionRecordView> =>
    waitFor(async () => (await promotionsOf(fleet.api, { pipeline })).find((p) => p.kind === "promotion" && p.values.some((v) => v.value === value)), {
      what: `an automatic promotion of ${pipeline} with ${value}`,
      timeoutMs: 120_000,
      intervalMs: 250,
    });

  before(async () => {
    apiFiles = await derivedApp("api", ["staging", "prod-us"]);
    for (const stage of ["staging", "prod-us"]) {
      apiFiles[apiOverlay(stage)] = withTag(apiFiles[apiOverlay(stage)] ?? "", "2.0.0").replace("patches:\n", "patches:\n  - path: pods.yaml\n");
      apiFiles[apiPods(stage)] = podsPatch("2.0.0");
    }
    // Both stages start at the same values: nothing to promote until a story changes staging.
    seed = await demoSeed({ "fleet.yaml": fleetYaml, [overlayFile("staging")]: withTag(await demoFile(overlayFile("staging")), "1.4.0"), ...apiFiles });
    fleet = await startFleet({ clusters: [...clusters], seed, webhookOnPush: true });
    await startDemoAgents(fleet, clusters, ["web", "api"]);
    assert.deepEqual(await promotionsOf(fleet.api), [], "nothing promoted while the stages agree");
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("6. a tag bump in staging is promoted to prod-us by itself after the soak, by gitfleet", async () => {
    const pushedAt = Date.now();
    await fleet.commit({ [overlayFile("staging")]: withTag(await demoFile(overlayFile("staging")), "1.6.0") }, "staging: web 1.6.0");
    const auto = await waitForAutomatic("web", `${webImage}:1.6.0`);
    assert.equal(auto.automatic, true);
    assert.equal(auto.author, "gitfleet");
    assert.deepEqual([auto.from.stage, auto.to.stage], ["staging", "prod-us"]);
    assert.ok(Date.parse(auto.createdAt) - pushedAt >= soakMs, `not before staging soaked ${soakMs} ms (created ${auto.createdAt}, pushed ${new Date(pushedAt).toISOString()})`);
    const soak = auto.gates.gates.find((g) => g.gate === "soak");
    assert.ok(soak?.passed, JSON.stringify(auto.gates.gates));

    const verified = await waitForPromotionState(fleet.api, auto.id, ["verified"], 180_000);
    await waitForWebImage(kube("prod-us"), "prod-us", `${webImage}:1.6.0`);
    assert.match(await fleet.git("log", "-1", "--format=%an%n%B", verified.commit ?? ""), new RegExp(`^gitfleet\\n[^]*^Gitfleet-Promotion: ${auto.id}$`, "m"));
  });

  test("7. a promotion whose pods fail in prod-us is rolled back by itself, and auto-promotion holds until resumed", async () => {
    await fleet.commit({ [apiOverlay("staging")]: withTag(apiFiles[apiOverlay("staging")] ?? "", "2.0.1"), [apiPods("staging")]: podsPatch("2.0.1", true) }, "staging: api 2.0.1");
    const failing = await waitForAutomatic("api", `${apiImage}:2.0.1`);
    assert.equal(failing.author, "gitfleet");
    await waitForPromotionState(fleet.api, failing.id, ["failed", "rolled-back"], 120_000);

    const rollback = await waitFor(async () => (await promotionsOf(fleet.api, { pipeline: "api" })).find((p) => p.kind === "rollback" && p.rollbackOf === failing.id), {
      what: `the automatic rollback of ${failing.id}`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    assert.equal(rollback.automatic, true);
    assert.equal(rollback.author, "gitfleet");
    assert.equal(rollback.to.stage, "prod-us");
    const reverted = await waitForPromotionState(fleet.api, rollback.id, ["verified"], 180_000);
    await waitForWebImage(kube("prod-us"), "prod-us", `${apiImage}:2.0.0`, 120_000, "api");
    assert.equal(await fleet.git("show", `${reverted.commit ?? ""}:${apiPods("prod-us")}`), apiFiles[apiPods("prod-us")], "the pod settings are back");
    const original = await promotionOf(fleet.api, failing.id);
    assert.equal(original.rolledBackBy, rollback.id);
    assert.equal(original.state, "rolled-back");

    type Held = { held?: boolean; hold?: unknown };
    const held = (view: Held): boolean => Boolean(view.held ?? view.hold);
    assert.equal(held(await fleet.api.get<Held>("/pipelines/api")), true, "auto-promotion of api is held");

    // Staging fixed: it would be promoted at once, but the pipeline holds.
    const fixed = await fleet.commit({ [apiOverlay("staging")]: withTag(apiFiles[apiOverlay("staging")] ?? "", "2.0.2"), [apiPods("staging")]: podsPatch("2.0.2") }, "staging: api 2.0.2");
    await waitForSynced(fleet.api, "staging-us", fixed);
    await new Promise((r) => setTimeout(r, 5_000)); // what would have been time enough to promote
    assert.equal((await promotionsOf(fleet.api, { pipeline: "api" })).filter((p) => p.kind === "promotion").length, 1, "no promotion while held");

    const resumed = await callAs(fleet.hubUrl, fleet.adminToken, "POST", "/pipelines/api/resume", {});
    assert.ok(resumed.status >= 200 && resumed.status < 300, JSON.stringify(resumed));
    assert.equal(held(await fleet.api.get<Held>("/pipelines/api")), false);
    const next = await waitForAutomatic("api", `${apiImage}:2.0.2`);
    await waitForPromotionState(fleet.api, next.id, ["verified"], 180_000);
    await waitForWebImage(kube("prod-us"), "prod-us", `${apiImage}:2.0.2`, 120_000, "api");
  });
});
