import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { FleetFileError } from "./errors.js";
import { parseFleetFile, readFleetFile } from "./fleet-file.js";

const header = "apiVersion: gitfleet.dev/v1\nkind: Fleet\n";

/** Parses `text`, expects a FleetFileError, and returns it. */
function refused(text: string): FleetFileError {
  try {
    parseFleetFile(text);
  } catch (err) {
    assert.ok(err instanceof FleetFileError, `expected a FleetFileError, got ${String(err)}`);
    return err;
  }
  assert.fail("fleet.yaml was accepted");
}

/** Asserts that the error lists an issue at `line` for `field`, and shows it as `fleet.yaml:line: field: ...`. */
function assertIssue(err: FleetFileError, line: number, field: string, message: RegExp): void {
  const issue = err.issues.find((i) => i.line === line && i.field === field);
  assert.ok(issue, `no issue at line ${line} for ${field}; issues: ${JSON.stringify(err.issues)}`);
  assert.match(issue.message, message);
  const shown = field === "" ? `fleet.yaml:${line}: ` : `fleet.yaml:${line}: ${field}: `;
  assert.ok(err.message.includes(shown), `message ${JSON.stringify(err.message)} does not show ${shown}`);
}

void describe("fleet.yaml", () => {
  void test("a valid file gets defaults: every cluster, drift correct, prune on, normalised path", () => {
    const spec = parseFleetFile(`${header}bundles:\n  - name: web\n    path: ./apps/web/\n`);
    assert.deepEqual(spec.bundles, [
      {
        name: "web",
        path: "apps/web",
        namespace: undefined,
        clusterSelector: { matchLabels: {}, matchExpressions: [] },
        drift: "correct",
        ignore: [],
        prune: true,
        line: 4,
      },
    ]);
  });

  void test("every field is read, anchors included", () => {
    const spec = parseFleetFile(
      `${header}bundles:
  - name: web
    path: apps/web
    namespace: web
    clusterSelector: &prod
      matchLabels: { env: prod, gitfleet.dev/region: eu }
      matchExpressions:
        - { key: tier, operator: In, values: [gold, silver] }
        - { key: legacy, operator: DoesNotExist }
    drift: report
    ignore: [/spec/replicas, /metadata/annotations/a~1b]
    prune: false
  - name: api
    path: apps/api
    clusterSelector: *prod
`,
    );
    const [web, api] = spec.bundles;
    assert.equal(web?.namespace, "web");
    assert.equal(web?.drift, "report");
    assert.equal(web?.prune, false);
    assert.deepEqual(web?.ignore, ["/spec/replicas", "/metadata/annotations/a~1b"]);
    assert.deepEqual(web?.clusterSelector.matchLabels, { env: "prod", "gitfleet.dev/region": "eu" });
    assert.deepEqual(web?.clusterSelector.matchExpressions, [
      { key: "tier", operator: "In", values: ["gold", "silver"] },
      { key: "legacy", operator: "DoesNotExist", values: [] },
    ]);
    assert.deepEqual(api?.clusterSelector, web?.clusterSelector);
  });

  void test("an empty bundle list is allowed when written as []", () => {
    assert.deepEqual(parseFleetFile(`${header}bundles: []\n`).bundles, []);
  });

  void test("a missing fleet.yaml names the commit", () => {
    const err = (() => {
      try {
        readFleetFile({ commit: "abc123", files: new Map() });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof FleetFileError);
    assert.equal(err.reason, "fleet-file-missing");
    assert.match(err.message, /^fleet\.yaml: not found at the repository root at commit abc123$/);
  });

  const cases: Array<{ name: string; text: string; line: number; field: string; message: RegExp }> = [
    { name: "invalid YAML", text: `${header}bundles:\n  - name: web\n    path: a: b\n`, line: 5, field: "", message: /^invalid YAML: Nested mappings/ },
    { name: "a duplicate key", text: `${header}kind: Fleet\nbundles: []\n`, line: 3, field: "", message: /^invalid YAML: Map keys must be unique/ },
    { name: "an empty file", text: "# nothing yet\n", line: 1, field: "", message: /is empty/ },
    { name: "two documents", text: `${header}bundles: []\n---\nkind: Fleet\n`, line: 5, field: "", message: /exactly one YAML document/ },
    { name: "a list at the top", text: "- a\n", line: 1, field: "", message: /must be a mapping.*got a list/ },
    { name: "a wrong apiVersion", text: "apiVersion: gitfleet.dev/v2\nkind: Fleet\nbundles: []\n", line: 1, field: "apiVersion", message: /must be gitfleet\.dev\/v1; got gitfleet\.dev\/v2/ },
    { name: "a missing apiVersion", text: "kind: Fleet\nbundles: []\n", line: 1, field: "apiVersion", message: /is required/ },
    { name: "a wrong kind", text: "apiVersion: gitfleet.dev/v1\nkind: Flet\nbundles: []\n", line: 2, field: "kind", message: /must be Fleet/ },
    { name: "an unknown top-level field", text: `${header}bundles: []\ntargets: []\n`, line: 4, field: "targets", message: /unknown field/ },
    { name: "missing bundles", text: header, line: 1, field: "bundles", message: /is required/ },
    { name: "an empty bundles field", text: `${header}bundles:\n`, line: 3, field: "bundles", message: /must be a list; got nothing/ },
    { name: "bundles as a mapping", text: `${header}bundles:\n  web: {}\n`, line: 4, field: "bundles", message: /must be a list; got a mapping/ },
    { name: "a bundle that is a string", text: `${header}bundles:\n  - web\n`, line: 4, field: "bundles[0]", message: /must be a mapping/ },
    { name: "a bundle without a name", text: `${header}bundles:\n  - path: apps/web\n`, line: 4, field: "bundles[0].name", message: /is required/ },
    { name: "a bundle name that is not a DNS label", text: `${header}bundles:\n  - name: Web_1\n    path: a\n`, line: 4, field: "bundles[0].name", message: /lowercase letters/ },
    { name: "a bundle name that is a number", text: `${header}bundles:\n  - name: 42\n    path: a\n`, line: 4, field: "bundles[0].name", message: /must be a string; got number 42/ },
    { name: "a duplicate bundle name", text: `${header}bundles:\n  - name: web\n    path: a\n  - name: web\n    path: b\n`, line: 6, field: "bundles[1].name", message: /already used by bundles\[0\] \(line 4\)/ },
    { name: "a bundle without a path", text: `${header}bundles:\n  - name: web\n`, line: 4, field: "bundles[0].path", message: /is required/ },
    { name: "a path that climbs out", text: `${header}bundles:\n  - name: web\n    path: apps/../../etc\n`, line: 5, field: "bundles[0].path", message: /relative folder inside the repository/ },
    { name: "an absolute path", text: `${header}bundles:\n  - name: web\n    path: /apps\n`, line: 5, field: "bundles[0].path", message: /relative folder/ },
    { name: "an invalid namespace", text: `${header}bundles:\n  - name: web\n    path: a\n    namespace: Web\n`, line: 6, field: "bundles[0].namespace", message: /lowercase/ },
    { name: "a misspelt bundle field", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelecter: {}\n`, line: 6, field: "bundles[0].clusterSelecter", message: /unknown field; expected one of name, path/ },
    { name: "a selector that is a string", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector: env=prod\n`, line: 6, field: "bundles[0].clusterSelector", message: /must be a mapping/ },
    { name: "a label value that is a number", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchLabels:\n        tier: 1\n`, line: 8, field: "bundles[0].clusterSelector.matchLabels.tier", message: /must be a string; got number 1 \(quote it\)/ },
    { name: "an invalid label key", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchLabels:\n        "bad key": x\n`, line: 8, field: 'bundles[0].clusterSelector.matchLabels["bad key"]', message: /label key "bad key"/ },
    { name: "an unknown operator", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchExpressions:\n        - key: env\n          operator: Equals\n          values: [a]\n`, line: 9, field: "bundles[0].clusterSelector.matchExpressions[0].operator", message: /must be one of In, NotIn, Exists, DoesNotExist; got Equals/ },
    { name: "In without values", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchExpressions:\n        - key: env\n          operator: In\n`, line: 8, field: "bundles[0].clusterSelector.matchExpressions[0].values", message: /at least one value for operator In/ },
    { name: "Exists with values", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchExpressions:\n        - key: env\n          operator: Exists\n          values: [a]\n`, line: 10, field: "bundles[0].clusterSelector.matchExpressions[0].values", message: /must be empty for operator Exists/ },
    { name: "an expression without a key", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchExpressions:\n        - operator: Exists\n`, line: 8, field: "bundles[0].clusterSelector.matchExpressions[0].key", message: /is required/ },
    { name: "an unknown drift policy", text: `${header}bundles:\n  - name: web\n    path: a\n    drift: fix\n`, line: 6, field: "bundles[0].drift", message: /must be one of correct, report; got fix/ },
    { name: "ignore that is not a list", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore: /spec\n`, line: 6, field: "bundles[0].ignore", message: /must be a list/ },
    { name: "an ignore entry that is not a JSON pointer", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - /spec\n      - spec.replicas\n`, line: 8, field: "bundles[0].ignore[1]", message: /is not a JSON pointer/ },
    { name: "prune that is not a boolean", text: `${header}bundles:\n  - name: web\n    path: a\n    prune: "no"\n`, line: 6, field: "bundles[0].prune", message: /must be true or false; got string "no"/ },
  ];
  for (const c of cases) {
    void test(`refuses ${c.name}, naming line and field`, () => {
      assertIssue(refused(c.text), c.line, c.field, c.message);
    });
  }

  void test("lists every problem at once, in line order", () => {
    const err = refused(`apiVersion: v1\nkind: Fleet\nbundles:\n  - name: web\n    drift: fix\n  - name: API\n    path: b\n`);
    assert.deepEqual(
      err.issues.map((i) => [i.line, i.field]),
      [
        [1, "apiVersion"],
        [4, "bundles[0].path"],
        [5, "bundles[0].drift"],
        [6, "bundles[1].name"],
      ],
    );
    assert.match(err.message, /^fleet\.yaml has 4 problems:\nfleet\.yaml:1: apiVersion: /);
    assert.equal(err.code, "invalid-argument");
    assert.equal(err.reason, "fleet-file-invalid");
  });
});
