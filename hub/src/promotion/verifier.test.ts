import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { fakeEdits, fakeHoldsKv, fakeLock, fakePipeline, fakeRecords, fakeRepository, fakeStageStates, quietLogger } from "../test-support/promotion-fakes.js";
import type { PipelineStageSpec, PromotionRecord } from "./contracts.js";
import { createHeadCache } from "./head-cache.js";
import { createPipelineHolds } from "./holds.js";
import type { PromotionEvent } from "./record-writer.js";
import { createPromotionService } from "./service.js";
import { createVerifierPass } from "./verifier.js";

function setup(prodUs: Partial<PipelineStageSpec> = {}) {
  let time = new Date("2026-05-01T12:00:00Z").getTime();
  const now = () => new Date(time);
  const repository = fakeRepository({ staging: "1.4.2", "prod-us": "1.4.1", "prod-eu": "1.4.0" }, fakePipeline({ "prod-us": { verifyTimeoutMs: 60_000, ...prodUs } }));
  const stages = fakeStageStates(now);
  const records = fakeRecords();
  const events: PromotionEvent[] = [];
  const service = createPromotionService({ repository, stages, records, lock: fakeLock(), edits: fakeEdits, logger: quietLogger, now, onEvent: (e) => events.push(e) });
  const holds = createPipelineHolds({ kv: fakeHoldsKv() });
  const pass = createVerifierPass({
    records,
    stages,
    heads: createHeadCache({ repository, maxAgeMs: 0, now }),
    holds,
    service,
    logger: quietLogger,
    now,
    onEvent: (e) => events.push(e),
  });
  const promote = async () => (await service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" })) as PromotionRecord;
  return { repository, stages, records, holds, service, pass, promote, events, advance: (ms: number) => (time += ms) };
}

void describe("verifying a promotion", () => {
  void test("becomes verified once the stage is synced and healthy at its commit", async () => {
    const { stages, records, pass, promote, events, advance } = setup();
    const promotion = await promote();
    await pass();
    let record = await records.get(promotion.id);
    assert.equal(record.state, "rolling-out");
    assert.match(record.verification?.message ?? "", /prod-us-1 not synced at/);
    stages.verified.add(promotion.commit ?? "");
    advance(5_000);
    await pass();
    record = await records.get(promotion.id);
    assert.equal(record.state, "verified");
    assert.equal(record.verification?.verifiedAt, "2026-05-01T12:00:05.000Z");
    assert.deepEqual(record.verification?.clusters, [{ name: "prod-us-1", state: "healthy" }]);
    assert.deepEqual(
      record.transitions.map((t) => t.state),
      ["pending", "committed", "rolling-out", "verified"],
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ["promotion-committed", "promotion-verified"],
    );
  });

  void test("fails at the stage's deadline, saying why, and holds nothing with rollback: manual", async () => {
    const { repository, records, holds, pass, promote, advance } = setup();
    const promotion = await promote();
    advance(59_999);
    await pass();
    assert.equal((await records.get(promotion.id)).state, "rolling-out");
    advance(1);
    await pass();
    const record = await records.get(promotion.id);
    assert.equal(record.state, "failed");
    assert.match(record.message ?? "", /^not synced and healthy at [0-9a-f]{7} by the deadline 2026-05-01T12:01:00.000Z: prod-us-1 not synced at/);
    assert.equal(await holds.get("web"), undefined);
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.2\n");
  });

  void test("with rollback: auto, a failure is rolled back by gitfleet and the pipeline held", async () => {
    const { repository, records, holds, pass, promote, advance, events } = setup({ rollback: "auto" });
    const promotion = await promote();
    advance(60_000);
    await pass();
    const failed = await records.get(promotion.id);
    assert.equal(failed.state, "rolled-back");
    assert.deepEqual(
      failed.transitions.map((t) => t.state),
      ["pending", "committed", "rolling-out", "failed", "rolled-back"],
    );
    const rollback = await records.get(failed.rolledBackBy ?? "");
    assert.equal(rollback.kind, "rollback");
    assert.equal(rollback.author, "gitfleet");
    assert.equal(rollback.automatic, true);
    assert.equal(rollback.rollbackOf, promotion.id);
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.1\n");
    assert.equal(repository.commits.at(-1)?.author, "gitfleet <gitfleet@gitfleet.invalid>");
    const hold = await holds.get("web");
    assert.equal(hold?.promotion, promotion.id);
    assert.equal(hold?.rollback, rollback.id);
    assert.match(hold?.reason ?? "", new RegExp(`promotion ${promotion.id} into prod-us failed verification: .*; rolled back by ${rollback.id}`));
    assert.deepEqual(
      events.map((e) => e.type),
      ["promotion-committed", "promotion-failed", "promotion-committed", "promotion-rolled-back"],
    );
  });

  void test("a failed rollback is not rolled back again", async () => {
    const { records, pass, promote, advance, service } = setup({ rollback: "auto" });
    const promotion = await promote();
    const rollback = (await service.rollback({ id: promotion.id, author: "bob" })) as PromotionRecord;
    advance(60_000);
    await pass();
    assert.equal((await records.get(rollback.id)).state, "failed");
    assert.equal(records.all.size, 2);
  });

  void test("a promotion rolled back by hand while rolling out is left alone", async () => {
    const { records, pass, promote, service, stages } = setup();
    const promotion = await promote();
    await service.rollback({ id: promotion.id, author: "bob" });
    stages.verified.add(promotion.commit ?? "");
    await pass();
    assert.equal((await records.get(promotion.id)).state, "rolled-back");
  });
});
