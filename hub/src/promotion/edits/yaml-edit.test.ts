import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { EditError } from "./edit-error.js";
import { setValue } from "./yaml-edit.js";
import type { PathSegment } from "../../delivery/index.js";

const kustomization = `# Production, US. Promotions write the web tag below; everything else is by hand.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

# The shared base.
resources:
  - ../base   # never edited per stage

images:
  # The app itself.
  - name: registry.example.com/web   # promoted
    newTag: 1.4.0 # the running release

  - name: "registry.example.com/sidecar"
    newTag: "2.0.0"
    # pinned by hand

replicas:
  - {name: web, count: 3}   # three per cluster
patches:
  - path: config.yaml
labels: { app.kubernetes.io/instance: web-prod-us }
# end of file
`;

const web = (key: string): PathSegment[] => ["images", { match: "name", equals: "registry.example.com/web" }, key];
const sidecar = (key: string): PathSegment[] => ["images", { match: "name", equals: "registry.example.com/sidecar" }, key];

/** The lines that differ between two texts of the same number of lines. */
function changedLines(before: string, after: string): Array<[number, string, string]> {
  const a = before.split("\n");
  const b = after.split("\n");
  assert.equal(a.length, b.length, `line count changed:\n${after}`);
  return a.flatMap((line, i) => (line === b[i] ? [] : [[i + 1, line, b[i] ?? ""] as [number, string, string]]));
}

