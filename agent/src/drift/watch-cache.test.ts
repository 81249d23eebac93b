import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { pino } from "pino";
import { refKey } from "../kube-objects.js";
import { createFakeKube, ref } from "../test-support/fake-kube.js";
import { createManualClock, until } from "../test-support/manual-clock.js";
import { createWatchCache } from "./watch-cache.js";

const configMap = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "web" }, data: { a: "1" } });

describe("watch cache", () => {
  it("lists again when objects are added to a running loop, so they are known without reading each one", async () => {
    const kube = createFakeKube();
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "web" } });
    await kube.apply(configMap("first"));
    await kube.apply(configMap("second"));
    const first = ref("v1", "ConfigMap", "web", "first");
    const second = ref("v1", "ConfigMap", "web", "second");
    const seen: string[] = [];
    const cache = createWatchCache({
      kube,
      clock: createManualClock(),
      logger: pino({ level: "silent" }),
      events: { onObject: (key) => seen.push(key), onSynced: () => {} },
    });
    try {
      cache.setTracked([first]);
      await until(() => cache.lookup(refKey(first)).synced, "the first list");
      assert.equal(kube.calls.filter((c) => c.verb === "list").length, 1);

      // A bundle gained an object that exists and does not change: no watch event will tell of it.
      cache.setTracked([first, second]);
      assert.equal(cache.lookup(refKey(second)).synced, false, "unknown until listed");
      await until(() => cache.lookup(refKey(second)).synced, "the new object known from a second list");
      assert.equal(cache.lookup(refKey(second)).live?.metadata.name, "second");
      assert.equal(cache.lookup(refKey(first)).synced, true);
      await until(() => kube.calls.filter((c) => c.verb === "watch").length === 2, "the watch resumed after the list");
      assert.equal(kube.calls.filter((c) => c.verb === "list").length, 2, "one list per addition");

      // The loop watches again: a change to the new object arrives as an event.
      await kube.apply({ ...configMap("second"), data: { a: "2" } });
      await until(() => cache.lookup(refKey(second)).live?.["data"] !== undefined && (cache.lookup(refKey(second)).live?.["data"] as { a: string }).a === "2", "the change seen");
    } finally {
      await cache.stop();
    }
  });
});
