// Promotions racing each other and people on the lab (stories 8 and 9 of the promotion issue):
// two promotions into the same stage at once, through two hub replicas, make one commit and the
// other sees its result; a person's commit landing between the hub's fetch and its push is kept
// and the promotion applied again on top of it, unless the person changed the promoted value.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { startFleet, type Fleet } from "../fleet/fleet.js";
import {
  callAs,
  demoFile,
  demoSeed,
  overlayFile,
  promotionsOf,
  startDemoAgents,
  waitForPromotionState,
  waitForWebHealthy,
  webPipelineFleet,
  withTag,
  type PromotionRecordView,
} from "../fleet/promotions.js";

const fleetYaml = webPipelineFleet([{ name: "staging" }, { name: "prod-us" }]);


const clusters = ["staging-us", "prod-us"] as const;

describe("promotions racing", { timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  /** Set by a story: what to do before the hub's next push reaches the Git server. */
  let beforeHubPush: (() => Promise<void>) | undefined;

  const promote = (url: string, body: Record<string, unknown> = {}) => callAs(url, fleet.adminToken, "POST", "/promotions", { pipeline: "web", from: "staging", to: "prod-us", ...body });
  const stagingAt = async (tag: string): Promise<void> => {
    const revision = await fleet.commit({ [overlayFile("staging")]: withTag(await demoFile(overlayFile("staging")), tag) }, `staging: web ${tag}`);
    await waitForWebHealthy(fleet.api, "staging-us", revision, 180_000);
  };
  const prodUsAt = (commit: string): Promise<string> => fleet.git("show", `${commit}:${overlayFile("prod-us")}`);

  before(async () => {
    seed = await demoSeed({ "fleet.yaml": fleetYaml });
    fleet = await startFleet({
      clusters: [...clusters],
      seed,
      webhookOnPush: true,
      // The hub pushes with isomorphic-git; the stories' own pushes are the git command line's.
      beforeReceive: async (_repo, userAgent) => {
        const hook = beforeHubPush;
        if (!hook || /^git\/\d/.test(userAgent)) return;
        beforeHubPush = undefined;
        await hook();
      },
    });
    await startDemoAgents(fleet, clusters);
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("8. two promotions into prod-us at once, through two hub replicas: one commits, the other sees its result", async () => {
    const replica = await fleet.startReplica();
    const head = await fleet.head();
    const answers = await Promise.all([promote(fleet.hubUrl), promote(replica.url)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409], JSON.stringify(answers));
    const refused = answers.find((a) => a.status === 409)?.body as { error: { message: string } };
    assert.match(refused.error.message, /prod-us already runs registry\.example\.com\/web:1\.5\.0/);
    const { promotion } = answers.find((a) => a.status === 201)?.body as { promotion: PromotionRecordView };
    const committed = await waitForPromotionState(fleet.api, promotion.id, ["committed", "rolling-out", "verified"]);
    assert.equal(committed.parent, head);
    assert.equal(await fleet.head(), committed.commit, "one commit");
    assert.equal((await fleet.git("rev-list", "--count", `${head}..${committed.commit ?? ""}`)).trim(), "1");
    assert.deepEqual((await promotionsOf(replica.api, { pipeline: "web" })).map((p) => p.id), [promotion.id], "one promotion, seen by both replicas");
    await waitForPromotionState(replica.api, promotion.id, ["verified"], 180_000);
  });

  test("9. a person's commit landing between the hub's fetch and its push is kept, and the promotion applied again on top", async () => {
    await stagingAt("1.7.0");
    const before = await prodUsAt(await fleet.head());
    let human = "";
    beforeHubPush = async () => {
      // Same file, other lines: three more replicas and a comment of one's own.
      human = await fleet.commit({ [overlayFile("prod-us")]: before.replace("count: 3", "count: 5").replace("# The web app", "# Five replicas for the sale. The web app") }, "prod-us: 5 replicas");
    };
    const answer = await promote(fleet.hubUrl);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    assert.ok(human, "the person's commit landed during the promotion");
    const { promotion } = answer.body as { promotion: PromotionRecordView };
    const committed = await waitForPromotionState(fleet.api, promotion.id, ["committed", "rolling-out", "verified"]);
    assert.equal(committed.parent, human, "the promotion is on top of the person's commit");
    const text = await prodUsAt(committed.commit ?? "");
    assert.equal(text, before.replace("count: 3", "count: 5").replace("# The web app", "# Five replicas for the sale. The web app").replace(/^(\s+newTag: ).*$/m, "$11.7.0"));
    assert.equal((await fleet.git("show", "--format=", "--name-only", committed.commit ?? "")).trim(), overlayFile("prod-us"));
    await waitForPromotionState(fleet.api, promotion.id, ["verified"], 180_000);
  });

  test("9. a person's commit changing the promoted value meanwhile makes the promotion refused with a clear message, nothing written", async () => {
    await stagingAt("1.8.0");
    const before = await prodUsAt(await fleet.head());
    const records = await promotionsOf(fleet.api, { pipeline: "web" });
    let human = "";
    beforeHubPush = async () => {
      human = await fleet.commit({ [overlayFile("prod-us")]: withTag(before, "1.7.5") }, "prod-us: hotfix 1.7.5");
    };
    const answer = await promote(fleet.hubUrl);
    assert.ok(human, "the person's commit landed during the promotion");
    assert.equal(answer.status, 409, JSON.stringify(answer.body));
    const message = (answer.body as { error: { message: string } }).error.message;
    assert.match(message, /1\.7\.5/, "says what it found");
    assert.match(message, /apps\/web\/prod-us\/kustomization\.yaml/, "says where");
    assert.equal(await fleet.head(), human, "nothing written over the person's commit");
    const after = await promotionsOf(fleet.api, { pipeline: "web" });
    assert.ok(after.filter((p) => !records.some((r) => r.id === p.id)).every((p) => p.state === "failed" && !p.commit), "a record of it, if any, says it failed and holds no commit");
  });
});
