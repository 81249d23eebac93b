import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { correctionsInWindow, mayCorrect, newGuardState, recordCorrection } from "./loop-guard.js";

const limits = { maxCorrections: 3, windowMs: 60_000, backoffMs: 10_000, maxBackoffMs: 40_000 };

describe("loop guard", () => {
  it("allows corrections up to the limit within the window, then reports a conflict and backs off", () => {
    const state = newGuardState();
    assert.equal(recordCorrection(state, 0, limits), false);
    assert.equal(recordCorrection(state, 1_000, limits), false);
    assert.equal(recordCorrection(state, 2_000, limits), true, "the third correction in a minute makes a conflict");
    assert.equal(mayCorrect(state, 3_000, limits), false);
    assert.equal(mayCorrect(state, 12_000, limits), true, "after the first back-off");
    assert.equal(recordCorrection(state, 12_000, limits), true);
    assert.equal(mayCorrect(state, 12_000 + 19_999, limits), false, "the back-off doubles");
    assert.equal(mayCorrect(state, 12_000 + 20_000, limits), true);
  });

  it("forgets corrections that left the window", () => {
    const state = newGuardState();
    recordCorrection(state, 0, limits);
    recordCorrection(state, 1_000, limits);
    assert.equal(correctionsInWindow(state, 61_000, limits), 0);
    assert.equal(recordCorrection(state, 61_000, limits), false);
  });

  it("caps the back-off", () => {
    const state = newGuardState();
    for (let i = 0; i < 3; i++) recordCorrection(state, i, limits);
    let now = 3;
    for (let i = 0; i < 6; i++) {
      now = state.conflict?.retryAt ?? now;
      recordCorrection(state, now, limits);
    }
    assert.ok((state.conflict?.retryAt ?? 0) - now <= limits.maxBackoffMs);
  });
});
