import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { HubError } from "../errors.js";
import { fakeEdits, fakeLock, fakePipeline, fakeRecords, fakeRepository, fakeStageStates, quietLogger, refusal } from "../test-support/promotion-fakes.js";
import type { PromotionRecord } from "./contracts.js";
import type { PromotionEvent } from "./record-writer.js";
import { createPromotionService } from "./service.js";

const clock = () => new Date("2026-05-01T12:00:00Z");

function setup(tags: Record<string, string> = { staging: "1.4.2", "prod-us": "1.4.1", "prod-eu": "1.4.0" }) {
  const repository = fakeRepository(tags, fakePipeline({ "prod-us": { verifyTimeoutMs: 120_000 } }));
  const stages = fakeStageStates(clock);
  const records = fakeRecords();
  const lock = fakeLock();
  const events: PromotionEvent[] = [];
  const committed: string[] = [];
  const service = createPromotionService({
    repository,
    stages,
    records,
    lock,
    edits: fakeEdits,
    logger: quietLogger,
    now: clock,
    onEvent: (e) => events.push(e),
    onCommitted: (c) => committed.push(c),
  });
  return { repository, stages, records, lock, service, events, committed };
}

const promotion = (outcome: unknown): PromotionRecord => {
  assert.ok(outcome && typeof outcome === "object" && !("dryRun" in outcome), "expected a record");
  return outcome as PromotionRecord;
};

void describe("promoting", () => {
  void test("a dry run answers gates, values, edits and diff, and writes nothing", async () => {
    const { service, repository, records, lock } = setup();
    const outcome = await service.promote({ pipeline: "web", from: "staging", to: "prod-us", dryRun: true, author: "alice" });
    assert.ok("dryRun" in outcome);
    assert.equal(outcome.gates.passed, true);
    assert.equal(outcome.gates.stage, "staging");
    assert.deepEqual(outcome.values, [{ kind: "image", file: "apps/web/prod-us/tag", key: "registry.example.com/web", value: "registry.example.com/web:1.4.2" }]);
    assert.equal(outcome.edits.length, 1);
    assert.deepEqual(outcome.diff, [{ file: "apps/web/prod-us/tag", diff: "--- a/apps/web/prod-us/tag\n+++ b/apps/web/prod-us/tag\n@@ -1 +1 @@\n-1.4.1\n+1.4.2\n" }]);
    assert.equal(repository.commits.length, 1);
    assert.equal(records.all.size, 0);
    assert.deepEqual(lock.taken, []);
  });

  void test("a dry run shows gates that do not pass instead of refusing", async () => {
    const { service, stages } = setup();
    stages.failing.set("staging", "staging-1: Deployment web/web 1 of 3 available");
    const outcome = await service.promote({ pipeline: "web", from: "staging", to: "prod-us", dryRun: true, author: "alice" });
    assert.ok("dryRun" in outcome);
    assert.equal(outcome.gates.passed, false);
  });

  void test("writes one commit with the values, trailers and the caller as author, and records it rolling out", async () => {
    const { service, repository, records, lock, events, committed } = setup();
    const record = promotion(await service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" }));
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.2\n");
    assert.equal(repository.read("apps/web/prod-eu/tag"), "1.4.0\n");
    const last = repository.commits.at(-1);
    assert.ok(last);
    assert.equal(last.author, "alice <alice@gitfleet.invalid>");
    const [subject, , ...rest] = last.message.split("\n");
    assert.equal(subject, "promote web: staging → prod-us (web:1.4.2)");
    const from = repository.commits[0]?.commit ?? "";
    assert.ok(rest.includes(`Gitfleet-Promotion: ${record.id}`));
    assert.ok(rest.includes("Gitfleet-Pipeline: web"));
    assert.ok(rest.includes(`Gitfleet-From: staging@${from}`));
    assert.ok(rest.includes("- registry.example.com/web:1.4.2 (apps/web/prod-us/tag)"));

    assert.equal(record.state, "rolling-out");
    assert.equal(record.kind, "promotion");
    assert.equal(record.author, "alice");
    assert.equal(record.automatic, false);
    assert.equal(record.commit, last.commit);
    assert.equal(record.parent, from);
    assert.deepEqual(record.from, { stage: "staging", commit: from });
    assert.deepEqual(
      record.transitions.map((t) => t.state),
      ["pending", "committed", "rolling-out"],
    );
    assert.equal(record.verification?.deadline, new Date(clock().getTime() + 120_000).toISOString());
    assert.equal(record.gates.passed, true);
    assert.deepEqual(await records.get(record.id), record);
    assert.deepEqual(lock.taken, ["web.prod-us"]);
    assert.deepEqual(committed, [last.commit]);
    assert.deepEqual(
      events.map((e) => e.type),
      ["promotion-committed"],
    );
  });

  void test("an automatic promotion is authored by gitfleet", async () => {
    const { service, repository } = setup();
    const record = promotion(await service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "ignored", automatic: true }));
    assert.equal(record.author, "gitfleet");
    assert.equal(record.automatic, true);
    assert.equal(repository.commits.at(-1)?.author, "gitfleet <gitfleet@gitfleet.invalid>");
  });
});

