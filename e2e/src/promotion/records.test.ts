// Promotion records in JetStream KV: two hub replicas (two connections) share them.
import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import {
  HubError,
  createPromotionStore,
  isPromotionId,
  openPromotionsBucket,
  type NewPromotionRecord,
  type PromotionStore,
} from "@gitfleet/hub";
import { skipWithoutNats, startNatsFixture, type NatsFixture } from "./nats-fixture.js";

function promotion(pipeline: string, over: Partial<NewPromotionRecord> = {}): NewPromotionRecord {
  return {
    kind: "promotion",
    pipeline,
    bundle: pipeline,
    from: { stage: "staging", commit: "4f0b60f0000000000000000000000000000000aa" },
    to: { stage: "prod-us" },
    author: "alice",
    automatic: false,
    state: "pending",
    values: [{ kind: "image", file: "apps/web/prod-us/kustomization.yaml", key: "registry.example.com/web", value: "registry.example.com/web:1.4.2" }],
    edits: [],
    diff: [],
    gates: { stage: "staging", commit: "4f0b60f", passed: true, gates: [], clusters: [], evaluatedAt: "2026-01-01T00:00:00.000Z" },
    ...over,
  };
}

const isCode = (code: string) => (err: unknown) => err instanceof HubError && err.code === code;

void describe("promotion records in JetStream", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let a: PromotionStore;
  let b: PromotionStore;

  before(async () => {
    nats = await startNatsFixture("gitfleet-promotions-");
    // Two replicas, each with its own connection to the same bucket.
    a = createPromotionStore({ kv: await openPromotionsBucket(await nats.kvm(), 1) });
    b = createPromotionStore({ kv: await openPromotionsBucket(await nats.kvm(), 1) });
  });

  after(async () => {
    await nats?.stop();
  });

  test("a created record gets an id, times and its first transition, and reads back on another replica", async () => {
    const created = await a.create(promotion("web"));
    assert.ok(isPromotionId(created.id), created.id);
    assert.equal(created.createdAt, created.updatedAt);
    assert.deepEqual(created.transitions, [{ state: "pending", at: created.createdAt }]);
    assert.deepEqual(await b.get(created.id), created);
    await assert.rejects(b.get("p-000000000deadbeef00"), isCode("not-found"));
    await assert.rejects(a.create({ ...promotion("web"), id: created.id }), isCode("already-exists"));
  });

  test("state changes are compare-and-set: concurrent updates from two replicas all land, in one history", async () => {
    const created = await a.create(promotion("cas"));
    await a.update(created.id, (r) => ({ ...r, state: "committed", commit: "c1", parent: "c0" }));
    const names = Array.from({ length: 12 }, (_, i) => `cluster-${i}`);
    await Promise.all(
      names.map((name, i) =>
        (i % 2 ? a : b).update(created.id, (r) => ({
          ...r,
          state: "rolling-out",
          verification: {
            deadline: "2026-01-01T00:10:00.000Z",
            clusters: [...(r.verification?.clusters ?? []), { name, state: "synced" }],
          },
        })),
      ),
    );
    const after = await b.get(created.id);
    assert.deepEqual(after.verification?.clusters?.map((c) => c.name).sort(), [...names].sort(), "no update was lost");
    assert.deepEqual(
      after.transitions.map((t) => t.state),
      ["pending", "committed", "rolling-out"],
      "each state change is recorded once, however many replicas raced",
    );
    const verified = await a.update(created.id, (r) => ({ ...r, state: "verified", message: "every cluster healthy at c1" }));
    assert.equal(verified.transitions.at(-1)?.message, "every cluster healthy at c1");
    await assert.rejects(b.update(created.id, (r) => ({ ...r, state: "failed" })), (err: unknown) => {
      assert.ok(isCode("conflict")(err));
      assert.match((err as Error).message, /is verified; it cannot become failed/);
      return true;
    });
    assert.equal((await a.update(created.id, () => undefined)).state, "verified", "undefined leaves the record as it is");
  });

  test("list filters by pipeline and state, newest first, up to the limit", async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await a.create(promotion(i % 2 ? "list-odd" : "list-even")));
    await b.update(made[4]!.id, (r) => ({ ...r, state: "failed", message: "push refused" }));
    const even = await b.list({ pipeline: "list-even" });
    assert.deepEqual(even.map((r) => r.id), [made[4]!.id, made[2]!.id, made[0]!.id]);
    assert.deepEqual((await b.list({ pipeline: "list-even", state: "pending" })).map((r) => r.id), [made[2]!.id, made[0]!.id]);
    assert.deepEqual((await b.list({ pipeline: "list-even", state: ["failed", "verified"] })).map((r) => r.id), [made[4]!.id]);
    assert.deepEqual((await a.list({ limit: 2 })).map((r) => r.id), [made[4]!.id, made[3]!.id]);
  });

  test("only the newest records are kept; one still pending is not deleted for it", async () => {
    const kv = await openPromotionsBucket(await nats.kvm(), 1);
    await kv.destroy();
    const store = createPromotionStore({ kv: await openPromotionsBucket(await nats.kvm(), 1), maxRecords: 3 });
    const stillPending = await store.create(promotion("bound"));
    const done = [];
    for (let i = 0; i < 5; i++) done.push(await store.create(promotion("bound", { state: "verified" })));
    const left = (await store.list({ limit: 100 })).map((r) => r.id);
    assert.deepEqual(left, [done[4]!.id, done[3]!.id, done[2]!.id]);
    assert.equal((await store.get(stillPending.id)).state, "pending");
    await assert.rejects(store.get(done[0]!.id), isCode("not-found"));
  });
});
