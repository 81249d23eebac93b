import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { referenceStyles } from "./kustomize-styles.js";

const files = (entries: Record<string, string>): Map<string, Uint8Array> => new Map(Object.entries(entries).map(([p, c]) => [p, new TextEncoder().encode(c)]));

void describe("how a kustomize overlay's files write its references", () => {
  const repo = files({
    "base/deploy.yaml": "spec:\n  replicas: ${replicas}\n  paused: ${paused}\n  image: \"${image}\"\n",
    "base/cm.yaml": "data:\n  paused: '${paused}'\n  note: ${note}\n",
    "overlay/kustomization.yaml": [
      "resources: [../base]",
      "patches:",
      "  - patch: |-",
      "      spec:",
      "        minReadySeconds: ${ready}",
      "        progressDeadlineSeconds: \"${deadline}\"",
      "configMapGenerator:",
      "  - name: gen",
      "    literals:",
      "      - LIT=${lit}",
      "",
    ].join("\n"),
    "overlay/patch.json": '[{"op": "add", "path": "/spec/x", "value": "${json}"}]',
    "overlay/vars.env": "ENV=${env}\n",
    "base/huge-crd.yaml": "spec:\n  description: nothing wanted here\n",
  });
  const inputs = [...repo.keys()];
  const wanted = new Set(["${replicas}", "${paused}", "${image}", "${note}", "${ready}", "${deadline}", "${lit}", "${json}", "${env}", "${missing}"]);

  void test("typed: written unquoted as a whole value somewhere, in resources or inline patches, and quoted nowhere", () => {
    const styles = referenceStyles(repo, inputs, wanted);
    assert.deepEqual([...styles.typed].sort(), ["${note}", "${ready}", "${replicas}"]);
  });

  void test("strings: quoted, written inside other text (generator literals, env files), JSON, or nowhere", () => {
    const styles = referenceStyles(repo, inputs, wanted);
    for (const reference of ["${image}", "${deadline}", "${lit}", "${json}", "${env}", "${missing}"]) assert.ok(!styles.typed.has(reference), reference);
  });

  void test("written both ways: a string everywhere, and a warning naming a place of each", () => {
    const styles = referenceStyles(repo, inputs, wanted);
    assert.ok(!styles.typed.has("${paused}"));
    assert.deepEqual(styles.warnings, [
      "${paused} is written unquoted (base/deploy.yaml:3) and quoted (base/cm.yaml:2) in the files kustomize build reads; kustomize prints both alike, so it stays a string everywhere: write it one way, or use two variables",
    ]);
  });

  void test("only files of the build are read", () => {
    assert.deepEqual([...referenceStyles(repo, ["overlay/kustomization.yaml"], wanted).typed], ["${ready}"]);
  });
});
