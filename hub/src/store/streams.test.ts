import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type { JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import { ensureStream } from "./streams.js";

// A stream manager that knows one stream and records the updates it is asked for.
function manager(current: Partial<StreamConfig>): { jsm: JetStreamManager; updates: Partial<StreamConfig>[] } {
  const updates: Partial<StreamConfig>[] = [];
  const jsm = {
    streams: {
      info: () => Promise.resolve({ config: current }),
      update: (_name: string, config: Partial<StreamConfig>) => {
        updates.push(config);
        return Promise.resolve({ config });
      },
      add: () => Promise.reject(new Error("the stream exists")),
    },
  } as unknown as JetStreamManager;
  return { jsm, updates };
}

void describe("opening a stream", () => {
  void test("leaves an existing stream alone when its limits are the wanted ones", async () => {
    const { jsm, updates } = manager({ name: "s", max_msgs: 10, description: "old" });
    const outcome = await ensureStream(jsm, { config: { name: "s", max_msgs: 10, description: "new" }, limits: ["max_msgs"] });
    assert.equal(outcome, "unchanged");
    assert.deepEqual(updates, []);
  });

  void test("updates only the limits of an existing stream, keeping the rest of its configuration", async () => {
    const { jsm, updates } = manager({ name: "s", max_msgs: 10, max_age: 5, description: "old" });
    const outcome = await ensureStream(jsm, { config: { name: "s", max_msgs: 20, max_age: 5, description: "new" }, limits: ["max_msgs", "max_age"] });
    assert.equal(outcome, "updated");
    assert.deepEqual(updates, [{ name: "s", max_msgs: 20, max_age: 5, description: "old" }]);
  });

  void test("names the stream when it cannot be opened", async () => {
    const jsm = { streams: { info: () => Promise.reject(new Error("connection closed")) } } as unknown as JetStreamManager;
    await assert.rejects(ensureStream(jsm, { config: { name: "gitfleet_events" }, limits: [] }), /cannot open the JetStream stream gitfleet_events/);
  });
});
