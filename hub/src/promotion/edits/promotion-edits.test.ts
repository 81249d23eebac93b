import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { HubError } from "../../errors.js";
import { parseFleetFile, type PipelineSpec } from "../../delivery/index.js";
import { EditError, applyEdits, promotionEdits, stageValues } from "./index.js";

const fleet = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: web
    path: apps/web
    targets:
      - { name: staging, clusterSelector: { matchLabels: { env: staging } }, overlay: staging }
      - { name: prod-us, clusterSelector: { matchLabels: { env: prod, region: us } }, overlay: prod-us }
      - { name: prod-eu, clusterSelector: { matchLabels: { env: prod, region: eu } }, overlay: prod-eu }
pipelines:
  - name: web
    bundle: web
    promote:
      images: [registry.example.com/web]
      fields: [{ file: config.yaml, path: data.version }]
      files: [settings.json]
    stages:
      - { name: staging, target: staging }
      - { name: prod-us, target: prod-us }
      - { name: prod-eu, target: prod-eu }
`;

function pipeline(text = fleet): PipelineSpec {
  const spec = parseFleetFile(text).pipelines[0];
  assert.ok(spec);
  return spec;
}

function kustomization(entry: string): string {
  return `# overlay
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
images:
${entry}replicas:
  - name: web
    count: 3
`;
}

const config = (version: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  environment: prod # env\n  version: ${version}\n`;

function snapshot(files: Record<string, string>): Map<string, Uint8Array> {
  return new Map(Object.entries(files).map(([path, text]) => [path, new TextEncoder().encode(text)]));
}

const base = {
  "apps/web/staging/kustomization.yaml": kustomization("  - name: registry.example.com/web\n    newTag: 1.5.0\n"),
  "apps/web/prod-us/kustomization.yaml": kustomization("  - name: registry.example.com/web # the app\n    newTag: 1.4.0\n"),
  "apps/web/prod-eu/kustomization.yaml": kustomization("  - name: registry.example.com/web\n    newTag: 1.3.0\n"),
  "apps/web/staging/config.yaml": config('"1.5"'),
  "apps/web/prod-us/config.yaml": config('"1.4"'),
  "apps/web/prod-eu/config.yaml": config('"1.3"'),
  "apps/web/staging/settings.json": '{ "feature": true }\n',
  "apps/web/prod-us/settings.json": '{ "feature": false }\n',
};

void describe("stage values", () => {
  void test("reads each promotable image, field and file of a stage", () => {
    const values = stageValues({ pipeline: pipeline(), stage: "staging", files: snapshot(base) });
    assert.deepEqual(values, [
      { kind: "image", file: "apps/web/staging/kustomization.yaml", key: "registry.example.com/web", value: "registry.example.com/web:1.5.0" },
      { kind: "field", file: "apps/web/staging/config.yaml", key: "data.version", value: "1.5" },
      { kind: "file", file: "apps/web/staging/settings.json", key: "", value: createHash("sha256").update('{ "feature": true }\n').digest("hex") },
    ]);
  });

  void test("absent values are undefined; images read newName, tag and digest", () => {
    const files = snapshot({ ...base, "apps/web/prod-eu/kustomization.yaml": kustomization("  - name: registry.example.com/web\n    newName: mirror.example.com/web\n    digest: sha256:abc\n") });
    const values = stageValues({ pipeline: pipeline(), stage: "prod-eu", files });
    assert.deepEqual(values.map((v) => v.value), ["mirror.example.com/web@sha256:abc", "1.3", undefined]);
    const empty = stageValues({ pipeline: pipeline(), stage: "prod-eu", files: new Map() });
    assert.deepEqual(empty.map((v) => [v.file, v.value]), [["apps/web/prod-eu/kustomization.yaml", undefined], ["apps/web/prod-eu/config.yaml", undefined], ["apps/web/prod-eu/settings.json", undefined]]);
  });

  void test("an unknown stage is not-found, naming the stages there are", () => {
    assert.throws(() => stageValues({ pipeline: pipeline(), stage: "qa", files: new Map() }), (err: unknown) => err instanceof HubError && err.code === "not-found" && /pipeline web has no stage qa; its stages: staging, prod-us, prod-eu/.test(err.message));
  });
});