void describe("editing one YAML value", () => {
  void test("a tag bump changes exactly one line of a kustomization full of comments, byte for byte", () => {
    const after = setValue("k.yaml", kustomization, web("newTag"), "1.4.2");
    assert.deepEqual(changedLines(kustomization, after), [[12, "    newTag: 1.4.0 # the running release", "    newTag: 1.4.2 # the running release"]]);
    assert.equal(after, kustomization.replace("newTag: 1.4.0 #", "newTag: 1.4.2 #"));
  });

  void test("quoting is kept: double-quoted stays double-quoted, single stays single, plain stays plain", () => {
    assert.deepEqual(changedLines(kustomization, setValue("k.yaml", kustomization, sidecar("newTag"), "2.1.0")), [[15, '    newTag: "2.0.0"', '    newTag: "2.1.0"']]);
    assert.equal(setValue("f.yaml", "a: 'x' # c\n", ["a"], "y"), "a: 'y' # c\n");
    assert.equal(setValue("f.yaml", "a: x\n", ["a"], "y z"), "a: y z\n");
  });

  void test("a tag that looks like a number is quoted in a plain field, so it stays a string", () => {
    const after = setValue("k.yaml", kustomization, web("newTag"), "1.10");
    assert.deepEqual(changedLines(kustomization, after), [[12, "    newTag: 1.4.0 # the running release", '    newTag: "1.10" # the running release']]);
    for (const tag of ["1.10", "2", "1e3", "true", "null", "0x1F", "~", ""]) {
      const text = setValue("f.yaml", "newTag: v1 # c\n", ["newTag"], tag);
      assert.equal((parse(text) as { newTag: unknown }).newTag, tag, text);
    }
  });

  void test("numbers, booleans and null are written as such", () => {
    assert.equal(setValue("f.yaml", "count: 3\n", ["count"], 5), "count: 5\n");
    assert.equal(setValue("f.yaml", "on: false\n", ["on"], true), "on: true\n");
    assert.equal(setValue("f.yaml", "x: 1\n", ["x"], null), "x: null\n");
    assert.equal(setValue("f.yaml", 'x: "3"\n', ["x"], 4), "x: 4\n");
  });

  void test("values inside flow collections keep the flow style and get quoted where flow needs it", () => {
    assert.deepEqual(changedLines(kustomization, setValue("k.yaml", kustomization, ["replicas", { match: "name", equals: "web" }, "count"], 5)), [[19, "  - {name: web, count: 3}   # three per cluster", "  - {name: web, count: 5}   # three per cluster"]]);
    assert.equal(setValue("f.yaml", "a: { b: x, c: y }\n", ["a", "b"], "p, q"), 'a: { b: "p, q", c: y }\n');
  });

  void test("list items by index and by key=value, and keys that need quoting", () => {
    const text = "spec:\n  containers:\n    - name: web\n      image: web:1\n    - name: log\n      image: log:1\ndata:\n  app.properties: a\nargs: [a, b, c]\n";
    assert.equal(setValue("d.yaml", text, ["spec", "containers", { match: "name", equals: "log" }, "image"], "log:2"), text.replace("log:1", "log:2"));
    assert.equal(setValue("d.yaml", text, ["spec", "containers", 0, "image"], "web:2"), text.replace("web:1", "web:2"));
    assert.equal(setValue("d.yaml", text, ["data", "app.properties"], "b"), text.replace("app.properties: a", "app.properties: b"));
    assert.equal(setValue("d.yaml", text, ["args", 1], "z"), text.replace("[a, b, c]", "[a, z, c]"));
  });

  void test("a block scalar keeps its style and indentation", () => {
    const text = "data:\n  script: |\n    echo one\n    echo two\n  other: x\n";
    assert.equal(setValue("c.yaml", text, ["data", "script"], "echo three\n"), "data:\n  script: |\n    echo three\n  other: x\n");
  });

  void test("a value of several lines in a one-line scalar is written on that line, double-quoted", () => {
    const text = "spec:\n  template:\n    command: run # how\n    other: 1\n";
    assert.equal(setValue("d.yaml", text, ["spec", "template", "command"], "a\nb\n"), 'spec:\n  template:\n    command: "a\\nb\\n" # how\n    other: 1\n');
  });

  void test("an empty file or one of comments only gets the value appended", () => {
    assert.equal(setValue("c.yaml", "", ["data", "version"], "1"), 'data:\n  version: "1"\n');
    assert.equal(setValue("c.yaml", "# nothing yet", ["version"], 2), "# nothing yet\nversion: 2\n");
  });

  void test("a key with no value gets one", () => {
    assert.equal(setValue("f.yaml", "newTag:\nother: 1\n", ["newTag"], "1.0.0"), "newTag: 1.0.0\nother: 1\n");
  });

  void test("a missing key is added after its last sibling, at its indentation, comments and blank lines untouched", () => {
    const after = setValue("k.yaml", kustomization, web("digest"), "sha256:0123");
    assert.equal(after, kustomization.replace("newTag: 1.4.0 # the running release\n", "newTag: 1.4.0 # the running release\n    digest: sha256:0123\n"));
    assert.equal(setValue("c.yaml", "data:\n    a: 1\nz: 0\n", ["data", "b"], "x"), "data:\n    a: 1\n    b: x\nz: 0\n");
    assert.equal(setValue("c.yaml", "a:\n  b: 1", ["a", "c"], 2), "a:\n  b: 1\n  c: 2");
    assert.equal(setValue("c.yaml", "a: { b: 1 }\n", ["a", "c"], 2), "a: { b: 1, c: 2 }\n");
    assert.equal(setValue("c.yaml", "a: {}\n", ["a", "c"], 2), "a: {c: 2}\n");
  });

  void test("an image entry that is absent is added at the end of images, in the style of the others", () => {
    const after = setValue("k.yaml", kustomization, ["images", { match: "name", equals: "registry.example.com/api" }, "newTag"], "3.0");
    // The new entry comes after the comment of the last one, and quotes like it does.
    assert.equal(after, kustomization.replace("    # pinned by hand\n", '    # pinned by hand\n  - name: "registry.example.com/api"\n    newTag: "3.0"\n'));
    const unindented = "images:\n- name: a\n  newTag: \"1\"\n";
    assert.equal(setValue("k.yaml", unindented, ["images", { match: "name", equals: "b" }, "newTag"], "2"), `${unindented}- name: b\n  newTag: "2"\n`);
    const flowItems = "images:\n  - { name: a, newTag: '1' }\nz: 1\n";
    assert.equal(setValue("k.yaml", flowItems, ["images", { match: "name", equals: "b" }, "newTag"], "2"), "images:\n  - { name: a, newTag: '1' }\n  - { name: b, newTag: '2' }\nz: 1\n");
    assert.equal(setValue("k.yaml", "images: [{name: a, newTag: x}]\n", ["images", { match: "name", equals: "b" }, "newTag"], "y"), "images: [{name: a, newTag: x}, {name: b, newTag: y}]\n");
  });

  void test("images is created when the kustomization has none, after the last key and in the file's list style", () => {
    const text = "# mine\nresources:\n- ../base # base\n\n# trailing note\n";
    assert.equal(setValue("k.yaml", text, web("newTag"), "1.4.2"), "# mine\nresources:\n- ../base # base\nimages:\n- name: registry.example.com/web\n  newTag: 1.4.2\n\n# trailing note\n");
    assert.equal(setValue("k.yaml", "images:\nresources:\n  - a\n", web("newTag"), "1.0"), 'images:\n  - name: registry.example.com/web\n    newTag: "1.0"\nresources:\n  - a\n');
    assert.equal(setValue("c.yaml", "apiVersion: v1\n", ["data", "version"], "7"), 'apiVersion: v1\ndata:\n  version: "7"\n');
  });

  void test("removing a key removes its line only; switching a tag for a digest keeps the entry in place", () => {
    const withDigest = setValue("k.yaml", kustomization, web("digest"), "sha256:0123");
    const switched = setValue("k.yaml", withDigest, web("newTag"), undefined);
    assert.equal(switched, kustomization.replace("    newTag: 1.4.0 # the running release\n", "    digest: sha256:0123\n"));
    assert.equal(setValue("f.yaml", "m: { newTag: y, digest: d }\n", ["m", "newTag"], undefined), "m: { digest: d }\n");
    assert.equal(setValue("f.yaml", "m: { newTag: y, digest: d }\n", ["m", "digest"], undefined), "m: { newTag: y }\n");
    assert.equal(setValue("f.yaml", "- newTag: y\n  name: a\n  digest: d\n", [0, "newTag"], undefined), "- name: a\n  digest: d\n");
  });

  void test("removing what an edit added removes what it left empty: the entry, then images", () => {
    const added = setValue("k.yaml", kustomization, ["images", { match: "name", equals: "registry.example.com/api" }, "newTag"], "3.0");
    assert.equal(setValue("k.yaml", added, ["images", { match: "name", equals: "registry.example.com/api" }, "newTag"], undefined), kustomization);
    const text = "resources:\n- ../base\n";
    const created = setValue("k.yaml", text, web("newTag"), "1.0.0");
    assert.equal(setValue("k.yaml", created, web("newTag"), undefined), text);
    assert.equal(setValue("c.yaml", "a: 1\ndata:\n  version: 1\nz: 2\n", ["data", "version"], undefined), "a: 1\nz: 2\n");
  });

  void test("removing a value that is not there changes nothing", () => {
    assert.equal(setValue("k.yaml", kustomization, web("digest"), undefined), kustomization);
  });

  void test("refuses multi-document files, invalid YAML, collections, aliases and list indexes it cannot create", () => {
    const refused = (text: string, path: PathSegment[], message: RegExp, reason: string): void => {
      assert.throws(() => setValue("f.yaml", text, path, "x"), (err: unknown) => err instanceof EditError && err.reason === reason && message.test(err.message));
    };
    refused("a: 1\n---\na: 2\n", ["a"], /f\.yaml holds 2 YAML documents/, "multi-document");
    refused("a: [1\n", ["a"], /f\.yaml is not valid YAML/, "invalid-yaml");
    refused("a:\n  b: 1\n", ["a"], /f\.yaml: a cannot be edited: a is a mapping; only single values/, "not-editable");
    refused("a: 1\n", ["a", "b"], /a is the value 1, not a mapping/, "not-editable");
    refused("a: &x 1\nb: *x\n", ["b"], /b is an alias/, "not-editable");
    refused("a: [x]\n", ["a", 3], /a has no item \[3\]/, "not-editable");
  });
});

