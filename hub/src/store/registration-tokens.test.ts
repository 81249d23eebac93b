import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import { HubError } from "../errors.js";
import { createRegistrationTokenStore, type RegistrationToken } from "./registration-tokens.js";

/** A KV bucket in memory whose calls take a turn of the event loop, as NATS round trips do, and are counted. */
function memoryKv() {
  const entries = new Map<string, { value: string; revision: number }>();
  let revision = 0;
  const calls = { get: 0, update: 0, conflicts: 0 };
  const later = <T>(f: () => T): Promise<T> => new Promise<void>((resolve) => setImmediate(resolve)).then(f);
  const entry = (key: string, e: { value: string; revision: number }) =>
    ({ key, revision: e.revision, operation: "PUT", json: <T>() => JSON.parse(e.value) as T }) as unknown as KvEntry;
  const kv = {
    get: (key: string) => later(() => (calls.get++, entries.has(key) ? entry(key, entries.get(key) as { value: string; revision: number }) : null)),
    create: (key: string, value: string) => later(() => {
      entries.set(key, { value, revision: ++revision });
      return revision;
    }),
    update: (key: string, value: string, previous: number) => later(() => {
      calls.update++;
      if (entries.get(key)?.revision !== previous) {
        calls.conflicts++;
        throw new JetStreamApiError({ err_code: JetStreamApiCodes.StreamWrongLastSequence, code: 400, description: "wrong last sequence" });
      }
      entries.set(key, { value, revision: ++revision });
      return revision;
    }),
  };
  return {
    kv: kv as unknown as KV,
    calls,
    read: (key: string) => JSON.parse(entries.get(key)?.value ?? "null") as RegistrationToken & { clusterIds?: string[] },
    /** Stores `value` as is, as another version of the hub would have. */
    write: (key: string, value: unknown) => void entries.set(key, { value: JSON.stringify(value), revision: ++revision }),
    size: (key: string) => entries.get(key)?.value.length ?? 0,
  };
}

const newToken = { ttlMs: 3_600_000, labels: {}, description: "" };

