import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { canTransition, isFinalState, promotionStates } from "./record.js";
import { isPromotionId, newPromotionId } from "./records.js";

void describe("promotion records", () => {
  it("move forward only: pending → committed → rolling-out → verified | failed | rolled-back", () => {
    const allowed = promotionStates.flatMap((from) => promotionStates.filter((to) => to !== from && canTransition(from, to)).map((to) => `${from}→${to}`));
    assert.deepEqual(allowed, [
      "pending→committed",
      "pending→failed",
      "committed→rolling-out",
      "committed→verified",
      "committed→failed",
      "committed→rolled-back",
      "rolling-out→verified",
      "rolling-out→failed",
      "rolling-out→rolled-back",
      "verified→rolled-back",
      "failed→rolled-back",
    ]);
    assert.ok(promotionStates.every((s) => canTransition(s, s)));
    assert.deepEqual(promotionStates.filter(isFinalState), ["verified", "failed", "rolled-back"]);
  });

  it("have ids that sort by creation time, also within one millisecond", () => {
    const at = new Date("2026-03-01T12:00:00Z");
    const ids = Array.from({ length: 50 }, () => newPromotionId(at));
    assert.ok(ids.every(isPromotionId), ids[0]);
    assert.deepEqual([...ids].sort(), ids);
    assert.ok(newPromotionId(new Date("2026-03-01T12:00:01Z")) > ids.at(-1)!);
    assert.ok(!isPromotionId("p-../../x"));
  });
});
