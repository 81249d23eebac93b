import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { parseSinks, redactUrl, sinkDefaults } from "./sinks-config.js";

const secret = "s3cret-s3cret-s3cret";

void describe("notification sinks configuration", () => {
  void it("reads YAML with defaults", () => {
    const [webhook, slack] = parseSinks(
      [
        "sinks:",
        "  - name: ops",
        "    type: webhook",
        "    url: https://hooks.example.com/gitfleet?key=abc",
        `    secret: ${secret}`,
        "    types: [drift-detected, conflict]",
        "    maxAttempts: 3",
        "    maxAge: 1h",
        "    backoff: { initial: 200ms, max: 2s }",
        "  - name: chat",
        "    type: slack",
        "    url: https://hooks.slack.com/services/T0/B0/XYZ",
      ].join("\n"),
      "sinks.yaml",
    );
    assert.deepEqual(webhook, {
      name: "ops",
      type: "webhook",
      url: "https://hooks.example.com/gitfleet?key=abc",
      secret,
      types: ["drift-detected", "conflict"],
      maxAttempts: 3,
      maxAgeMs: 3_600_000,
      timeoutMs: sinkDefaults.timeoutMs,
      initialBackoffMs: 200,
      maxBackoffMs: 2_000,
    });
    assert.deepEqual(
      { types: slack?.types, maxAttempts: slack?.maxAttempts, backoff: [slack?.initialBackoffMs, slack?.maxBackoffMs], secret: slack?.secret },
      { types: [], maxAttempts: 10, backoff: [1_000, 300_000], secret: undefined },
    );
    assert.deepEqual(parseSinks("", "f"), []);
    assert.equal(parseSinks('{"sinks": []}', "f").length, 0, "JSON is YAML");
  });

  void it("says what is wrong, where, without echoing URLs or secrets", () => {
    const bad = (yaml: string, message: RegExp) =>
      assert.throws(() => parseSinks(yaml, "sinks.yaml"), (err: Error) => message.test(err.message) && !err.message.includes("hunter") && !err.message.includes("\n"));
    bad("sinks:\n  - name: Ops\n    type: slack\n    url: https://x/hunter", /^sinks\.yaml: sinks\[0\]\.name: "Ops" must consist/);
    bad("sinks:\n  - name: a\n    type: email\n    url: https://x/hunter", /sinks\[0\]\.type: must be webhook or slack/);
    bad("sinks:\n  - name: a\n    type: slack\n    url: ftp://x/hunter", /sinks\[0\]\.url: must be an http or https URL/);
    bad("sinks:\n  - name: a\n    type: webhook\n    url: https://x/y\n    secret: hunter2", /sinks\[0\]\.secret: a webhook needs a secret of at least 16 characters/);
    bad("sinks:\n  - name: a\n    type: slack\n    url: https://x/y\n    types: [drift]", /sinks\[0\]\.types: a list of event types \(drift-detected, /);
    bad("sinks:\n  - name: a\n    type: slack\n    url: https://x/y\n    maxAge: soon", /sinks\[0\]\.maxAge: "soon" is not a duration/);
    bad("sinks:\n  - name: a\n    type: slack\n    url: https://x/y\n    backoff: { initial: 1m, max: 1s }", /backoff\.max: must not be shorter/);
    bad("sinks:\n  - name: a\n    type: slack\n    url: https://x/y\n    retries: 3", /unknown setting retries/);
    bad("sinks:\n  - { name: a, type: slack, url: https://x/1 }\n  - { name: a, type: slack, url: https://x/2 }", /two sinks are named a/);
    bad("- name: a", /expected a map with one key, sinks/);
  });

  void it("shows a URL's scheme and host only", () => {
    assert.equal(redactUrl("https://hooks.slack.com/services/T0/B0/XYZ"), "https://hooks.slack.com/…");
    assert.equal(redactUrl("http://user:pass@127.0.0.1:8080/?token=x"), "http://127.0.0.1:8080/…");
    assert.equal(redactUrl("https://example.com"), "https://example.com");
  });
});
