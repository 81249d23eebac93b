import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { describeSelector, matchAll, matchesClusterSelector, type ClusterSelector, type SelectorExpression } from "./selector.js";

const prodEu = { env: "prod", region: "eu", tier: "gold" };
const stagingUs = { env: "staging", region: "us" };
const bare = {};

function expr(key: string, operator: SelectorExpression["operator"], values: string[] = []): ClusterSelector {
  return { matchLabels: {}, matchExpressions: [{ key, operator, values }] };
}

void describe("cluster selector", () => {
  void test("an empty selector matches every cluster, also one without labels", () => {
    for (const labels of [prodEu, stagingUs, bare]) assert.equal(matchesClusterSelector(matchAll, labels), true);
  });

  void test("matchLabels needs every label with the same value", () => {
    const selector = { matchLabels: { env: "prod", region: "eu" }, matchExpressions: [] };
    assert.equal(matchesClusterSelector(selector, prodEu), true);
    assert.equal(matchesClusterSelector(selector, { env: "prod", region: "us" }), false);
    assert.equal(matchesClusterSelector(selector, { env: "prod" }), false);
    assert.equal(matchesClusterSelector(selector, bare), false);
  });

  void test("In needs the label with one of the values", () => {
    const selector = expr("env", "In", ["prod", "staging"]);
    assert.equal(matchesClusterSelector(selector, prodEu), true);
    assert.equal(matchesClusterSelector(selector, stagingUs), true);
    assert.equal(matchesClusterSelector(selector, { env: "dev" }), false);
    assert.equal(matchesClusterSelector(selector, bare), false);
  });

  void test("NotIn matches another value and a missing label", () => {
    const selector = expr("env", "NotIn", ["prod"]);
    assert.equal(matchesClusterSelector(selector, prodEu), false);
    assert.equal(matchesClusterSelector(selector, stagingUs), true);
    assert.equal(matchesClusterSelector(selector, bare), true);
  });

  void test("Exists looks at the key only, an empty value included", () => {
    const selector = expr("tier", "Exists");
    assert.equal(matchesClusterSelector(selector, prodEu), true);
    assert.equal(matchesClusterSelector(selector, { tier: "" }), true);
    assert.equal(matchesClusterSelector(selector, stagingUs), false);
  });

  void test("DoesNotExist matches clusters without the key", () => {
    const selector = expr("tier", "DoesNotExist");
    assert.equal(matchesClusterSelector(selector, prodEu), false);
    assert.equal(matchesClusterSelector(selector, stagingUs), true);
    assert.equal(matchesClusterSelector(selector, bare), true);
  });

  void test("matchLabels and every expression must all match", () => {
    const selector: ClusterSelector = {
      matchLabels: { env: "prod" },
      matchExpressions: [
        { key: "region", operator: "In", values: ["eu", "ap"] },
        { key: "legacy", operator: "DoesNotExist", values: [] },
      ],
    };
    assert.equal(matchesClusterSelector(selector, prodEu), true);
    assert.equal(matchesClusterSelector(selector, { ...prodEu, legacy: "true" }), false);
    assert.equal(matchesClusterSelector(selector, { ...prodEu, region: "us" }), false);
    assert.equal(describeSelector(selector), "env=prod,region in (eu,ap),!legacy");
  });

  void test("keys are matched as own properties, not through the prototype", () => {
    assert.equal(matchesClusterSelector(expr("constructor", "Exists"), bare), false);
    assert.equal(matchesClusterSelector(expr("toString", "DoesNotExist"), bare), true);
  });
});
