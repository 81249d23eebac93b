import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allowedLabelsProblems, parseAllowedLabels, refusedLabels } from "./label-policy.js";

void describe("label policy", () => {
  const grant = { preset: { env: "prod" }, allowed: { region: ["us", "eu"], team: ["*"] } };

  void it("grants listed values, any value of a \"*\" key, and a preset label repeated with its own value", () => {
    assert.deepEqual(refusedLabels({ region: "eu", team: "web", env: "prod" }, grant), []);
    assert.deepEqual(refusedLabels({}, grant), []);
  });

  void it("refuses an unlisted key, naming it", () => {
    const [problem, ...rest] = refusedLabels({ tier: "gold" }, grant);
    assert.deepEqual(rest, []);
    assert.match(problem ?? "", /label "tier=gold": the registration token does not allow the key "tier"/);
  });

  void it("refuses a value the token does not list, saying which it allows", () => {
    assert.deepEqual(refusedLabels({ region: "ap" }, grant), [
      'label "region=ap": the registration token allows "region" only as "us", "eu"',
    ]);
  });

  void it("refuses a preset label with another value", () => {
    assert.deepEqual(refusedLabels({ env: "dev" }, grant), ['label "env=dev": "env" is set to "prod" by the registration token']);
  });

  void it("allows nothing beyond the preset labels when the token names no allowed labels", () => {
    assert.equal(refusedLabels({ region: "us" }, { preset: {} }).length, 1);
    assert.equal(refusedLabels({ toString: "x" }, { preset: {} }).length, 1, "no inherited key is allowed");
  });

  void it("checks allowed labels: keys, values, no empty lists, no preset keys", () => {
    assert.deepEqual(allowedLabelsProblems({ region: ["us", "*"] }, {}, "allowedLabels"), []);
    const problems = allowedLabelsProblems({ "bad key": ["x"], region: [], env: ["dev"], team: ["no spaces"] }, { env: "prod" }, "allowedLabels");
    assert.equal(problems.length, 4, problems.join("\n"));
    assert.match(problems.join("\n"), /key "bad key"/);
    assert.match(problems.join("\n"), /allowedLabels\["region"\]: name at least one value/);
    assert.match(problems.join("\n"), /key "env" is a preset label/);
    assert.match(problems.join("\n"), /allowedLabels\["team"\]: value "no spaces"/);
  });

  void it("parses the CLI form key=v1|v2,key2=*", () => {
    assert.deepEqual(parseAllowedLabels("region=us|eu, team=*", "--allow-labels"), {
      allowed: { region: ["us", "eu"], team: ["*"] },
      problems: [],
    });
    assert.match(parseAllowedLabels("region", "--allow-labels").problems[0] ?? "", /--allow-labels: "region" is not key=value/);
  });
});
