import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { formatValuePath, parseValuePath, type PathSegment } from "./value-paths.js";

void describe("field paths", () => {
  const valid: Array<[string, PathSegment[]]> = [
    ["data.version", ["data", "version"]],
    ["items[0]", ["items", 0]],
    ["[2].name", [2, "name"]],
    ["spec.template.spec.containers[name=web].image", ["spec", "template", "spec", "containers", { match: "name", equals: "web" }, "image"]],
    ['data["app.properties"]', ["data", "app.properties"]],
    ['metadata.annotations["gitfleet.dev/x"].y', ["metadata", "annotations", "gitfleet.dev/x", "y"]],
    ['a.["b c"]', ["a", "b c"]],
    ['["a]b"]', ["a]b"]],
    ["matrix[1][0]", ["matrix", 1, 0]],
    ["images[name=registry.example.com/web].newTag", ["images", { match: "name", equals: "registry.example.com/web" }, "newTag"]],
  ];
  for (const [text, segments] of valid) {
    void test(`reads ${text}`, () => {
      assert.deepEqual(parseValuePath(text), { segments });
    });
  }

  void test("formatting reads back to the same segments", () => {
    for (const [, segments] of valid) {
      assert.deepEqual(parseValuePath(formatValuePath(segments)), { segments }, formatValuePath(segments));
    }
    assert.equal(formatValuePath(["data", "app.properties", 0, { match: "name", equals: "web" }]), 'data["app.properties"][0][name=web]');
  });

  const invalid: Array<[string, RegExp]> = [
    ["", /it is empty/],
    ["a..b", /an empty key at character 3/],
    [".a", /an empty key at character 1/],
    ["a.", /an empty key at character 3/],
    ["a[0", /not closed/],
    ["a[x]", /\[x\] is neither/],
    ["a[=x]", /\[=x\] is neither/],
    ["a[x=]", /\[x=\] is neither/],
    ['a[""]', /\[""\] is neither/],
    ["a[0]b", /expected "\." or "\[" at character 5/],
    ["a b", /the key "a b" needs quoting/],
  ];
  for (const [text, message] of invalid) {
    void test(`refuses ${JSON.stringify(text)}`, () => {
      const parsed = parseValuePath(text);
      assert.ok("problem" in parsed, JSON.stringify(parsed));
      assert.match(parsed.problem, message);
    });
  }
});
