import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createBackoff } from "./backoff.js";

describe("backoff", () => {
  it("grows exponentially within jitter bounds and caps at the maximum", () => {
    for (const r of [0, 0.5, 0.999]) {
      const backoff = createBackoff({ minMs: 500, maxMs: 30_000, random: () => r });
      const delays = Array.from({ length: 12 }, () => backoff.next());
      delays.forEach((delay, n) => {
        const ceiling = Math.min(30_000, 500 * 2 ** n);
        assert.ok(delay >= Math.max(500, ceiling / 2), `attempt ${n}: ${delay} >= ${ceiling / 2}`);
        assert.ok(delay <= ceiling, `attempt ${n}: ${delay} <= ${ceiling}`);
      });
      assert.ok(delays.at(-1)! >= 15_000 && delays.at(-1)! <= 30_000);
    }
  });

  it("spreads delays: two agents with different luck wait differently", () => {
    const low = createBackoff({ random: () => 0 });
    const high = createBackoff({ random: () => 0.99 });
    for (let i = 0; i < 4; i++) {
      low.next();
      high.next();
    }
    assert.notEqual(low.next(), high.next());
  });

  it("starts over after reset", () => {
    const backoff = createBackoff({ minMs: 100, maxMs: 1_000, random: () => 1 });
    backoff.next();
    backoff.next();
    backoff.next();
    assert.equal(backoff.attempts, 3);
    backoff.reset();
    assert.equal(backoff.next(), 100);
  });

  it("never exceeds the cap even after many failures", () => {
    const backoff = createBackoff({ minMs: 500, maxMs: 30_000, random: () => 1 });
    for (let i = 0; i < 200; i++) assert.ok(backoff.next() <= 30_000);
  });

  it("refuses nonsensical bounds", () => {
    assert.throws(() => createBackoff({ minMs: 0 }), RangeError);
    assert.throws(() => createBackoff({ minMs: 10, maxMs: 5 }), RangeError);
  });
});
