import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { fakeEdits, fakeHoldsKv, fakeLock, fakePipeline, fakeRecords, fakeRepository, fakeStageStates, quietLogger } from "../test-support/promotion-fakes.js";
import { createAutoPromotionPass } from "./auto-promoter.js";
import { createHeadCache } from "./head-cache.js";
import { createPipelineHolds } from "./holds.js";
import { createPromotionService } from "./service.js";

function setup() {
  const now = () => new Date("2026-05-01T12:00:00Z");
  const repository = fakeRepository({ staging: "1.4.2", "prod-us": "1.4.1", "prod-eu": "1.4.0" }, fakePipeline({ staging: { auto: true } }));
  const stages = fakeStageStates(now);
  const records = fakeRecords();
  const service = createPromotionService({ repository, stages, records, lock: fakeLock(), edits: fakeEdits, logger: quietLogger, now });
  const holds = createPipelineHolds({ kv: fakeHoldsKv() });
  const heads = createHeadCache({ repository, maxAgeMs: 0, now });
  const pass = createAutoPromotionPass({ service, records, stages, heads, holds, edits: fakeEdits, logger: quietLogger, now });
  return { repository, stages, records, service, holds, pass };
}

void describe("auto-promotion", () => {
  void test("promotes an auto stage whose gates pass to the next stage, as gitfleet, and only that stage", async () => {
    const { repository, records, pass } = setup();
    await pass();
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.2\n");
    assert.equal(repository.read("apps/web/prod-eu/tag"), "1.4.0\n");
    const [record] = [...records.all.values()];
    assert.equal(record?.author, "gitfleet");
    assert.equal(record?.automatic, true);
    assert.equal(record?.from.stage, "staging");
    await pass();
    assert.equal(records.all.size, 1);
  });

  void test("waits for the gates", async () => {
    const { repository, stages, records, pass } = setup();
    stages.failing.set("staging", "staging-1: Deployment web/web 0 of 1 available");
    await pass();
    assert.equal(records.all.size, 0);
    stages.failing.delete("staging");
    await pass();
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.2\n");
  });

  void test("does nothing while the pipeline is held, and resumes when it is lifted", async () => {
    const { records, holds, pass } = setup();
    await holds.hold({ pipeline: "web", since: "2026-05-01T11:00:00Z", reason: "test" });
    await pass();
    await pass();
    assert.equal(records.all.size, 0);
    await holds.resume("web");
    await pass();
    assert.equal(records.all.size, 1);
  });

  void test("never promotes the same values twice: after a rollback it leaves them to a person", async () => {
    const { repository, records, service, pass } = setup();
    await pass();
    const [first] = [...records.all.values()];
    await service.rollback({ id: first?.id ?? "", author: "bob" });
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.1\n");
    for (let i = 0; i < 3; i++) await pass();
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.1\n");
    assert.equal(records.all.size, 2);
    // New values in staging are promoted again.
    repository.set("apps/web/staging/tag", "1.4.3\n");
    await pass();
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.3\n");
  });

  void test("asks the service once per decision, not on every pass", async () => {
    const { service, records, stages, holds, repository } = setup();
    let calls = 0;
    const counting = { promote: (r: Parameters<typeof service.promote>[0]) => (calls++, service.promote(r)) };
    const now = () => new Date("2026-05-01T12:00:00Z");
    const pass = createAutoPromotionPass({ service: counting, records, stages, heads: createHeadCache({ repository, maxAgeMs: 0, now }), holds, edits: fakeEdits, logger: quietLogger, now });
    stages.failing.set("prod-us", "not auto anyway");
    await pass();
    assert.equal(calls, 1);
    for (let i = 0; i < 5; i++) await pass();
    assert.equal(calls, 1);
  });
});