void describe("promotion edits", () => {
  void test("staging to prod-us: the tag, the field and the file, each with before and after", () => {
    const edits = promotionEdits({ pipeline: pipeline(), from: "staging", to: "prod-us", files: snapshot(base) });
    assert.deepEqual(edits, [
      { kind: "value", file: "apps/web/prod-us/kustomization.yaml", path: ["images", { match: "name", equals: "registry.example.com/web" }, "newTag"], display: "images[registry.example.com/web].newTag", before: "1.4.0", after: "1.5.0" },
      { kind: "value", file: "apps/web/prod-us/config.yaml", path: ["data", "version"], display: "data.version", before: "1.4", after: "1.5" },
      { kind: "file", file: "apps/web/prod-us/settings.json", before: '{ "feature": false }\n', after: '{ "feature": true }\n' },
    ]);
    const { changed, conflicts } = applyEdits(snapshot(base), edits);
    assert.deepEqual(conflicts, []);
    assert.equal(changed.get("apps/web/prod-us/kustomization.yaml"), base["apps/web/prod-us/kustomization.yaml"].replace("newTag: 1.4.0", "newTag: 1.5.0"));
    assert.equal(changed.get("apps/web/prod-us/config.yaml"), config('"1.5"'));
    assert.equal(changed.get("apps/web/prod-us/settings.json"), '{ "feature": true }\n');
  });

  void test("nothing differs: no edits", () => {
    const files = snapshot(base);
    const edits = promotionEdits({ pipeline: pipeline(), from: "staging", to: "prod-us", files });
    const promoted = new Map(files);
    for (const [file, text] of applyEdits(files, edits).changed) if (text !== null) promoted.set(file, new TextEncoder().encode(text));
    assert.deepEqual(promotionEdits({ pipeline: pipeline(), from: "staging", to: "prod-us", files: promoted }), []);
  });

  void test("a tag switched for a digest sets the digest and removes the tag; an absent entry and file are created", () => {
    const files = snapshot({
      ...base,
      "apps/web/prod-us/kustomization.yaml": kustomization("  - name: registry.example.com/web\n    digest: sha256:feed\n"),
      "apps/web/prod-eu/kustomization.yaml": kustomization("  - name: other\n    newTag: x\n"),
    });
    const edits = promotionEdits({ pipeline: pipeline(), from: "prod-us", to: "prod-eu", files });
    assert.deepEqual(
      edits.map((e) => (e.kind === "value" ? [e.display, e.before, e.after] : [e.file, e.before, e.after])),
      [
        ["images[registry.example.com/web].digest", undefined, "sha256:feed"],
        ["data.version", "1.3", "1.4"],
        ["apps/web/prod-eu/settings.json", undefined, '{ "feature": false }\n'],
      ],
    );
    const toTag = promotionEdits({ pipeline: pipeline(), from: "staging", to: "prod-us", files });
    assert.deepEqual(toTag.filter((e) => e.kind === "value" && e.display.startsWith("images")).map((e) => (e.kind === "value" ? [e.display, e.before, e.after] : [])), [
      ["images[registry.example.com/web].newTag", undefined, "1.5.0"],
      ["images[registry.example.com/web].digest", "sha256:feed", undefined],
    ]);
    const { changed } = applyEdits(files, toTag);
    assert.match(changed.get("apps/web/prod-us/kustomization.yaml") ?? "", /images:\n {2}- name: registry\.example\.com\/web\n {4}newTag: 1\.5\.0\nreplicas:/);
  });

  void test("a tag like 1.10 stays a string on its way to the next stage", () => {
    const files = snapshot({ ...base, "apps/web/staging/kustomization.yaml": kustomization("  - name: registry.example.com/web\n    newTag: 1.10\n") });
    const edits = promotionEdits({ pipeline: pipeline(), from: "staging", to: "prod-us", files });
    assert.equal(edits[0]?.kind === "value" ? edits[0].after : undefined, "1.10");
    assert.match(applyEdits(files, edits).changed.get("apps/web/prod-us/kustomization.yaml") ?? "", /newTag: "1\.10"\n/);
  });

  void test("a per-stage promote decides what the stage receives", () => {
    const text = fleet.replace("      - { name: prod-eu, target: prod-eu }", "      - { name: prod-eu, target: prod-eu, promote: { fields: [{ file: config.yaml, path: data.version }] } }");
    const edits = promotionEdits({ pipeline: pipeline(text), from: "prod-us", to: "prod-eu", files: snapshot(base) });
    assert.deepEqual(edits.map((e) => e.file), ["apps/web/prod-eu/config.yaml"]);
  });

  const refusals: Array<{ name: string; files: Record<string, string | undefined>; reason: string; message: RegExp }> = [
    { name: "the source has no images entry", files: { "apps/web/staging/kustomization.yaml": kustomization("  - name: other\n    newTag: x\n") }, reason: "source-missing", message: /apps\/web\/staging\/kustomization\.yaml: field images\[registry\.example\.com\/web\] is missing: stage staging has no images entry named registry\.example\.com\/web/ },
    { name: "the source entry has no tag, name or digest", files: { "apps/web/staging/kustomization.yaml": kustomization("  - name: registry.example.com/web\n") }, reason: "source-missing", message: /without newName, newTag or digest/ },
    { name: "the source has no kustomization", files: { "apps/web/staging/kustomization.yaml": undefined }, reason: "source-missing", message: /stage staging has no kustomization\.yaml in apps\/web\/staging/ },
    { name: "the target has no kustomization", files: { "apps/web/prod-us/kustomization.yaml": undefined }, reason: "target-missing", message: /stage prod-us has no kustomization\.yaml in apps\/web\/prod-us/ },
    { name: "the source field is missing", files: { "apps/web/staging/config.yaml": "data: {}\n" }, reason: "source-missing", message: /apps\/web\/staging\/config\.yaml: field data\.version is missing, so stage staging has no value of it to promote/ },
    { name: "the source field's file is missing", files: { "apps/web/staging/config.yaml": undefined }, reason: "source-missing", message: /apps\/web\/staging\/config\.yaml does not exist, so stage staging has no data\.version/ },
    { name: "the target field's file is missing", files: { "apps/web/prod-us/config.yaml": undefined }, reason: "target-missing", message: /apps\/web\/prod-us\/config\.yaml does not exist/ },
    { name: "the source file is missing", files: { "apps/web/staging/settings.json": undefined }, reason: "source-missing", message: /apps\/web\/staging\/settings\.json does not exist/ },
    { name: "a multi-document field file", files: { "apps/web/staging/config.yaml": `${config("1")}---\nkind: Other\n` }, reason: "multi-document", message: /apps\/web\/staging\/config\.yaml holds 2 YAML documents/ },
    { name: "a field that is a mapping", files: { "apps/web/staging/config.yaml": "data:\n  version:\n    major: 1\n" }, reason: "not-editable", message: /data\.version cannot be edited: data\.version is a mapping/ },
  ];
  for (const c of refusals) {
    void test(`refuses when ${c.name}`, () => {
      const files = snapshot(Object.fromEntries(Object.entries({ ...base, ...c.files }).filter((e): e is [string, string] => e[1] !== undefined)));
      assert.throws(
        () => promotionEdits({ pipeline: pipeline(), from: "staging", to: "prod-us", files }),
        (err: unknown) => err instanceof EditError && err.code === "failed-precondition" && err.reason === c.reason && c.message.test(err.message),
      );
    });
  }

  void test("refuses promoting images into a kustomization that is also promoted whole", () => {
    const text = fleet.replace("files: [settings.json]", "files: [kustomization.yaml]");
    assert.throws(() => promotionEdits({ pipeline: pipeline(text), from: "staging", to: "prod-us", files: snapshot(base) }), /apps\/web\/prod-us\/kustomization\.yaml is promoted whole, so images/);
  });
});
