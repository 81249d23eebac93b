import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { FleetFileError } from "../errors.js";
import { parseFleetFile } from "./fleet-file.js";

// Lines 1-14: a bundle web with targets staging, prod-us and prod-eu. Pipelines start at line 15.
const bundles = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: web
    path: apps/web
    targets:
      - name: staging
        clusterSelector: { matchLabels: { env: staging } }
        overlay: staging
      - name: prod-us
        clusterSelector: { matchLabels: { env: prod, region: us } }
        overlay: prod-us
      - name: prod-eu
        clusterSelector: { matchLabels: { env: prod, region: eu } }
        overlay: prod-eu
`;

function pipelines(text: string): string {
  return `${bundles}pipelines:\n${text}`;
}

function refused(text: string): FleetFileError {
  try {
    parseFleetFile(text);
  } catch (err) {
    assert.ok(err instanceof FleetFileError, `expected a FleetFileError, got ${String(err)}`);
    return err;
  }
  assert.fail("fleet.yaml was accepted");
}

const twoStages = "    stages:\n      - { name: staging, target: staging }\n      - { name: prod-us, target: prod-us }\n";
const images = "    promote: { images: [registry.example.com/web] }\n";

void describe("fleet.yaml pipelines", () => {
  void test("reads a pipeline with defaults: target selectors and overlays, default gates, manual rollback, 10 minute verification", () => {
    const spec = parseFleetFile(pipelines(`  - name: web\n    bundle: web\n${images}${twoStages}`));
    const promote = { images: ["registry.example.com/web"], fields: [], files: [] };
    const gates = { healthy: true, noDrift: false, soakMs: 0, minClusters: 1 };
    assert.deepEqual(spec.pipelines, [
      {
        name: "web",
        bundle: "web",
        line: 17,
        stages: [
          { name: "staging", target: "staging", overlay: "apps/web/staging", clusterSelector: { matchLabels: { env: "staging" }, matchExpressions: [] }, promote, gates, auto: false, rollback: "manual", verifyTimeoutMs: 600_000, line: 21 },
          { name: "prod-us", target: "prod-us", overlay: "apps/web/prod-us", clusterSelector: { matchLabels: { env: "prod", region: "us" }, matchExpressions: [] }, promote, gates, auto: false, rollback: "manual", verifyTimeoutMs: 600_000, line: 22 },
        ],
      },
    ]);
  });

  void test("reads every field: selectors, gates, auto, rollback, verify, per-stage promote, fields and files", () => {
    const spec = parseFleetFile(
      pipelines(`  - name: web
    bundle: web
    promote:
      images: [registry.example.com/web, localhost:5000/sidecar]
      fields:
        - { file: config.yaml, path: data.version }
        - { file: ./deploy/patch.yaml, path: 'spec.template.spec.containers[name=web].env[0].value' }
      files: [settings.json, conf/../extra.json]
    stages:
      - name: staging
        target: staging
        clusterSelector: { matchLabels: { env: staging, canary: "true" } }
        gates: { healthy: false, noDrift: true, soak: 5m, minClusters: 2 }
        auto: true
      - name: prod-us
        target: prod-us
        gates: { soak: 90 }
        rollback: auto
        verify: { timeout: 30s }
      - name: prod-eu
        target: prod-eu
        promote: { fields: [{ file: config.yaml, path: 'data["app.version"]' }] }
        verify: {}
`),
    );
    const [staging, prodUs, prodEu] = spec.pipelines[0]?.stages ?? [];
    assert.deepEqual(staging?.clusterSelector, { matchLabels: { env: "staging", canary: "true" }, matchExpressions: [] });
    assert.deepEqual(staging?.gates, { healthy: false, noDrift: true, soakMs: 300_000, minClusters: 2 });
    assert.equal(staging?.auto, true);
    const pipelinePromote = {
      images: ["registry.example.com/web", "localhost:5000/sidecar"],
      fields: [
        { file: "config.yaml", path: "data.version" },
        { file: "deploy/patch.yaml", path: "spec.template.spec.containers[name=web].env[0].value" },
      ],
      files: ["settings.json", "extra.json"],
    };
    assert.deepEqual(staging?.promote, pipelinePromote);
    assert.deepEqual(prodUs?.promote, pipelinePromote);
    assert.deepEqual(prodUs?.gates, { healthy: true, noDrift: false, soakMs: 90_000, minClusters: 1 });
    assert.equal(prodUs?.rollback, "auto");
    assert.equal(prodUs?.verifyTimeoutMs, 30_000);
    assert.deepEqual(prodEu?.promote, { images: [], fields: [{ file: "config.yaml", path: 'data["app.version"]' }], files: [] });
    assert.equal(prodEu?.verifyTimeoutMs, 600_000);
  });

  void test("without a pipeline promote, the first stage shows what the second receives", () => {
    const spec = parseFleetFile(
      pipelines(`  - name: web
    bundle: web
    stages:
      - { name: staging, target: staging }
      - { name: prod-us, target: prod-us, promote: { files: [a.json] } }
      - { name: prod-eu, target: prod-eu, promote: { images: [web] } }
