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
      assert.match(err.message, /^o\/kustomization\.yaml:1: \w+.*remote reference ".+" refused/, line);
      assert.equal(err.file, "o/kustomization.yaml");
    }
  });

  void test("a problem in a base names the overlay that reached it and the base's file", () => {
    const err = walkError(
      { "o/kustomization.yaml": "resources: [../base]\n", "base/kustomization.yaml": "resources: [https://example.com/x.yaml]\n" },
      "o",
      "remote-refused",
    );
    assert.match(err.message, /^o: base\/kustomization\.yaml:1: resources\[0\]: remote reference/);
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
    assert.match(err.message, /^o\/kustomization\.yaml:1: helmCharts: /);
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

  void test("URLs in inline generator and transformer configs are refused with the line and field", () => {
    const attacks: [string, RegExp][] = [
      [
        "generators:\n  - |-\n    apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata: {name: x}\n    files:\n      - x=http://127.0.0.1:8080/secret\n",
        /^o\/kustomization\.yaml:7: generators\[0\] ConfigMapGenerator\.files\[0\]: remote reference "http:\/\/127\.0\.0\.1:8080\/secret" refused/,
      ],
      [
        "generators:\n  - |-\n    kind: SecretGenerator\n    metadata: {name: x}\n    envs: [https://example.com/env]\n",
        /^o\/kustomization\.yaml:5: generators\[0\] SecretGenerator\.envs\[0\]: remote reference/,
      ],
      [
        "generators:\n  - {kind: ConfigMapGenerator, metadata: {name: x}, env: 'http://example.com/e'}\n",
        /^o\/kustomization\.yaml:2: generators\[0\] ConfigMapGenerator\.env: remote reference/,
      ],
      [
        "transformers:\n  - |-\n    kind: PatchTransformer\n    metadata: {name: p}\n    path: https://example.com/patch.yaml\n",
        /^o\/kustomization\.yaml:5: transformers\[0\] PatchTransformer\.path: remote reference/,
      ],
      [
        "transformers:\n  - |-\n    kind: ReplacementTransformer\n    metadata: {name: r}\n    replacements:\n      - path: https://example.com/r.yaml\n",
        /^o\/kustomization\.yaml:6: transformers\[0\] ReplacementTransformer\.replacements\[0\]\.path: remote reference/,
      ],
      [
        "validators:\n  - |-\n    kind: SomeValidator\n    metadata: {name: v}\n    spec:\n      schema: file:///etc/passwd\n",
        /^o\/kustomization\.yaml:6: validators\[0\] SomeValidator\.spec\.schema: remote reference/,
      ],
    ];
    for (const [kustomization, message] of attacks) {
      const err = walkError({ "o/kustomization.yaml": kustomization }, "o", "remote-refused");
      assert.match(err.message, message, kustomization);
      assert.equal(err.file, "o/kustomization.yaml");
    }
  });

  void test("a plugin config file is read, and a URL in it is refused naming that file and line", () => {
    const err = walkError(
      {
        "o/kustomization.yaml": "generators: [gen.yaml]\n",
        "o/gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: x}\nfiles:\n  - k=https://example.com/k\n",
      },
      "o",
      "remote-refused",
    );
    assert.match(err.message, /^o\/gen\.yaml:5: ConfigMapGenerator\.files\[0\]: remote reference "https:\/\/example\.com\/k"/);
    assert.equal(err.file, "o/gen.yaml");
  });

  void test("a folder of plugin configs is walked strictly: its resources are configs, any URL in them is refused", () => {
    const err = walkError(
      {
        "o/kustomization.yaml": "generators: [../gens]\n",
        "gens/kustomization.yaml": "resources: [cm.yaml]\n",
        "gens/cm.yaml": "kind: ConfigMapGenerator\nmetadata: {name: x}\nfiles: [http://169.254.169.254/latest]\n",
      },
      "o",
      "remote-refused",
    );
    assert.match(err.message, /^o: gens\/cm\.yaml:3: ConfigMapGenerator\.files\[0\]: remote reference/);
    const patched = walkError(
      {
        "o/kustomization.yaml": "transformers: [../t]\n",
        "t/kustomization.yaml": "resources: [t.yaml]\npatches:\n  - patch: |-\n      - op: add\n        path: /path\n        value: https://example.com/p\n",
        "t/t.yaml": "kind: PatchTransformer\nmetadata: {name: x}\n",
      },
      "o",
      "remote-refused",
    );
    assert.match(patched.message, /^o: t\/kustomization\.yaml:\d+: patches\[0\]\.patch: remote reference "https:\/\/example\.com\/p"/);
  });

  void test("files named by plugin configs are inputs; a local path outside the repository is refused", () => {
    const walk = walkKustomization(
      files({
        "o/kustomization.yaml": "generators: [gen.yaml]\n",
        "o/gen.yaml": "kind: ConfigMapGenerator\nmetadata: {name: x}\nfiles: [k=../data/k.txt]\n",
      }),
      "o",
    );
    assert.ok(walk.inputs.includes("data/k.txt"));
    const err = walkError(
      { "o/kustomization.yaml": "generators:\n  - |-\n    kind: ConfigMapGenerator\n    metadata: {name: x}\n    files: [../../../etc/passwd]\n" },
      "o",
      "outside-repository",
    );
    assert.match(err.message, /^o\/kustomization\.yaml:5: generators\[0\] ConfigMapGenerator\.files\[0\]: "\.\.\/\.\.\/\.\.\/etc\/passwd" is outside the repository/);
  });

  void test("a generator entry that hides a URL behind a key is refused", () => {
    const err = walkError({ "o/kustomization.yaml": "configMapGenerator: [{name: c, files: ['http://127.0.0.1:1/a=b']}]\n" }, "o", "remote-refused");
    assert.match(err.message, /configMapGenerator\[0\]\.files\[0\]: remote reference "http:\/\/127\.0\.0\.1:1\/a=b"/);
  });

  void test("Helm's generator is refused inline and in a config file", () => {
    const inline = walkError(
      { "o/kustomization.yaml": "generators:\n  - |-\n    kind: HelmChartInflationGenerator\n    metadata: {name: h}\n    repo: https://charts.example.com\n" },
      "o",
      "helm-refused",
    );
    assert.match(inline.message, /^o\/kustomization\.yaml:3: generators\[0\] HelmChartInflationGenerator: Helm charts are not rendered/);
  });

  void test("annotation values that are URLs are data, not references", () => {
    const walk = walkKustomization(
      files({
        "o/kustomization.yaml":
          "commonAnnotations: {docs: 'https://example.com/docs'}\ntransformers:\n  - |-\n    kind: AnnotationsTransformer\n    metadata: {name: a}\n    annotations: {docs: 'https://example.com/docs'}\n    fieldSpecs: [{path: metadata/annotations, create: true}]\n",
      }),
      "o",
    );
    assert.deepEqual(walk.folders, ["o"]);
  });
});
