import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { afterFailure, isExpired, retryDelayMs } from "./retry.js";
import type { RetryPolicy } from "./sinks-config.js";

const policy: RetryPolicy = { maxAttempts: 5, maxAgeMs: 3_600_000, initialBackoffMs: 1_000, maxBackoffMs: 10_000 };
const noJitter = () => 0;

void describe("the retry policy", () => {
  void it("doubles the delay per attempt up to the cap", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 40].map((a) => retryDelayMs(a, policy, noJitter)), [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  void it("takes up to a fifth off at random, never more", () => {
    assert.equal(retryDelayMs(2, policy, () => 0.999_999), 1_600);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(3, policy);
      // A fifth off at most: rounding can land exactly on 4/5 of the delay.
      assert.ok(delay >= 3_200 && delay <= 4_000, `${delay}`);
    }
  });

  void it("gives up after the last attempt, or when the next would be past the max age", () => {
    const now = 10_000_000;
    assert.deepEqual(afterFailure({ attempt: 2, recordedAt: now, now, policy, random: noJitter }), { retry: true, delayMs: 2_000 });
    assert.deepEqual(afterFailure({ attempt: 5, recordedAt: now, now, policy }), { retry: false, reason: "5 attempts failed" });
    assert.equal(afterFailure({ attempt: 1, recordedAt: now - policy.maxAgeMs + 500, now, policy, random: noJitter }).retry, false);
    assert.equal(isExpired(now - policy.maxAgeMs - 1, now, policy), true);
    assert.equal(isExpired(now - policy.maxAgeMs, now, policy), false);
  });
});
