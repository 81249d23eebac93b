import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { FleetFileError } from "../errors.js";
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
  void test("a valid file gets defaults: one target for every cluster, drift correct, prune on, substitution off, no empty bundle, normalised path", () => {
    const spec = parseFleetFile(`${header}bundles:\n  - name: web\n    path: ./apps/web/\n`);
    assert.deepEqual(spec, {
      bundles: [
        {
          name: "web",
          path: "apps/web",
          namespace: undefined,
          targets: [{ name: "default", clusterSelector: { matchLabels: {}, matchExpressions: [] }, overlay: "apps/web", variables: {}, substitution: { on: false, by: "default" }, implicit: true, line: 4 }],
          drift: "correct",
          ignore: [],
          prune: true,
          substitute: false,
          allowEmpty: false,
          line: 4,
        },
      ],
      pipelines: [],
    });
  });

  void test("reads the full format: targets with overlays and variables, and pipelines", () => {
    const spec = parseFleetFile(`apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: web
    path: apps/web
    namespace: web
    targets:
      - name: prod-eu
        clusterSelector:
          matchLabels: { env: prod, region: eu }
        overlay: overlays/prod-eu
        variables: { replicas: "3", empty: "" }
      - name: everywhere-else
        clusterSelector: {}
        overlay: overlays/default
    drift: correct
    ignore: []
    prune: true
pipelines:
  - name: web
    bundle: web
    promote: { images: [registry.example.com/web] }
    stages:
      - { name: eu, target: prod-eu }
      - { name: rest, target: everywhere-else }
`);
    const [web] = spec.bundles;
    assert.deepEqual(web?.targets, [
      {
        name: "prod-eu",
        clusterSelector: { matchLabels: { env: "prod", region: "eu" }, matchExpressions: [] },
        overlay: "apps/web/overlays/prod-eu",
        variables: { replicas: "3", empty: "" },
        substitution: { on: true, by: "variables" },
        implicit: false,
        line: 8,
      },
      { name: "everywhere-else", clusterSelector: { matchLabels: {}, matchExpressions: [] }, overlay: "apps/web/overlays/default", variables: {}, substitution: { on: false, by: "default" }, implicit: false, line: 13 },
    ]);
    assert.deepEqual(
      spec.pipelines.map((p) => [p.name, p.bundle, p.stages.map((s) => [s.name, s.overlay, s.line])]),
      [["web", "web", [["eu", "apps/web/overlays/prod-eu", 24], ["rest", "apps/web/overlays/default", 25]]]],
    );
  });

  void test("an overlay defaults to the bundle path, may use .. inside it, and is normalised", () => {
    const spec = parseFleetFile(`${header}bundles:
  - name: web
    path: apps/web
    targets:
      - { name: a, clusterSelector: { matchLabels: { env: a } } }
      - { name: b, clusterSelector: { matchLabels: { env: b } }, overlay: ./overlays/../base/ }
      - { name: c, clusterSelector: { matchLabels: { env: c } }, overlay: . }
  - name: root
    path: .
    targets:
      - { name: all, clusterSelector: {}, overlay: envs/x }
`);
    assert.deepEqual(spec.bundles[0]?.targets.map((t) => t.overlay), ["apps/web", "apps/web/base", "apps/web"]);
    assert.deepEqual(spec.bundles[1]?.targets.map((t) => t.overlay), ["envs/x"]);
  });

  void test("a bundle-level clusterSelector is the short form of one target named default on the bundle path", () => {
    const spec = parseFleetFile(`${header}bundles:\n  - name: web\n    path: apps/web\n    clusterSelector:\n      matchLabels: { env: prod }\n`);
    assert.deepEqual(spec.bundles[0]?.targets, [
      { name: "default", clusterSelector: { matchLabels: { env: "prod" }, matchExpressions: [] }, overlay: "apps/web", variables: {}, substitution: { on: false, by: "default" }, implicit: true, line: 4 },
    ]);
  });

  void test("substitution is opt-in: the target's substitute, else its variables, else the bundle's substitute, else off", () => {
    const spec = parseFleetFile(`${header}bundles:
  - name: web
    path: apps/web
    substitute: true
    allowEmpty: true
    targets:
      - { name: own-off, clusterSelector: { matchLabels: { t: a } }, substitute: false }
      - { name: own-on, clusterSelector: { matchLabels: { t: b } }, substitute: true }
      - { name: vars, clusterSelector: { matchLabels: { t: c } }, variables: {} }
      - { name: inherits, clusterSelector: {} }
  - name: api
    path: apps/api
    targets:
      - { name: vars, clusterSelector: { matchLabels: { t: c } }, variables: { tag: "1" } }
      - { name: plain, clusterSelector: {} }
  - name: short
    path: apps/short
    substitute: true
`);
    const [web, api, short] = spec.bundles;
    assert.deepEqual(web?.targets.map((t) => [t.name, t.substitution]), [
      ["own-off", { on: false, by: "target" }],
      ["own-on", { on: true, by: "target" }],
      ["vars", { on: true, by: "variables" }],
      ["inherits", { on: true, by: "bundle" }],
    ]);
    assert.deepEqual([web?.substitute, web?.allowEmpty, api?.substitute, api?.allowEmpty], [true, true, false, false]);
    assert.deepEqual(api?.targets.map((t) => [t.name, t.substitution]), [
      ["vars", { on: true, by: "variables" }],
      ["plain", { on: false, by: "default" }],
    ]);
    assert.deepEqual(short?.targets[0]?.substitution, { on: true, by: "bundle" });
  });

  void test("ignore rules are pointers for every object, or pointers scoped to objects", () => {
    const spec = parseFleetFile(
      `${header}bundles:
  - name: web
    path: apps/web
    ignore:
      - /spec/replicas
      - path: /spec/template/spec/containers/*/image
        group: apps
        kind: Deployment
        namespace: web
        name: web
      - { path: /data/cache, kind: ConfigMap }
      - { path: /metadata/annotations/example.com~1rev }
`,
    );
    assert.deepEqual(spec.bundles[0]?.ignore, [
      { path: "/spec/replicas" },
      { path: "/spec/template/spec/containers/*/image", group: "apps", kind: "Deployment", namespace: "web", name: "web" },
      { path: "/data/cache", kind: "ConfigMap" },
      { path: "/metadata/annotations/example.com~1rev" },
    ]);
  });

  void test("an empty target list aims the bundle at no cluster", () => {
    assert.deepEqual(parseFleetFile(`${header}bundles:\n  - name: web\n    path: a\n    targets: []\n`).bundles[0]?.targets, []);
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
    assert.deepEqual(web?.ignore, [{ path: "/spec/replicas" }, { path: "/metadata/annotations/a~1b" }]);
    const selector = web?.targets[0]?.clusterSelector;
    assert.deepEqual(selector?.matchLabels, { env: "prod", "gitfleet.dev/region": "eu" });
    assert.deepEqual(selector?.matchExpressions, [
      { key: "tier", operator: "In", values: ["gold", "silver"] },
      { key: "legacy", operator: "DoesNotExist", values: [] },
    ]);
    assert.deepEqual(api?.targets[0]?.clusterSelector, selector);
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
    { name: "an unknown top-level field", text: `${header}bundles: []\ntargets: []\n`, line: 4, field: "targets", message: /unknown field; expected one of apiVersion, kind, bundles, pipelines$/ },
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
    { name: "an empty ignore pointer", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore: [""]\n`, line: 6, field: "bundles[0].ignore[0]", message: /"" is not a JSON pointer: the whole object cannot be ignored/ },
    { name: "an ignore item left empty", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      -\n`, line: 7, field: "bundles[0].ignore[0]", message: /must not be empty/ },
    { name: "an ignore item that is a number", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore: [3]\n`, line: 6, field: "bundles[0].ignore[0]", message: /must be a JSON pointer, or a mapping with path and optionally group, kind, namespace and name; got number 3/ },
    { name: "a scoped ignore rule without a path", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - { kind: Deployment }\n`, line: 7, field: "bundles[0].ignore[0].path", message: /is required \(the JSON pointer of the field to ignore\)/ },
    { name: "a scoped ignore rule whose path is not a pointer", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - kind: Deployment\n        path: spec.replicas\n`, line: 8, field: "bundles[0].ignore[0].path", message: /"spec.replicas" is not a JSON pointer/ },
    { name: "a misspelt ignore rule field", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - path: /spec/replicas\n        Kind: Deployment\n`, line: 8, field: "bundles[0].ignore[0].Kind", message: /unknown field; expected one of path, group, kind, namespace, name/ },
    { name: "an ignore rule with an apiVersion for a group", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - { path: /spec/replicas, group: apps/v1 }\n`, line: 7, field: "bundles[0].ignore[0].group", message: /"apps\/v1" is not an API group/ },
    { name: "an ignore rule with an empty group", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - { path: /spec/replicas, group: "" }\n`, line: 7, field: "bundles[0].ignore[0].group", message: /must not be empty; leave group out/ },
    { name: "an ignore rule with an empty name", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - { path: /spec/replicas, name: "" }\n`, line: 7, field: "bundles[0].ignore[0].name", message: /must not be empty; leave it out to match any/ },
    { name: "an ignore rule with a kind that is not one", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - { path: /spec/replicas, kind: deployments.apps }\n`, line: 7, field: "bundles[0].ignore[0].kind", message: /is not a kind/ },
    { name: "an ignore rule with an invalid namespace", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - { path: /spec/replicas, namespace: Web }\n`, line: 7, field: "bundles[0].ignore[0].namespace", message: /lowercase/ },
    { name: "an ignore rule scope that is a number", text: `${header}bundles:\n  - name: web\n    path: a\n    ignore:\n      - { path: /spec/replicas, name: 7 }\n`, line: 7, field: "bundles[0].ignore[0].name", message: /must be a string; got number 7 \(quote it\)/ },
    { name: "prune that is not a boolean", text: `${header}bundles:\n  - name: web\n    path: a\n    prune: "no"\n`, line: 6, field: "bundles[0].prune", message: /must be true or false; got string "no"/ },
    { name: "a missing kind", text: "apiVersion: gitfleet.dev/v1\nbundles: []\n", line: 1, field: "kind", message: /is required \(Fleet\)/ },
    { name: "a key that is not a string", text: `${header}bundles:\n  - { name: web, path: a, 1: x }\n`, line: 4, field: "bundles[0]", message: /keys must be strings/ },
    { name: "matchLabels that is not a mapping", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchLabels: [env]\n`, line: 7, field: "bundles[0].clusterSelector.matchLabels", message: /must be a mapping of label keys to values; got a list/ },
    { name: "matchExpressions that is not a list", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchExpressions: { key: env }\n`, line: 7, field: "bundles[0].clusterSelector.matchExpressions", message: /must be a list; got a mapping/ },
    { name: "an invalid value in an expression", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchExpressions:\n        - { key: env, operator: In, values: ["a b"] }\n`, line: 8, field: "bundles[0].clusterSelector.matchExpressions[0].values[0]", message: /label value "a b"/ },
    { name: "an expression key that is not a label key", text: `${header}bundles:\n  - name: web\n    path: a\n    clusterSelector:\n      matchExpressions:\n        - { key: "-env", operator: Exists }\n`, line: 8, field: "bundles[0].clusterSelector.matchExpressions[0].key", message: /label key "-env"/ },
    { name: "a variable without a value", text: `${header}bundles:\n  - name: web\n    path: a\n    targets:\n      - name: a\n        clusterSelector: {}\n        variables:\n          owner:\n`, line: 10, field: "bundles[0].targets[0].variables.owner", message: /must not be empty/ },
    { name: "targets together with a bundle-level clusterSelector", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - { name: a, clusterSelector: {} }\n    clusterSelector: {}\n`, line: 8, field: "bundles[0].clusterSelector", message: /cannot be used together with targets/ },
    { name: "targets that are not a list", text: `${header}bundles:\n  - name: web\n    path: a\n    targets: { a: {} }\n`, line: 6, field: "bundles[0].targets", message: /must be a list; got a mapping/ },
    { name: "a target that is a string", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - prod\n`, line: 7, field: "bundles[0].targets[0]", message: /must be a mapping with name and clusterSelector/ },
    { name: "a target without a name", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - clusterSelector: {}\n`, line: 7, field: "bundles[0].targets[0].name", message: /is required/ },
    { name: "a target name that is not a DNS label", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - { name: Prod_EU, clusterSelector: {} }\n`, line: 7, field: "bundles[0].targets[0].name", message: /lowercase letters/ },
    { name: "a duplicate target name", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - { name: a, clusterSelector: { matchLabels: { env: x } } }\n      - { name: a, clusterSelector: {} }\n`, line: 8, field: "bundles[0].targets[1].name", message: /target name a is already used by bundles\[0\]\.targets\[0\] \(line 7\)/ },
    { name: "a target without a clusterSelector", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        overlay: x\n`, line: 7, field: "bundles[0].targets[0].clusterSelector", message: /is required \(a label selector; write \{\} to match every cluster\)/ },
    { name: "a misspelt target field", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector: {}\n        overlays: x\n`, line: 9, field: "bundles[0].targets[0].overlays", message: /unknown field; expected one of name, clusterSelector, overlay, variables, substitute/ },
    { name: "substitute that is not a boolean", text: `${header}bundles:\n  - name: web\n    path: a\n    substitute: "yes"\n`, line: 6, field: "bundles[0].substitute", message: /must be true or false; got string "yes"/ },
    { name: "allowEmpty that is not a boolean", text: `${header}bundles:\n  - name: web\n    path: a\n    allowEmpty: 1\n`, line: 6, field: "bundles[0].allowEmpty", message: /must be true or false; got number 1/ },
    { name: "a target's substitute: false beside its variables", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector: {}\n        variables: { x: "1" }\n        substitute: false\n`, line: 10, field: "bundles[0].targets[0].substitute", message: /is false, but the target declares variables, which would never be substituted/ },
    { name: "a misspelt allowEmpty", text: `${header}bundles:\n  - name: web\n    path: a\n    allowempty: true\n`, line: 6, field: "bundles[0].allowempty", message: /unknown field; expected one of .*substitute, allowEmpty/ },
    { name: "an invalid target selector", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector:\n          matchExpressions: [{ key: env, operator: Is, values: [a] }]\n`, line: 9, field: "bundles[0].targets[0].clusterSelector.matchExpressions[0].operator", message: /must be one of In, NotIn, Exists, DoesNotExist; got Is/ },
    { name: "an overlay that climbs out of the bundle path", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - { name: a, clusterSelector: {}, overlay: ../api }\n`, line: 7, field: "bundles[0].targets[0].overlay", message: /"\.\.\/api" must be a folder inside the bundle's path apps\/web/ },
    { name: "an absolute overlay", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector: {}\n        overlay: /apps/web/prod\n`, line: 9, field: "bundles[0].targets[0].overlay", message: /must be a folder inside the bundle's path/ },
    { name: "an overlay that is not a string", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector: {}\n        overlay: [a]\n`, line: 9, field: "bundles[0].targets[0].overlay", message: /must be a string; got a list/ },
    { name: "variables that are not a mapping", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector: {}\n        variables: [a]\n`, line: 9, field: "bundles[0].targets[0].variables", message: /must be a mapping of variable names to string values; got a list/ },
    { name: "a variable name that is not one", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector: {}\n        variables:\n          image-tag: v1\n`, line: 10, field: 'bundles[0].targets[0].variables["image-tag"]', message: /variable name "image-tag" must start with a letter or '_'/ },
    { name: "a reserved variable name", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector: {}\n        variables:\n          cluster_label_env: x\n`, line: 10, field: "bundles[0].targets[0].variables.cluster_label_env", message: /is reserved/ },
    { name: "a variable value that is a number", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - name: a\n        clusterSelector: {}\n        variables:\n          replicas: 3\n`, line: 10, field: "bundles[0].targets[0].variables.replicas", message: /must be a string; got number 3 \(quote it\)/ },
    { name: "a target after one that matches every cluster", text: `${header}bundles:\n  - name: web\n    path: apps/web\n    targets:\n      - { name: all, clusterSelector: {} }\n      - { name: eu, clusterSelector: { matchLabels: { region: eu } } }\n`, line: 8, field: "bundles[0].targets[1]", message: /target eu is never chosen: target all \(line 7\) before it matches every cluster/ },
    { name: "the retired top-level stages", text: `${header}bundles: []\nstages:\n  - { name: staging, clusterSelector: {} }\n`, line: 4, field: "stages", message: /top-level stages are no longer read.*move them to pipelines\[\]\.stages/ },
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
