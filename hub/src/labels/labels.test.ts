import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { dnsLabelProblem, labelKeyProblem, labelProblems, labelValueProblem } from "./labels.js";

void describe("Kubernetes names and labels", () => {
  void it("accepts DNS labels and refuses the rest", () => {
    assert.equal(dnsLabelProblem("prod-eu-1"), undefined);
    assert.match(dnsLabelProblem("Prod") ?? "", /lowercase/);
    assert.match(dnsLabelProblem("-a") ?? "", /start and end/);
    assert.match(dnsLabelProblem("a".repeat(64)) ?? "", /at most 63/);
    assert.match(dnsLabelProblem("") ?? "", /empty/);
  });

  void it("checks label keys with and without prefix", () => {
    assert.equal(labelKeyProblem("env"), undefined);
    assert.equal(labelKeyProblem("gitfleet.dev/region"), undefined);
    assert.match(labelKeyProblem("/env") ?? "", /empty prefix/);
    assert.match(labelKeyProblem("Bad_Prefix/env") ?? "", /prefix must be a DNS subdomain/);
    assert.match(labelKeyProblem("a/") ?? "", /name must not be empty/);
  });

  void it("checks label values; empty is valid", () => {
    assert.equal(labelValueProblem(""), undefined);
    assert.equal(labelValueProblem("v1.2_3-x"), undefined);
    assert.match(labelValueProblem("a b") ?? "", /must consist/);
  });

  void it("names the offending label", () => {
    assert.deepEqual(labelProblems({ ok: "yes", "b@d": "x", k: "-v" }, "labels"), [
      'labels: key "b@d" name must consist of letters, digits, \'-\', \'_\' or \'.\', and start and end with a letter or digit',
      'labels["k"]: value "-v" must consist of letters, digits, \'-\', \'_\' or \'.\', and start and end with a letter or digit',
    ]);
  });
});