void describe("editing and reverting, over many random values", () => {
  // Values a plain scalar can hold as they are; the others make a plain scalar quoted, and it stays quoted.
  const plain = ["1.4.0", "v2", "sha256:abc", "x y", "é", "1.5.0-rc.1"];
  const quoted = ["1.10", "a: b", "#x", "'q'", '"d"', "yes", "", "-1", "[x]", "null"];
  const paths: PathSegment[][] = [web("newTag"), sidecar("newTag"), web("digest"), ["images", { match: "name", equals: "new" }, "newTag"], ["labels", "app.kubernetes.io/instance"], ["patches", 0, "path"], ["extra", "key"], ["replicas", { match: "name", equals: "api" }, "count"]];
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  void test("setting any value reads back as that value, and setting the old one back gives the same document", () => {
    for (let i = 0; i < 300; i += 1) {
      const path = paths[random(paths.length)] as PathSegment[];
      const values = random(2) === 0 ? plain : quoted;
      const value = values[random(values.length)] as string;
      const old = readOld(path);
      const edited = setValue("k.yaml", kustomization, path, value);
      const what = `${JSON.stringify(path)} = ${JSON.stringify(value)}`;
      assert.equal(getIn(parse(edited), path), value, `${what}:\n${edited}`);
      assert.equal(changedLines(kustomization, edited.replace(/\n {2}- name: new\n {4}newTag: .*\n|\nextra:\n {2}key: .*\n|, \{name: api, count: .*\}/, "\n").replace(/\n\n$/, "\n")).length <= 1, true, what);
      const back = setValue("k.yaml", edited, path, old);
      assert.deepEqual(parse(back), parse(kustomization), `${what} and back:\n${back}`);
      if (values === plain) assert.equal(back, kustomization, `${what} and back, byte for byte`);
    }
  });
});

function readOld(path: PathSegment[]): string | undefined {
  const value = getIn(parse(kustomization), path);
  if (typeof value === "number") return String(value);
  return typeof value === "string" ? value : undefined;
}

function getIn(value: unknown, path: readonly PathSegment[]): unknown {
  let node = value;
  for (const segment of path) {
    if (node === null || typeof node !== "object") return undefined;
    if (typeof segment === "object") node = (node as Array<Record<string, unknown>>).find((item) => item[segment.match] === segment.equals);
    else node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}