void describe("refusing a promotion", () => {
  const cases: Array<{ name: string; request: { pipeline: string; from: string; to: string }; code: string; message: RegExp }> = [
    { name: "an unknown pipeline", request: { pipeline: "api", from: "staging", to: "prod-us" }, code: "not-found", message: /no pipeline api in fleet\.yaml at [0-9a-f]{7}; it has web/ },
    { name: "an unknown stage", request: { pipeline: "web", from: "qa", to: "prod-us" }, code: "not-found", message: /pipeline web has no stage qa; its stages are staging → prod-us → prod-eu/ },
    { name: "a stage that is not the next", request: { pipeline: "web", from: "staging", to: "prod-eu" }, code: "invalid-argument", message: /prod-eu is not the stage after staging .*promote staging to prod-us/ },
    { name: "a backwards promotion", request: { pipeline: "web", from: "prod-us", to: "staging" }, code: "invalid-argument", message: /staging is not the stage after prod-us/ },
    { name: "a name that is no DNS label", request: { pipeline: "web", from: "Staging", to: "prod-us" }, code: "invalid-argument", message: /"Staging" is not a pipeline or stage name/ },
  ];
  for (const c of cases) {
    void test(`${c.name}, writing nothing`, async () => {
      const { service, repository, records } = setup();
      const err = await refusal(service.promote({ ...c.request, author: "alice" }));
      assert.equal(err.code, c.code);
      assert.match(err.message, c.message);
      assert.equal(repository.commits.length, 1);
      assert.equal(records.all.size, 0);
    });
  }

  void test("nothing to promote, naming what the stage runs", async () => {
    const { service, records } = setup({ staging: "1.4.2", "prod-us": "1.4.2", "prod-eu": "1.4.0" });
    for (const dryRun of [true, false]) {
      const err = await refusal(service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice", dryRun }));
      assert.equal(err.code, "conflict");
      assert.equal(err.message, "nothing to promote: prod-us already runs registry.example.com/web:1.4.2");
    }
    assert.equal(records.all.size, 0);
  });

  void test("gates that do not pass, with the evidence in the error", async () => {
    const { service, stages, repository, records } = setup();
    stages.failing.set("staging", "staging-1: Deployment web/web 1 of 3 available");
    const err = await refusal(service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" }));
    assert.equal(err.code, "failed-precondition");
    assert.equal(err.message, "cannot promote web from staging to prod-us: the gates of staging do not pass: staging-1: Deployment web/web 1 of 3 available");
    const gates = err.details?.["gates"] as { passed: boolean; stage: string };
    assert.equal(gates.passed, false);
    assert.equal(gates.stage, "staging");
    assert.equal(repository.commits.length, 1);
    assert.equal(records.all.size, 0);
  });

  void test("an unreachable repository, as unavailable", async () => {
    const { service, repository, records } = setup();
    repository.unreachable = true;
    const err = await refusal(service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" }));
    assert.equal(err.code, "unavailable");
    assert.equal(records.all.size, 0);
  });

  void test("a missing source value, naming file and field", async () => {
    const { service, repository } = setup();
    repository.files.delete("apps/web/staging/tag");
    const err = await refusal(service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice", dryRun: true }));
    assert.equal(err.code, "failed-precondition");
    assert.match(err.message, /apps\/web\/staging\/tag: the image registry.example.com\/web has no tag/);
  });
});

void describe("a human commit between the fetch and the push", () => {
  void test("to another file: the edit is applied again on the new head", async () => {
    const { service, repository } = setup();
    repository.beforePush = (attempt) => {
      if (attempt === 1) repository.set("apps/web/prod-eu/tag", "1.3.9\n");
    };
    const record = promotion(await service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" }));
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.4.2\n");
    assert.equal(repository.read("apps/web/prod-eu/tag"), "1.3.9\n");
    assert.equal(record.parent, repository.commits.at(-2)?.commit);
  });

  void test("to the same value: refused, naming file, field and value found, and the record failed", async () => {
    const { service, repository, records, events } = setup();
    repository.beforePush = (attempt) => {
      if (attempt === 1) repository.set("apps/web/prod-us/tag", "1.5.0\n");
    };
    const err = await refusal(service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" }));
    assert.equal(err.code, "conflict");
    assert.match(err.message, /cannot promote web into prod-us: another commit changed the same value: apps\/web\/prod-us\/tag: images\[registry.example.com\/web\].newTag is "1.5.0", expected "1.4.1"/);
    assert.equal(repository.read("apps/web/prod-us/tag"), "1.5.0\n");
    const [record] = [...records.all.values()];
    assert.equal(record?.state, "failed");
    assert.equal(record?.message, err.message);
    assert.deepEqual(
      record?.transitions.map((t) => t.state),
      ["pending", "failed"],
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ["promotion-failed"],
    );
  });
});

void describe("two promotions into one stage at the same moment", () => {
  void test("are serialised: the second sees the first's commit and has nothing to promote", async () => {
    const { service, repository, records } = setup();
    const outcomes = await Promise.allSettled([
      service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" }),
      service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "bob" }),
    ]);
    assert.equal(outcomes[0].status, "fulfilled");
    assert.equal(outcomes[1].status, "rejected");
    const reason: unknown = outcomes[1].status === "rejected" ? outcomes[1].reason : undefined;
    assert.ok(reason instanceof HubError);
    assert.equal(reason.code, "conflict");
    assert.equal(reason.message, "nothing to promote: prod-us already runs registry.example.com/web:1.4.2");
    assert.equal(repository.commits.length, 2);
    assert.equal(records.all.size, 1);
  });
});
