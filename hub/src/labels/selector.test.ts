import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HubError } from "../errors.js";
import { matchesSelector, parseSelector } from "./selector.js";

const matches = (selector: string, labels: Record<string, string>): boolean =>
  matchesSelector(parseSelector(selector), labels);

void describe("label selectors", () => {
  void it("parses every requirement kind of the Kubernetes syntax", () => {
    const { requirements } = parseSelector("a=b,c!=d,e in (x,y),!f,g, h==i ,j notin (k)");
    assert.deepEqual(requirements, [
      { key: "a", op: "equals", value: "b" },
      { key: "c", op: "not-equals", value: "d" },
      { key: "e", op: "in", values: ["x", "y"] },
      { key: "f", op: "not-exists" },
      { key: "g", op: "exists" },
      { key: "h", op: "equals", value: "i" },
      { key: "j", op: "not-in", values: ["k"] },
    ]);
  });

  void it("matches with kubectl's semantics", () => {
    const labels = { env: "prod", region: "eu", "gitfleet.dev/tier": "edge" };
    assert.equal(matches("", labels), true, "empty selector matches everything");
    assert.equal(matches("env=prod", labels), true);
    assert.equal(matches("env=staging", labels), false);
    assert.equal(matches("env!=staging", labels), true);
    assert.equal(matches("team!=a", labels), true, "!= matches a cluster without the label");
    assert.equal(matches("region in (eu, us)", labels), true);
    assert.equal(matches("region in (us)", labels), false);
    assert.equal(matches("team in (a)", labels), false, "in needs the label");
    assert.equal(matches("region notin (us)", labels), true);
    assert.equal(matches("team notin (a)", labels), true, "notin matches a cluster without the label");
    assert.equal(matches("gitfleet.dev/tier", labels), true);
    assert.equal(matches("!gitfleet.dev/tier", labels), false);
    assert.equal(matches("!team", labels), true);
    assert.equal(matches("env=prod,region=us", labels), false, "all requirements must hold");
  });

  void it("accepts an empty value", () => {
    assert.equal(matches("a=", { a: "" }), true);
    assert.equal(matches("a=", { a: "x" }), false);
  });

  void it("says where a selector is wrong", () => {
    const cases: Array<[string, RegExp]> = [
      ["a=b,", /expected a label key at position 5/],
      ["a b", /expected one of '=', '==', '!=', 'in', 'notin', ',' after a key at position 3/],
      ["a in x", /expected '\(' to open the set of values at position 6/],
      ["a in (x", /expected ',' or '\)' in the set of values at position 8/],
      ["a in ()", /the set of values must not be empty/],
      ["-a=b", /label key "-a" name must consist/],
      ["a=b c", /expected ',' between requirements at position 5/],
      [`a=${"x".repeat(64)}`, /must be at most 63 characters/],
    ];
    for (const [selector, message] of cases) {
      assert.throws(
        () => parseSelector(selector),
        (err: unknown) => err instanceof HubError && err.code === "invalid-argument" && message.test(err.message),
        `selector ${JSON.stringify(selector)} should fail with ${String(message)}`,
      );
    }
  });
});
