import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { KV, KvEntry, KvWatchOptions } from "@nats-io/kv";
import { pino } from "pino";
import { createWatchedIndex } from "./watched-index.js";

interface FakeEntry {
  key: string;
  revision: number;
  operation: "PUT";
  delta: number;
  bucket: string;
  v: string;
}

/**
 * A bucket whose first watch delivers what is there and then goes silent for good (as a watch
 * whose NATS server died), while later watches deliver from where they are asked to resume.
 */
function stallingBucket(stallFirst = true) {
  const entries: FakeEntry[] = [];
  const watches: Array<{ from: number }> = [];
  let push: ((e: FakeEntry) => void) | undefined;
  const put = (key: string, v: string): void => {
    const e: FakeEntry = { key, v, revision: entries.length + 1, operation: "PUT", delta: 0, bucket: "test" };
    entries.push(e);
    push?.(e);
  };
  const kv = {
    status: () => Promise.resolve({ values: entries.length, streamInfo: { state: { last_seq: entries.length } } }),
    watch(opts: KvWatchOptions = {}) {
      const from = opts.resumeFromRevision ?? 1;
      const first = watches.length === 0;
      watches.push({ from });
      const queue = entries.filter((e) => e.revision >= from);
      let wakeUp: (() => void) | undefined;
      let stopped = false;
      // Only later watches hear of new entries; the first one stalls after its backlog.
      if (!first || !stallFirst) {
        push = (e) => {
          queue.push(e);
          wakeUp?.();
        };
      }
      const iterator = {
        stop() {
          stopped = true;
          wakeUp?.();
        },
        async *[Symbol.asyncIterator]() {
          for (;;) {
            const next = queue.shift();
            if (next) {
              // delta: how many more the watch has to deliver, as NATS says.
              yield { ...next, delta: queue.length };
              continue;
            }
            if (stopped) return;
            await new Promise<void>((resolve) => (wakeUp = resolve));
          }
        },
      };
      return Promise.resolve(iterator);
    },
  };
  return { kv: kv as unknown as KV, put, watches };
}

describe("a watched index", () => {
  it("opens its watch again from where it was when the watch stalls behind the bucket", async () => {
    const bucket = stallingBucket();
    bucket.put("a", "1");
    bucket.put("b", "1");
    const index = createWatchedIndex<string>({
      kv: bucket.kv,
      decode: (e: KvEntry) => (e as unknown as FakeEntry).v,
      logger: pino({ level: "silent" }),
      retryDelayMs: 10,
      stallCheckMs: 20,
    });
    try {
      await index.ready();
      assert.equal(index.get("b"), "1");
      // Written by another replica while this watch is silent.
      bucket.put("c", "2");
      const started = Date.now();
      while (index.get("c") === undefined && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 10));
      assert.equal(index.get("c"), "2", "the index caught up");
      assert.deepEqual(
        bucket.watches.map((w) => w.from),
        [1, 3],
        "watched again from the revision after the last one seen",
      );
      // With the new watch moving, no more reopening.
      bucket.put("d", "3");
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(index.get("d"), "3");
      assert.equal(bucket.watches.length, 2);
    } finally {
      await index.stop();
    }
  });

  it("does not decode its own writes again when the watch brings them back", async () => {
    const bucket = stallingBucket(false);
    bucket.put("a", "1");
    const decoded: string[] = [];
    const changes: string[] = [];
    const index = createWatchedIndex<string>({
      kv: bucket.kv,
      decode: (e: KvEntry) => {
        const entry = e as unknown as FakeEntry;
        decoded.push(`${entry.key}@${entry.revision}`);
        return entry.v;
      },
      logger: pino({ level: "silent" }),
      onChange: ({ key, current }) => changes.push(`${key}=${current ?? "-"}`),
    });
    try {
      await index.ready();
      // A local write: stored (revision 2), applied at once, then echoed by the watch.
      bucket.put("b", "mine");
      index.applyPut("b", 2, "mine");
      // Another replica's write after it is decoded as usual.
      bucket.put("c", "theirs");
      const started = Date.now();
      while (index.get("c") === undefined && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(decoded, ["a@1", "c@3"]);
      assert.deepEqual(changes, ["a=1", "b=mine", "c=theirs"]);
    } finally {
      await index.stop();
    }
  });
});
