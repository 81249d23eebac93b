import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { fakeEdits, fakeLock, fakePipeline, fakeRecords, fakeRepository, fakeStageStates, quietLogger, refusal } from "../test-support/promotion-fakes.js";
import type { PromotionRecord } from "./contracts.js";
import type { PromotionEvent } from "./record-writer.js";
import { createPromotionService } from "./service.js";

const clock = () => new Date("2026-05-01T12:00:00Z");

async function promoted() {
  const repository = fakeRepository({ staging: "1.4.2", "prod-us": "1.4.1", "prod-eu": "1.4.0" }, fakePipeline());
  const records = fakeRecords();
  const events: PromotionEvent[] = [];
  const service = createPromotionService({
    repository,
    stages: fakeStageStates(clock),
    records,
    lock: fakeLock(),
    edits: fakeEdits,
    logger: quietLogger,
    now: clock,
    onEvent: (e) => events.push(e),
  });
  const original = (await service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" })) as PromotionRecord;
  events.length = 0;
  return { repository, records, service, original, events };
}

void describe("rolling a promotion back", () => {
  void test("writes the reverse edits as a record of its own that points at the original", async () => {
    const { repository, records, service, original, events } = await promoted();
    repository.set("apps/web/prod-eu/tag", "1.3.0\n"); // an unrelated later commit does not block it
    const outcome = await service.rollback({ id: original.id, author: "bob" });
    assert.ok(!("dryRun" in outcome));
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.1\n");
    assert.equal(repository.read("apps/web/prod-eu/tag"), "1.3.0\n");
    assert.equal(outcome.kind, "rollback");
    assert.equal(outcome.rollbackOf, original.id);
    assert.equal(outcome.author, "bob");
    assert.equal(outcome.state, "rolling-out");
    assert.deepEqual(outcome.values.map((v) => v.value), ["registry.example.com/web:1.4.1"]);
    const edit = outcome.edits[0];
    assert.ok(edit?.kind === "value");
    assert.equal(edit.before, "1.4.2");
    assert.equal(edit.after, "1.4.1");
    const message = repository.commits.at(-1)?.message ?? "";
    assert.match(message, /^roll back web: prod-us \(web:1\.4\.1\)\n/);
    assert.match(message, new RegExp(`Gitfleet-Rollback-Of: ${original.id}\n`));
    assert.match(message, new RegExp(`Gitfleet-Promotion: ${outcome.id}\n`));
    const after = await records.get(original.id);
    assert.equal(after.state, "rolled-back");
    assert.equal(after.rolledBackBy, outcome.id);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.promotion.id}`),
      [`promotion-committed ${outcome.id}`, `promotion-rolled-back ${original.id}`],
    );
  });

  void test("a dry run shows the reverse and writes nothing", async () => {
    const { repository, records, service, original } = await promoted();
    const outcome = await service.rollback({ id: original.id, author: "bob", dryRun: true });
    assert.ok("dryRun" in outcome);
    assert.match(outcome.diff[0]?.diff ?? "", /-1\.4\.2\n\+1\.4\.1\n/);
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.2\n");
    assert.equal(records.all.size, 1);
  });

  void test("refuses an unknown id", async () => {
    const { service } = await promoted();
    const err = await refusal(service.rollback({ id: "p-000000000aaaaaaaaaa", author: "bob" }));
    assert.equal(err.code, "not-found");
  });

  void test("refuses a promotion already rolled back, and a rollback itself", async () => {
    const { service, original } = await promoted();
    const rollback = (await service.rollback({ id: original.id, author: "bob" })) as PromotionRecord;
    const again = await refusal(service.rollback({ id: original.id, author: "bob" }));
    assert.equal(again.code, "conflict");
    assert.equal(again.message, `promotion ${original.id} was already rolled back by ${rollback.id}`);
    const ofRollback = await refusal(service.rollback({ id: rollback.id, author: "bob" }));
    assert.equal(ofRollback.code, "conflict");
    assert.match(ofRollback.message, /is itself a rollback/);
  });

  void test("refuses when a person changed the promoted value later, naming it", async () => {
    const { repository, service, original, records } = await promoted();
    repository.set("apps/web/prod-us/tag", "1.6.0\n");
    const err = await refusal(service.rollback({ id: original.id, author: "bob" }));
    assert.equal(err.code, "conflict");
    assert.match(err.message, /a later commit changed what it promoted: apps\/web\/prod-us\/tag: images\[registry\.example\.com\/web\]\.newTag is "1\.6\.0", expected "1\.4\.2"/);
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.6.0\n");
    assert.equal((await records.get(original.id)).state, "rolling-out");
    assert.equal(records.all.size, 1);
  });

  void test("refuses a promotion that was never committed", async () => {
    const { service, records } = await promoted();
    const failed = { ...[...records.all.values()][0], id: "p-000000001bbbbbbbbbb", state: "failed", commit: undefined } as unknown as PromotionRecord;
    delete failed.commit;
    await records.create(failed);
    const err = await refusal(service.rollback({ id: failed.id, author: "bob" }));
    assert.equal(err.code, "conflict");
    assert.match(err.message, /was never committed/);
  });
});
