// Fuzzes the walk over kustomizations the hub does before kustomize runs (what a fleet repository
// writer controls): mutations of the fixtures' kustomization files and kustomizations built from
// kustomize's own field names. Property: the walk answers or throws KustomizeError with a message,
// and what it answers never names a file outside the repository.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { fixtureFiles, fuzzSync, keyedValue, mutatedText, refusesTyped } from "../../test-support/fuzz.js";
import { KustomizeError } from "./kustomize-error.js";
import { walkKustomization } from "./kustomize-walk.js";

const FIELDS = [
  "apiVersion", "kind", "resources", "bases", "components", "patches", "patchesStrategicMerge", "patchesJson6902", "path",
  "patch", "target", "configMapGenerator", "secretGenerator", "files", "envs", "env", "literals", "name", "behavior",
  "generators", "transformers", "validators", "crds", "configurations", "openapi", "helmCharts", "helmGlobals", "replacements",
  "images", "newTag", "namespace", "namePrefix", "commonLabels", "labels", "buildMetadata", "generatorOptions",
  "metadata", "spec", "source", "sortOptions", "https://example.com/x", "../..", "/etc/passwd", "base", "github.com/a/b",
];
const reference = fc.constantFrom("../../base/web", "../staging", "base", "./x.yaml", "http://127.0.0.1:9/x", "git::https://h/r", "github.com/o/r//p?ref=v1", "/abs", "../../../../..", "x=http://127.0.0.1/s", "~/x", "a/../../..", "");

const tree = fixtureFiles("kustomize");
const kustomizations = [...tree.keys()].filter((p) => p.endsWith("kustomization.yaml"));
const overlays = ["overlays/prod", "overlays/staging", "overlays/edge", "base/web", "errors/remote", "errors/outside"];

function checkWalk(files: ReadonlyMap<string, Uint8Array>, overlay: string): void {
  const walk = refusesTyped(() => walkKustomization(files, overlay), [KustomizeError]);
  if (walk === undefined) return;
  for (const input of [...walk.inputs, ...walk.folders]) {
    assert.ok(!input.startsWith("/") && !input.split("/").includes(".."), `the walk named ${input}, outside the repository`);
  }
}

void test("kustomize walk: mutations of the fixtures' kustomizations", () =>
  fuzzSync(
    fc.property(
      fc.constantFrom(...kustomizations).chain((file) => fc.tuple(fc.constant(file), mutatedText(new TextDecoder().decode(tree.get(file))))),
      fc.constantFrom(...overlays),
      ([file, text], overlay) => {
        const files = new Map(tree);
        files.set(file, new TextEncoder().encode(text));
        checkWalk(files, overlay);
      },
    ),
  ));

void test("kustomize walk: kustomizations of kustomize's fields with random references", () =>
  fuzzSync(
    fc.property(
      fc.dictionary(fc.constantFrom(...FIELDS.slice(0, 40)), fc.oneof(fc.array(fc.oneof(reference, keyedValue(FIELDS, 3)), { maxLength: 4 }), keyedValue(FIELDS, 3), reference), { maxKeys: 6 }),
      fc.constantFrom("overlays/prod", "overlays/fuzz", ""),
      (doc, dir) => {
        const files = new Map(tree);
        files.set(dir === "" ? "kustomization.yaml" : `${dir}/kustomization.yaml`, new TextEncoder().encode(stringify(doc)));
        checkWalk(files, dir);
      },
    ),
  ));

void test("kustomize walk: random bytes as a kustomization", () =>
  fuzzSync(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const files = new Map(tree);
      files.set("overlays/prod/kustomization.yaml", bytes);
      checkWalk(files, "overlays/prod");
    }),
  ));
