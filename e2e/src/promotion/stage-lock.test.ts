// The stage lock in JetStream KV, taken by two hub replicas (two connections) at once.
import { strict as assert } from "node:assert";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import type { KV } from "@nats-io/kv";
import { HubError, createStageLock, openLocksBucket, type StageLock } from "@gitfleet/hub";
import { skipWithoutNats, startNatsFixture, type NatsFixture } from "./nats-fixture.js";

void describe("stage lock across hub replicas", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let kvA: KV;
  let kvB: KV;

  before(async () => {
    nats = await startNatsFixture("gitfleet-locks-");
    kvA = await openLocksBucket(await nats.kvm(), 1);
    kvB = await openLocksBucket(await nats.kvm(), 1);
  });

  after(async () => {
    await nats?.stop();
  });

  test("two replicas contending for one stage run one at a time, and every run happens", async () => {
    const a = createStageLock({ kv: kvA, owner: "hub-a", pollMs: 10 });
    const b = createStageLock({ kv: kvB, owner: "hub-b", pollMs: 10 });
    let inside = 0;
    let most = 0;
    const order: string[] = [];
    const work = (lock: StageLock, name: string) =>
      lock.withLock("web.prod-us", async () => {
        inside++;
        most = Math.max(most, inside);
        order.push(name);
        // Hold it across a few event-loop turns and a NATS round trip, as a promotion would.
        await kvA.get("web.prod-us");
        await sleep(5);
        inside--;
        return name;
      });
    const runs = Array.from({ length: 8 }, (_, i) => work(i % 2 ? a : b, `${i % 2 ? "a" : "b"}${i}`));
    const results = await Promise.all(runs);
    assert.equal(most, 1, "never two holders at once");
    assert.equal(order.length, 8);
    assert.deepEqual(results.sort(), ["a1", "a3", "a5", "a7", "b0", "b2", "b4", "b6"]);
    assert.equal((await kvA.get("web.prod-us"))?.operation, "DEL", "the last holder released it");
    // Another stage is another key: not serialised with this one.
    assert.equal(await a.withLock("web.prod-eu", () => b.withLock("web.staging", () => Promise.resolve("both"))), "both");
  });

  test("a waiter gives up after waitMs with a message naming the holder; a failing holder releases", async () => {
    const a = createStageLock({ kv: kvA, owner: "hub-a", pollMs: 10 });
    const b = createStageLock({ kv: kvB, owner: "hub-b", pollMs: 10 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const holder = a.withLock("web.prod-eu", async () => {
      entered();
      await held;
    });
    await inside;
    await assert.rejects(b.withLock("web.prod-eu", () => Promise.resolve(), { waitMs: 150 }), (err: unknown) => {
      assert.ok(err instanceof HubError && err.code === "unavailable", String(err));
      assert.match(err.message, /^web\.prod-eu is locked by hub-a since .* \(until .*\); waited 150 ms, try again$/);
      return true;
    });
    release();
    await holder;
    await assert.rejects(a.withLock("web.prod-eu", () => Promise.reject(new Error("push refused"))), /push refused/);
    assert.equal(await b.withLock("web.prod-eu", () => Promise.resolve("free"), { waitMs: 0 }), "free", "released after a throw");
  });

  test("a holder renews its lock past the ttl while it works", async () => {
    const a = createStageLock({ kv: kvA, owner: "hub-a", ttlMs: 300, pollMs: 10 });
    const b = createStageLock({ kv: kvB, owner: "hub-b", ttlMs: 300, pollMs: 10 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const holder = a.withLock("web.renewed", async () => {
      entered();
      await held;
    });
    await inside;
    // Three ttls later the lock is still hub-a's: it was renewed, not left to expire.
    await assert.rejects(b.withLock("web.renewed", () => Promise.resolve(), { waitMs: 900 }), /locked by hub-a/);
    release();
    await holder;
  });

  test("a lock whose holder died is taken over once it expires, and only by one waiter", async () => {
    // A replica that took the lock and died: its value stays, with an expiry nobody renews.
    const expiresAt = new Date(Date.now() + 400).toISOString();
    await kvA.create("web.dead", JSON.stringify({ owner: "hub-dead", token: "0", acquiredAt: new Date().toISOString(), expiresAt }));
    const a = createStageLock({ kv: kvA, owner: "hub-a", pollMs: 10 });
    const b = createStageLock({ kv: kvB, owner: "hub-b", pollMs: 10 });
    await assert.rejects(a.withLock("web.dead", () => Promise.resolve(), { waitMs: 50 }), /locked by hub-dead/);
    let inside = 0;
    let most = 0;
    const work = () => {
      inside++;
      most = Math.max(most, inside);
      return sleep(20).then(() => {
        inside--;
        return Date.now();
      });
    };
    const started = Date.now();
    const [first, second] = await Promise.all([a.withLock("web.dead", work, { waitMs: 5000 }), b.withLock("web.dead", work, { waitMs: 5000 })]);
    assert.ok(Math.min(first, second) >= Date.parse(expiresAt), "nobody took it before it expired");
    assert.ok(Date.now() - started < 5000);
    assert.equal(most, 1, "the two waiters took it over one after the other");
  });

  test("a holder that lost its lock to a taker does not delete the taker's lock", async () => {
    let clock = Date.now();
    const slow = createStageLock({ kv: kvA, owner: "hub-slow", ttlMs: 60_000, now: () => new Date(clock) });
    const b = createStageLock({ kv: kvB, owner: "hub-b", pollMs: 10 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    // hub-slow's clock runs two minutes behind: its lock is already expired for everyone else.
    clock -= 120_000;
    const slowRun = slow.withLock("web.lost", async () => {
      entered();
      await held;
    });
    await inside;
    let takerInside!: () => void;
    const taken = new Promise<void>((resolve) => (takerInside = resolve));
    let finishTaker!: () => void;
    const takerHeld = new Promise<void>((resolve) => (finishTaker = resolve));
    const taker = b.withLock("web.lost", async () => {
      takerInside();
      await takerHeld;
    });
    await taken;
    release();
    await slowRun;
    const value = (await kvA.get("web.lost"))?.json<{ owner: string }>();
    assert.equal(value?.owner, "hub-b", "the old holder's release left the new holder's lock alone");
    finishTaker();
    await taker;
  });
});
