import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { labelKeyProblem, labelProblems, labelValueProblem, parseLabels } from "./labels.js";

void describe("Kubernetes labels", () => {
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

  void it("parses k=v,... from a flag, ignoring spaces and empty items", () => {
    assert.deepEqual(parseLabels("region=eu,tier=prod", "--labels"), { labels: { region: "eu", tier: "prod" }, problems: [] });
    assert.deepEqual(parseLabels(" gitfleet.io/region = eu, team=web,, empty=", "--labels"), {
      labels: { "gitfleet.io/region": "eu", team: "web", empty: "" },
      problems: [],
    });
    assert.deepEqual(parseLabels("", "--labels"), { labels: {}, problems: [] });
  });

  void it("says what is wrong with each label, starting with where it came from", () => {
    assert.deepEqual(parseLabels("region", "--labels").problems, ['--labels: "region" is not key=value']);
    assert.deepEqual(parseLabels("=eu", "--labels").problems, ['--labels: "=eu" is not key=value']);
    assert.match(parseLabels("bad key=x", "--labels").problems[0] ?? "", /^--labels: "bad key" is not a valid label key: name must consist/);
    assert.match(parseLabels("a=not ok", "GITFLEET_LABELS").problems[0] ?? "", /^GITFLEET_LABELS: "not ok" is not a valid value for label a: must consist/);
    assert.deepEqual(parseLabels("a=b,a=c", "--labels").problems, ["--labels: label a is given twice"]);
  });
});