`),
    );
    assert.deepEqual(
      spec.pipelines[0]?.stages.map((s) => s.promote),
      [
        { images: [], fields: [], files: ["a.json"] },
        { images: [], fields: [], files: ["a.json"] },
        { images: ["web"], fields: [], files: [] },
      ],
    );
  });

  void test("a bundle's short form has one target, default; soak 0 is allowed", () => {
    const spec = parseFleetFile(`apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - { name: a, path: a }
  - { name: b, path: b }
  - name: web
    path: apps/web
    targets:
      - { name: one, clusterSelector: { matchLabels: { n: "1" } }, overlay: one }
      - { name: two, clusterSelector: {}, overlay: two }
pipelines:
  - name: web
    bundle: web
    promote: { images: [web] }
    stages:
      - { name: one, target: one, gates: { soak: 0s } }
      - { name: two, target: two }
  - name: other
    bundle: web
    promote: { files: [x.yaml] }
    stages:
      - { name: first, target: one, gates: { soak: 0 } }
      - { name: second, target: two }
`);
    assert.deepEqual(spec.pipelines.map((p) => p.name), ["web", "other"]);
    assert.equal(spec.pipelines[1]?.stages[0]?.gates.soakMs, 0);
  });

  const p = "  - name: web\n    bundle: web\n";
  const cases: Array<{ name: string; text: string; line: number; field: string; message: RegExp }> = [
    { name: "pipelines that are not a list", text: `${bundles}pipelines: { web: {} }\n`, line: 16, field: "pipelines", message: /must be a list; got a mapping/ },
    { name: "a pipeline that is a string", text: pipelines("  - web\n"), line: 17, field: "pipelines[0]", message: /must be a mapping with name, bundle and stages/ },
    { name: "a pipeline without a name", text: pipelines(`  - bundle: web\n${images}${twoStages}`), line: 17, field: "pipelines[0].name", message: /is required \(a DNS label naming the pipeline\)/ },
    { name: "a pipeline name that is not a DNS label", text: pipelines(`  - name: Web\n    bundle: web\n${images}${twoStages}`), line: 17, field: "pipelines[0].name", message: /lowercase letters/ },
    { name: "a duplicate pipeline name", text: pipelines(`${p}${images}${twoStages}${p}${images}${twoStages}`), line: 23, field: "pipelines[1].name", message: /pipeline name web is already used by pipelines\[0\] \(line 17\)/ },
    { name: "a misspelt pipeline field", text: pipelines(`${p}${images}${twoStages}    stage: []\n`), line: 23, field: "pipelines[0].stage", message: /unknown field; expected one of name, bundle, promote, stages/ },
    { name: "a pipeline without a bundle", text: pipelines(`  - name: web\n${images}${twoStages}`), line: 17, field: "pipelines[0].bundle", message: /is required/ },
    { name: "a pipeline of an unknown bundle", text: pipelines(`  - name: web\n    bundle: api\n${images}${twoStages}`), line: 18, field: "pipelines[0].bundle", message: /bundle api is not a bundle of this file; bundles: web/ },
    { name: "a pipeline without stages", text: pipelines(`${p}${images}`), line: 17, field: "pipelines[0].stages", message: /is required \(the stages in promotion order, at least two\)/ },
    { name: "stages that are not a list", text: pipelines(`${p}${images}    stages: staging\n`), line: 20, field: "pipelines[0].stages", message: /must be a list; got string/ },
    { name: "a single stage", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging }\n`), line: 21, field: "pipelines[0].stages", message: /must list at least 2 stages, in promotion order; got 1/ },
    { name: "no stages", text: pipelines(`${p}${images}    stages: []\n`), line: 20, field: "pipelines[0].stages", message: /at least 2 stages.*got 0/ },
    { name: "a stage that is a string", text: pipelines(`${p}${images}    stages:\n      - staging\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0]", message: /must be a mapping with name and target/ },
    { name: "a stage without a name", text: pipelines(`${p}${images}    stages:\n      - { target: staging }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].name", message: /is required/ },
    { name: "a stage name that is not a DNS label", text: pipelines(`${p}${images}    stages:\n      - { name: Staging, target: staging }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].name", message: /lowercase letters/ },
    { name: "a duplicate stage name", text: pipelines(`${p}${images}    stages:\n      - { name: a, target: staging }\n      - { name: a, target: prod-us }\n`), line: 22, field: "pipelines[0].stages[1].name", message: /stage name a is already used by pipelines\[0\]\.stages\[0\] \(line 21\)/ },
    { name: "a stage without a target", text: pipelines(`${p}${images}    stages:\n      - { name: staging }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].target", message: /is required \(a target of the pipeline's bundle/ },
    { name: "a stage of an unknown target", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: stage }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].target", message: /target stage is not a target of bundle web; its targets: staging, prod-us, prod-eu/ },
    { name: "two stages on one target", text: pipelines(`${p}${images}    stages:\n      - { name: a, target: staging }\n      - { name: b, target: staging }\n`), line: 22, field: "pipelines[0].stages[1].target", message: /stage a \(line 21\) already writes to target staging; each stage needs an overlay of its own/ },
    { name: "a misspelt stage field", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gate: {} }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gate", message: /unknown field; expected one of name, target, clusterSelector, promote, gates, auto, rollback, verify/ },
    { name: "an invalid stage selector", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, clusterSelector: { matchLabels: { env: "a b" } } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].clusterSelector.matchLabels.env", message: /label value "a b"/ },
    { name: "auto that is not a boolean", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, auto: "yes" }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].auto", message: /must be true or false/ },
    { name: "auto on the last stage", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging }\n      - { name: prod-us, target: prod-us, auto: true }\n`), line: 22, field: "pipelines[0].stages[1].auto", message: /stage prod-us is the last stage: there is no stage after it to promote to automatically/ },
    { name: "an unknown rollback", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging }\n      - { name: prod-us, target: prod-us, rollback: revert }\n`), line: 22, field: "pipelines[0].stages[1].rollback", message: /must be one of manual, auto; got revert/ },
    { name: "rollback: auto on the first stage", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, rollback: auto }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].rollback", message: /stage staging is the first stage: nothing is promoted into it, so there is nothing to roll back/ },
    { name: "verify on the first stage", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, verify: { timeout: 1m } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].verify", message: /first stage.*nothing to verify/ },
    { name: "promote on the first stage", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, promote: { images: [web] } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].promote", message: /first stage.*receives nothing/ },
    { name: "verify that is not a mapping", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging }\n      - { name: prod-us, target: prod-us, verify: 5m }\n`), line: 22, field: "pipelines[0].stages[1].verify", message: /must be a mapping with timeout/ },
    { name: "a verify timeout that is not a duration", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging }\n      - { name: prod-us, target: prod-us, verify: { timeout: soon } }\n`), line: 22, field: "pipelines[0].stages[1].verify.timeout", message: /"soon" is not a duration; use seconds \("3600"\) or units like "1h"/ },
    { name: "a zero verify timeout", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging }\n      - { name: prod-us, target: prod-us, verify: { timeout: 0s } }\n`), line: 22, field: "pipelines[0].stages[1].verify.timeout", message: /greater than zero/ },
    { name: "a misspelt verify field", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging }\n      - { name: prod-us, target: prod-us, verify: { deadline: 5m } }\n`), line: 22, field: "pipelines[0].stages[1].verify.deadline", message: /unknown field; expected one of timeout/ },
    { name: "gates that are not a mapping", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: [healthy] }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates", message: /must be a mapping with healthy, noDrift, soak and\/or minClusters; got a list/ },
    { name: "a misspelt gate", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { nodrift: true } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.nodrift", message: /unknown field; expected one of healthy, noDrift, soak, minClusters/ },
    { name: "a healthy gate that is not a boolean", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { healthy: "yes" } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.healthy", message: /must be true or false/ },
    { name: "a noDrift gate that is not a boolean", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { noDrift: 1 } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.noDrift", message: /must be true or false/ },
    { name: "a soak that is not a duration", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { soak: 5 minutes } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.soak", message: /"5 minutes" is not a duration/ },
    { name: "a soak that is a list", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { soak: [5m] } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.soak", message: /must be a duration such as 30s, 5m or 1h30m/ },
    { name: "a negative soak", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { soak: -5 } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.soak", message: /positive number of seconds, got -5/ },
    { name: "minClusters of 0", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { minClusters: 0 } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.minClusters", message: /must be a whole number of at least 1; got number 0/ },
    { name: "a fractional minClusters", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { minClusters: 1.5 } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.minClusters", message: /whole number of at least 1; got number 1\.5/ },
    { name: "minClusters as a string", text: pipelines(`${p}${images}    stages:\n      - { name: staging, target: staging, gates: { minClusters: "2" } }\n      - { name: prod-us, target: prod-us }\n`), line: 21, field: "pipelines[0].stages[0].gates.minClusters", message: /whole number of at least 1; got string "2"/ },
    { name: "nothing promotable anywhere", text: pipelines(`${p}${twoStages}`), line: 21, field: "pipelines[0].stages[1].promote", message: /is required: the pipeline has no promote of its own, so every stage after the first must say what it receives/ },
    { name: "a stage without promote when others have one", text: pipelines(`${p}    stages:\n      - { name: staging, target: staging }\n      - { name: prod-us, target: prod-us, promote: { images: [web] } }\n      - { name: prod-eu, target: prod-eu }\n`), line: 22, field: "pipelines[0].stages[2].promote", message: /is required/ },
    { name: "an empty promote", text: pipelines(`${p}    promote: {}\n${twoStages}`), line: 19, field: "pipelines[0].promote", message: /must name at least one image, field or file to promote/ },
    { name: "a promote with empty lists", text: pipelines(`${p}    promote: { images: [], files: [] }\n${twoStages}`), line: 19, field: "pipelines[0].promote", message: /must name at least one image/ },
    { name: "a promote that is a list", text: pipelines(`${p}    promote: [web]\n${twoStages}`), line: 19, field: "pipelines[0].promote", message: /must be a mapping with images, fields and\/or files; got a list/ },
    { name: "a misspelt promote field", text: pipelines(`${p}    promote: { image: [web] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.image", message: /unknown field; expected one of images, fields, files/ },
    { name: "images that are not a list", text: pipelines(`${p}    promote: { images: web }\n${twoStages}`), line: 19, field: "pipelines[0].promote.images", message: /must be a list; got string/ },
    { name: "an image with a tag", text: pipelines(`${p}    promote: { images: ["registry.example.com/web:1.4.0"] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.images[0]", message: /must be an image name without tag or digest/ },
    { name: "an image with a digest", text: pipelines(`${p}    promote: { images: ["web@sha256:abc"] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.images[0]", message: /without tag or digest/ },
    { name: "an empty image name", text: pipelines(`${p}    promote: { images: [""] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.images[0]", message: /"" is not an image name/ },
    { name: "an image that is a number", text: pipelines(`${p}    promote: { images: [3] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.images[0]", message: /must be a string; got number 3/ },
    { name: "a duplicate image", text: pipelines(`${p}    promote: { images: [web, web] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.images[1]", message: /image web is already listed at pipelines\[0\]\.promote\.images\[0\]/ },
    { name: "an absolute file", text: pipelines(`${p}    promote: { files: [/etc/passwd] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.files[0]", message: /must be a file inside the stage's overlay, relative to it/ },
    { name: "a file that climbs out of the overlay", text: pipelines(`${p}    promote: { files: [../base/config.yaml] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.files[0]", message: /"\.\.\/base\/config\.yaml" must be a file inside the stage's overlay/ },
    { name: "a file that is the overlay itself", text: pipelines(`${p}    promote: { files: [.] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.files[0]", message: /must be a file inside the stage's overlay/ },
    { name: "a folder for a file", text: pipelines(`${p}    promote: { files: [conf/] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.files[0]", message: /must be a file inside the stage's overlay/ },
    { name: "a duplicate file", text: pipelines(`${p}    promote: { files: [a.json, ./a.json] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.files[1]", message: /file a\.json is already listed at pipelines\[0\]\.promote\.files\[0\]/ },
    { name: "fields that are not a list", text: pipelines(`${p}    promote: { fields: config.yaml }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields", message: /must be a list/ },
    { name: "a field that is a string", text: pipelines(`${p}    promote: { fields: [data.version] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields[0]", message: /must be a mapping with file and path/ },
    { name: "a field without a file", text: pipelines(`${p}    promote: { fields: [{ path: data.version }] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields[0].file", message: /is required \(the YAML file, relative to the stage's overlay\)/ },
    { name: "a field without a path", text: pipelines(`${p}    promote: { fields: [{ file: config.yaml }] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields[0].path", message: /is required \(the field's path in the file/ },
    { name: "a field file outside the overlay", text: pipelines(`${p}    promote: { fields: [{ file: ../config.yaml, path: a }] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields[0].file", message: /must be a file inside the stage's overlay/ },
    { name: "a field path with an empty key", text: pipelines(`${p}    promote: { fields: [{ file: c.yaml, path: data..version }] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields[0].path", message: /"data\.\.version" is not a field path: an empty key at character 6/ },
    { name: "a field path with an unclosed bracket", text: pipelines(`${p}    promote: { fields: [{ file: c.yaml, path: "items[0" }] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields[0].path", message: /is not a field path: the "\[" at character 6 is not closed/ },
    { name: "a field path with a bad selector", text: pipelines(`${p}    promote: { fields: [{ file: c.yaml, path: "items[=web]" }] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields[0].path", message: /\[=web\] is neither an index, a quoted key nor key=value/ },
    { name: "a field path that is empty", text: pipelines(`${p}    promote: { fields: [{ file: c.yaml, path: "" }] }\n${twoStages}`), line: 19, field: "pipelines[0].promote.fields[0].path", message: /is not a field path: it is empty/ },
    { name: "a duplicate field", text: pipelines(`${p}    promote:\n      fields:\n        - { file: c.yaml, path: data.v }\n        - { file: ./c.yaml, path: data.v }\n${twoStages}`), line: 22, field: "pipelines[0].promote.fields[1]", message: /field data\.v of c\.yaml is already listed at pipelines\[0\]\.promote\.fields\[0\]/ },
    { name: "a field of a file promoted whole", text: pipelines(`${p}    promote:\n      files: [c.yaml]\n      fields: [{ file: c.yaml, path: data.v }]\n${twoStages}`), line: 20, field: "pipelines[0].promote.files", message: /c\.yaml is promoted whole, so its field data\.v cannot be promoted too/ },
  ];
  for (const c of cases) {
    void test(`refuses ${c.name}, naming line and field`, () => {
      const err = refused(c.text);
      const issue = err.issues.find((i) => i.line === c.line && i.field === c.field);
      assert.ok(issue, `no issue at line ${c.line} for ${c.field}; issues: ${JSON.stringify(err.issues)}`);
      assert.match(issue.message, c.message);
      assert.ok(err.message.includes(`fleet.yaml:${c.line}: ${c.field}: `), err.message);
    });
  }

  void test("a pipeline of a bundle that has problems of its own is not reported twice", () => {
    const err = refused(`apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: web\npipelines:\n${p}${images}    stages:\n      - { name: a, target: default }\n      - { name: b, target: default }\n`);
    assert.deepEqual(err.issues.map((i) => i.field), ["bundles[0].path"]);
  });

  void test("a bundle's short form offers its one target, default", () => {
    const err = refused(`apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - { name: web, path: web }\npipelines:\n${p}${images}    stages:\n      - { name: a, target: default }\n      - { name: b, target: b }\n`);
    assert.deepEqual(err.issues.map((i) => [i.field, i.message]), [["pipelines[0].stages[1].target", "target b is not a target of bundle web; its targets: default"]]);
  });

  void test("two targets sharing an overlay cannot be two stages", () => {
    const err = refused(`apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: web
    path: web
    targets:
      - { name: a, clusterSelector: { matchLabels: { x: a } }, overlay: shared }
      - { name: b, clusterSelector: {}, overlay: shared, variables: { v: "1" } }
pipelines:
${p}${images}    stages:
      - { name: a, target: a }
      - { name: b, target: b }
`);
    assert.deepEqual(err.issues.map((i) => [i.line, i.field, i.message]), [[15, "pipelines[0].stages[1].target", "stage a (line 14) already writes to overlay web/shared; each stage needs an overlay of its own"]]);
  });
});
