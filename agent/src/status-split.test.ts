import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { BundleStatusSchema, ResourceStatusSchema, StatusReportSchema, create, toBinary } from "@gitfleet/proto";
import type { StatusReport } from "@gitfleet/proto";
import { MAX_STATUS_MESSAGE_BYTES, splitStatus } from "./status-split.js";

const report = (bundles: Array<{ name: string; digest: string; resources?: number }>): StatusReport =>
  create(StatusReportSchema, {
    observedRevision: "c0ffee",
    bundles: bundles.map((b) =>
      create(BundleStatusSchema, {
        name: b.name,
        digest: b.digest,
        resources: Array.from({ length: b.resources ?? 1 }, (_, i) => create(ResourceStatusSchema, { kind: "ConfigMap", namespace: "web", name: `object-${i}-${"x".repeat(40)}` })),
      }),
    ),
  });

describe("status on the wire", () => {
  it("sends everything whole on a new stream, then only the bundles that changed or left", () => {
    const first = splitStatus(report([{ name: "a", digest: "1" }, { name: "b", digest: "1" }]), undefined);
    assert.equal(first.messages.length, 1);
    assert.equal(first.messages[0]?.partial, false);
    assert.deepEqual(first.messages[0]?.bundles.map((b) => b.name), ["a", "b"]);

    const same = splitStatus(report([{ name: "a", digest: "1" }, { name: "b", digest: "1" }]), first.sent);
    assert.equal(same.messages.length, 0, "nothing new, nothing sent");

    const next = splitStatus(report([{ name: "a", digest: "2" }]), first.sent);
    assert.equal(next.messages.length, 1);
    assert.equal(next.messages[0]?.partial, true);
    assert.deepEqual(next.messages[0]?.bundles.map((b) => b.name), ["a"]);
    assert.deepEqual(next.messages[0]?.removedBundles, ["b"]);
  });

  it("splits bundles over several messages, none above the bound, losing none", () => {
    const big = report(Array.from({ length: 12 }, (_, i) => ({ name: `b${i}`, digest: "1", resources: 1_000 })));
    const { messages } = splitStatus(big, undefined);
    assert.ok(messages.length > 1, `${messages.length} messages`);
    for (const m of messages) assert.ok(toBinary(StatusReportSchema, m).length <= MAX_STATUS_MESSAGE_BYTES);
    assert.equal(messages[0]?.partial, false);
    assert.ok(messages.slice(1).every((m) => m.partial));
    assert.deepEqual(messages.flatMap((m) => m.bundles.map((b) => b.name)), big.bundles.map((b) => b.name));
  });
});
