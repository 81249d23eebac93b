import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { KustomizeError, type KustomizeFailure } from "./kustomize-error.js";
import { walkKustomization } from "./kustomize-walk.js";

function files(entries: Record<string, string>): Map<string, Uint8Array> {
  return new Map(Object.entries(entries).map(([path, content]) => [path, new TextEncoder().encode(content)]));
}

/** The kustomization file names of each folder, which every walked folder adds to the inputs. */
function names(...dirs: string[]): string[] {
  return dirs.flatMap((dir) => ["kustomization.yaml", "kustomization.yml", "Kustomization"].map((n) => (dir === "" ? n : `${dir}/${n}`)));
}

const sorted = (paths: string[]): string[] => [...new Set(paths)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

function walkError(entries: Record<string, string>, overlay: string, failure: KustomizeFailure): KustomizeError {
  try {
    walkKustomization(files(entries), overlay);
  } catch (err) {
    assert.ok(err instanceof KustomizeError, `expected a KustomizeError, got ${String(err)}`);
    assert.equal(err.failure, failure, err.message);
    assert.equal(err.overlay, overlay);
    return err;
  }
  assert.fail("the walk succeeded");
}

const repo = {
  "base/web/kustomization.yaml": "resources: [deploy.yaml]\n",
  "base/web/deploy.yaml": "kind: Deployment\n",
  "base/web/docs/README.md": "notes\n",
  "components/probe/kustomization.yaml": "kind: Component\npatches: [{path: probe.yaml}]\n",
  "components/probe/probe.yaml": "kind: Deployment\n",
  "overlays/prod/kustomization.yaml": [
    "resources: [../../base/web, ns.yaml]",
    "components: [../../components/probe]",
    "configMapGenerator: [{name: c, files: [key=conf/app.properties, missing.txt]}]",
    "",
  ].join("\n"),
  "overlays/prod/ns.yaml": "kind: Namespace\n",
  "overlays/prod/conf/app.properties": "a=1\n",
  "overlays/staging/kustomization.yaml": "resources: [../../base/web]\n",
  "fleet.yaml": "bundles: []\n",
  "unrelated/cm.yaml": "kind: ConfigMap\n",
};

void describe("kustomization walk", () => {
  void test("inputs are every file under each folder reached, plus referenced files that are missing", () => {
    const walk = walkKustomization(files(repo), "overlays/prod");
    assert.deepEqual(
      walk.inputs,
      sorted([
        "base/web/deploy.yaml",
        "base/web/docs/README.md",
        "components/probe/probe.yaml",
        "overlays/prod/conf/app.properties",
        "overlays/prod/missing.txt",
        "overlays/prod/ns.yaml",
        ...names("base/web", "components/probe", "overlays/prod"),
      ]),
    );
    assert.deepEqual(walk.folders.sort(), ["base/web", "components/probe", "overlays/prod"]);
  });

  void test("a base shared by two overlays is an input of both; a sibling overlay is not", () => {
    const prod = walkKustomization(files(repo), "overlays/prod").inputs;
    const staging = walkKustomization(files(repo), "overlays/staging").inputs;
    assert.ok(prod.includes("base/web/deploy.yaml") && staging.includes("base/web/deploy.yaml"));
    assert.ok(!staging.some((path) => path.startsWith("overlays/prod/")));
    assert.ok(!prod.includes("unrelated/cm.yaml") && !prod.includes("fleet.yaml"));
  });

  void test("a folder reached twice or in a cycle is walked once", () => {
    const walk = walkKustomization(
      files({ "a/kustomization.yaml": "resources: [../b, ../b]\n", "b/kustomization.yaml": "resources: [../a]\n" }),
      "a",
    );
    assert.deepEqual(walk.folders, ["a", "b"]);
  });

  void test("a referenced folder without a kustomization, or a missing one, names the files that would make it one", () => {
    const walk = walkKustomization(
      files({ "o/kustomization.yaml": "resources: [../plain, ../gone]\n", "plain/cm.yaml": "kind: ConfigMap\n" }),
      "o",
    );
    assert.deepEqual(walk.inputs, sorted(["gone", "plain/cm.yaml", ...names("o", "plain", "gone")]));
  });

  void test("the repository root works as an overlay", () => {
    const walk = walkKustomization(files({ Kustomization: "resources: [a.yaml]\n", "a.yaml": "" }), "");
    assert.deepEqual(walk.inputs, sorted(["a.yaml", ...names("")]));
  });

  void test("an overlay without a kustomization is refused", () => {
    const err = walkError({ "o/a.yaml": "kind: ConfigMap\n" }, "o", "kustomization-invalid");
    assert.match(err.message, /^o: no kustomization\.yaml/);
  });

  void test("a refusal carries the inputs walked so far, so it is kept until one of them changes", () => {
    const err = walkError(
      { "o/kustomization.yaml": "resources: [../base]\n", "base/kustomization.yaml": "resources: [https://example.com/x.yaml]\n" },
      "o",
      "remote-refused",
    );
    assert.deepEqual(err.inputs, sorted([...names("o", "base")]));
  });

  void test("remote references are refused in every field that loads something", () => {
    const remote = [
      "resources: [https://github.com/org/repo//deploy?ref=v1]",
      "resources: [github.com/org/repo/deploy]",
      "resources: ['git@github.com:org/repo.git/deploy']",
      "resources: [git::https://example.com/repo.git]",
      "bases: [ssh://git@example.com/org/repo.git]",
      "components: [file:///srv/repo.git//c]",
      "patches: [{path: 'https://example.com/patch.yaml'}]",
      "configMapGenerator: [{name: c, files: ['k=http://example.com/file']}]",
      "openapi: {path: 'https://example.com/schema.json'}",
    ];
    for (const line of remote) {
      const err = walkError({ "o/kustomization.yaml": `${line}\n` }, "o", "remote-refused");
      assert.match(err.message, /^o\/kustomization\.yaml: \w+.*remote reference ".+" refused/, line);
      assert.equal(err.file, "o/kustomization.yaml");
    }
  });

  void test("a problem in a base names the overlay that reached it and the base's file", () => {
    const err = walkError(
      { "o/kustomization.yaml": "resources: [../base]\n", "base/kustomization.yaml": "resources: [https://example.com/x.yaml]\n" },
      "o",
      "remote-refused",
    );
    assert.match(err.message, /^o: base\/kustomization\.yaml: resources\[0\]: remote reference/);
    assert.equal(err.file, "base/kustomization.yaml");
  });

  void test("a local folder whose name looks like a host is not remote", () => {
    const walk = walkKustomization(files({ "o/kustomization.yaml": "resources: [github.com/org/app]\n", "o/github.com/org/app/kustomization.yaml": "" }), "o");
    assert.deepEqual(walk.folders, ["o", "o/github.com/org/app"]);
  });

  void test("paths outside the repository are refused", () => {
    for (const ref of ["../../etc", "/etc", "../x/../../y"]) {
      const err = walkError({ "o/kustomization.yaml": `resources: ["${ref}"]\n` }, "o", "outside-repository");
      assert.match(err.message, /outside the repository/);
    }
  });

  void test("Helm charts are refused", () => {
    const err = walkError({ "o/kustomization.yaml": "helmCharts: [{name: redis, repo: https://charts.example.com}]\n" }, "o", "helm-refused");
    assert.match(err.message, /^o\/kustomization\.yaml: helmCharts: /);
  });

  void test("a kustomization that is not YAML, or not a mapping, is refused with its line", () => {
    const err = walkError({ "o/kustomization.yaml": "resources:\n  - a.yaml\n - b.yaml\n" }, "o", "kustomization-invalid");
    assert.match(err.message, /^o\/kustomization\.yaml:\d+: invalid YAML/);
    walkError({ "o/kustomization.yaml": "- a.yaml\n" }, "o", "kustomization-invalid");
  });

  void test("inline patches and generator configs are not taken for paths", () => {
    const walk = walkKustomization(
      files({
        "o/kustomization.yaml": [
          "patchesStrategicMerge:",
          "  - |-",
          "    apiVersion: v1",
          "    kind: ConfigMap",
          "transformers:",
          "  - |-",
          "    apiVersion: builtin",
          "    kind: LabelTransformer",
          "",
        ].join("\n"),
      }),
      "o",
    );
    assert.deepEqual(walk.inputs, names("o").sort());
  });
});