void describe("registration token uses", () => {
  void it("of many consumers racing for a token with n uses, exactly n win, taken together in a few writes", async () => {
    const bucket = memoryKv();
    const store = createRegistrationTokenStore({ kv: bucket.kv });
    const { secret, token } = await store.create({ ...newToken, maxUses: 5 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.consume(secret, `c${i}`)));
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 5);
    for (const r of results) {
      if (r.status === "rejected") {
        assert.ok(r.reason instanceof HubError && r.reason.code === "unauthenticated");
        assert.equal(r.reason.message, `registration token ${token.id} has no uses left (5 of 5 used)`);
      }
    }
    const stored = bucket.read(token.id);
    assert.equal(stored.uses, 5);
    assert.deepEqual(stored.pendingClusterIds, ["c0", "c1", "c2", "c3", "c4"]);
    // One use per write would be 5 writes, and many lost races more.
    assert.ok(bucket.calls.update <= 2, `${bucket.calls.update} writes`);
    assert.equal(bucket.calls.conflicts, 0);
  });

  void it("keeps exactly n when two replicas take uses of the same token at once", async () => {
    const bucket = memoryKv();
    const a = createRegistrationTokenStore({ kv: bucket.kv });
    const b = createRegistrationTokenStore({ kv: bucket.kv });
    const { secret, token } = await a.create({ ...newToken, maxUses: 30 });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).consume(secret, `c${i}`)),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 30);
    const stored = bucket.read(token.id);
    assert.equal(stored.uses, 30);
    assert.equal(new Set(stored.pendingClusterIds).size, 30);
    const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [`c${i}`] : []));
    assert.deepEqual([...stored.pendingClusterIds].sort(), winners.sort());
  });

  void it("takes uses asked for while a group is being written in the next group", async () => {
    const bucket = memoryKv();
    const store = createRegistrationTokenStore({ kv: bucket.kv });
    const { secret, token } = await store.create({ ...newToken, maxUses: 100 });
    const first = store.consume(secret, "a");
    await new Promise((r) => setImmediate(r));
    const second = store.consume(secret, "b");
    const [x, y] = await Promise.all([first, second]);
    assert.equal(x.uses, 1);
    assert.equal(y.uses, 2);
    assert.deepEqual(bucket.read(token.id).pendingClusterIds, ["a", "b"]);
  });

  void it("keeps a use pending only until its cluster's record is stored, so the token's record does not grow with its fleet", async () => {
    const bucket = memoryKv();
    const registered = new Set<string>();
    const store = createRegistrationTokenStore({ kv: bucket.kv, isRegistered: (id) => registered.has(id) });
    const { secret, token } = await store.create({ ...newToken, maxUses: 10_000 });
    const sizes: number[] = [];
    for (let round = 0; round < 50; round++) {
      const ids = Array.from({ length: 40 }, (_, i) => `c${round}-${i}`);
      await Promise.all(ids.map((id) => store.consume(secret, id)));
      for (const id of ids) registered.add(id);
      sizes.push(bucket.size(token.id));
    }
    const stored = bucket.read(token.id);
    assert.equal(stored.uses, 2_000);
    // Only the last round's clusters are pending: the earlier ones were settled at the next group.
    assert.deepEqual(stored.pendingClusterIds, Array.from({ length: 40 }, (_, i) => `c49-${i}`));
    assert.ok(Math.max(...sizes) < 2 * (sizes[0] ?? 0), `record sizes ${sizes.join(",")}`);
  });

  void it("gives back a use only for a cluster that took one and is not registered, and only once", async () => {
    const bucket = memoryKv();
    const registered = new Set<string>();
    const store = createRegistrationTokenStore({ kv: bucket.kv, isRegistered: (id) => registered.has(id) });
    const { secret, token } = await store.create({ ...newToken, maxUses: 3 });
    await store.consume(secret, "failed");
    await store.consume(secret, "done");
    registered.add("done");
    await store.consume(secret, "third");
    assert.deepEqual(bucket.read(token.id).pendingClusterIds, ["failed", "third"]);

    await store.release(token.id, "failed");
    assert.equal(bucket.read(token.id).uses, 2);
    await store.release(token.id, "failed");
    assert.equal(bucket.read(token.id).uses, 2, "a use given back twice counts once");
    await store.release(token.id, "never-took-one");
    await store.release(token.id, "done");
    assert.equal(bucket.read(token.id).uses, 2, "only pending uses are given back");
    assert.deepEqual(bucket.read(token.id).pendingClusterIds, ["third"]);
    // The use given back can be taken again.
    await store.consume(secret, "fourth");
    await assert.rejects(store.consume(secret, "fifth"), /has no uses left \(3 of 3 used\)/);
  });

  void it("reads a record written by an earlier version (every cluster in clusterIds) and writes one such versions still read", async () => {
    const bucket = memoryKv();
    const registered = new Set(["old-1", "old-2"]);
    const store = createRegistrationTokenStore({ kv: bucket.kv, isRegistered: (id) => registered.has(id) });
    const { secret, token } = await store.create({ ...newToken, maxUses: 10 });
    const { pendingClusterIds: _, ...earlier } = bucket.read(token.id);
    bucket.write(token.id, { ...earlier, uses: 3, clusterIds: ["old-1", "old-2", "died-midway"] });

    await store.consume(secret, "new-1");
    const stored = bucket.read(token.id);
    assert.equal(stored.uses, 4);
    assert.deepEqual(stored.pendingClusterIds, ["died-midway", "new-1"]);
    assert.deepEqual(stored.clusterIds, [], "earlier versions find the list they expect, empty");
    await store.release(token.id, "died-midway");
    assert.equal(bucket.read(token.id).uses, 3);
  });

  void it("refuses a malformed or unknown secret without touching the token", async () => {
    const bucket = memoryKv();
    const store = createRegistrationTokenStore({ kv: bucket.kv });
    const notValid = (err: unknown) => err instanceof HubError && err.message === "registration token is not valid";
    await assert.rejects(store.consume("nope", "c1"), notValid);
    await assert.rejects(store.consume(`gf_reg_${"A".repeat(43)}`, "c1"), notValid);
    assert.equal(bucket.calls.update, 0);
  });
});
