import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { DurationError, formatDuration, parseDuration } from "./duration.js";

void describe("durations", () => {
  void it("reads seconds and Go-style units", () => {
    assert.equal(parseDuration(90, "ttl"), 90_000);
    assert.equal(parseDuration("3600", "ttl"), 3_600_000);
    assert.equal(parseDuration("1h", "ttl"), 3_600_000);
    assert.equal(parseDuration("30m", "ttl"), 1_800_000);
    assert.equal(parseDuration("1h30m", "ttl"), 5_400_000);
    assert.equal(parseDuration("45s", "ttl"), 45_000);
    assert.equal(parseDuration("500ms", "ttl"), 500);
    assert.equal(parseDuration("2d", "ttl"), 172_800_000);
    assert.equal(parseDuration(" 10m ", "ttl"), 600_000);
    assert.equal(parseDuration("45", "--reconcile-interval"), 45_000);
    assert.equal(parseDuration("2m", "--reconcile-interval"), 120_000);
  });

  void it("refuses what is not a positive duration, naming the field", () => {
    for (const bad of ["", "1x", "h", "-5", "1.5h", "0", "0s", "1 h"]) {
      assert.throws(
        () => parseDuration(bad, "body/ttl"),
        (err: unknown) => err instanceof DurationError && err.what === "body/ttl" && err.message.startsWith("body/ttl: "),
        `"${bad}" should be refused`,
      );
    }
    assert.throws(() => parseDuration(0, "ttl"), /positive number of seconds/);
    assert.throws(() => parseDuration(Number.NaN, "ttl"), /positive number of seconds/);
    assert.throws(() => parseDuration("soon", "--reconcile-interval"), /^DurationError: --reconcile-interval: "soon" is not a duration; use seconds/);
  });

  void it("formats durations for messages", () => {
    assert.equal(formatDuration(5_400_000), "1h30m");
    assert.equal(formatDuration(45_000), "45s");
    assert.equal(formatDuration(250), "250ms");
  });
});
