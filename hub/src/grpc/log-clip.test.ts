import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { clip, maxLoggedReason } from "./log-clip.js";

void describe("clip", () => {
  void it("keeps short strings and cuts long ones, saying how much was cut", () => {
    assert.equal(clip("prod-eu", 64), "prod-eu");
    const long = clip("x".repeat(4 * 1024 * 1024), maxLoggedReason);
    assert.ok(long.length < maxLoggedReason + 40);
    assert.match(long, /\.\.\. \(4193792 more characters\)$/);
  });
});
