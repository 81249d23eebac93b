import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { RenderError } from "../errors.js";
import { renderPlainDirectory } from "./plain-directory.js";

function files(entries: Record<string, string | Uint8Array>): Map<string, Uint8Array> {
  return new Map(Object.entries(entries).map(([path, content]) => [path, typeof content === "string" ? new TextEncoder().encode(content) : content]));
}

interface Request {
  entries: Record<string, string | Uint8Array>;
  dir: string;
}

function request(entries: Record<string, string | Uint8Array>, extra: Partial<Request> = {}): Request {
  return { entries, dir: "apps/web", ...extra };
}

/** The fields of a rendered object these tests look at. */
interface Decoded {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, unknown>;
}

/** The rendered objects. */
function objects(req: Request): Decoded[] {
  return renderPlainDirectory(files(req.entries), req.dir).objects as unknown as Decoded[];
}

function renderError(req: Request): RenderError {
  try {
    renderPlainDirectory(files(req.entries), req.dir);
  } catch (err) {
    assert.ok(err instanceof RenderError, `expected a RenderError, got ${String(err)}`);
    return err;
  }
  assert.fail("the folder rendered");
}

const cm = (name: string, extra = ""): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

void describe("plain folder rendering", () => {
  void test("reads .yaml, .yml and .json files under the path, sorted by path, documents in order", () => {
    const rendered = objects(
      request({
        "apps/web/z.yaml": cm("z"),
        "apps/web/b/c.yml": `${cm("c1")}---\n${cm("c2")}`,
        "apps/web/a.json": JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } }),
        "apps/web/README.md": "# not a manifest",
        "apps/webby/x.yaml": cm("not-in-bundle"),
        "apps/other.yaml": cm("not-in-bundle-either"),
      }),
    );
    assert.deepEqual(
      rendered.map((o) => o.metadata.name),
      ["a", "c1", "c2", "z"],
    );
  });

  void test("skips empty and comment-only documents, and hidden folders", () => {
    const rendered = objects(
      request({
        "apps/web/all.yaml": `---\n# just a comment\n---\n${cm("one")}---\n---\n${cm("two")}\n---\n`,
        "apps/web/.github/ci.yaml": "name: ci\n",
      }),
    );
    assert.deepEqual(
      rendered.map((o) => o.metadata.name),
      ["one", "two"],
    );
  });

  void test("flattens a v1 List", () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n  - ${cm("x").replace(/\n/g, "\n    ")}\n  - apiVersion: v1\n    kind: Secret\n    metadata: { name: second }\n`;
    assert.deepEqual(
      objects(request({ "apps/web/list.yaml": list })).map((o) => `${o.kind}/${o.metadata.name}`),
      ["ConfigMap/x", "Secret/second"],
    );
  });

  void test("reads YAML the way kubectl does: 0644 is octal, timestamps stay strings", () => {
    const [object] = objects(request({ "apps/web/cm.yaml": cm("modes", "data:\n  when: 2024-01-02\n  mode: 0644\n") }));
    assert.equal(object?.data?.["mode"], 420);
    assert.equal(object?.data?.["when"], "2024-01-02");
  });

  const missing: Array<{ name: string; doc: string; message: RegExp }> = [
    { name: "apiVersion", doc: "kind: ConfigMap\nmetadata:\n  name: a\n", message: /apiVersion is missing/ },
    { name: "kind", doc: "apiVersion: v1\nmetadata:\n  name: a\n", message: /kind is missing/ },
    { name: "metadata", doc: "apiVersion: v1\nkind: ConfigMap\n", message: /metadata is missing/ },
    { name: "metadata.name", doc: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: a-\n", message: /metadata\.name is missing/ },
    { name: "a mapping", doc: "- just\n- a list\n", message: /must be a Kubernetes object \(a mapping\); got a list/ },
  ];
  for (const c of missing) {
    void test(`refuses an object without ${c.name}, naming file, document and line`, () => {
      const err = renderError(request({ "apps/web/a.yaml": `${cm("first")}---\n${c.doc}` }));
      assert.equal(err.reason, "object-invalid");
      assert.equal(err.file, "apps/web/a.yaml");
      assert.equal(err.document, 2);
      assert.equal(err.line, 6);
      assert.match(err.message, /^apps\/web\/a\.yaml:6 \(document 2\): /);
      assert.match(err.message, c.message);
    });
  }

  void test("refuses invalid YAML, naming the file, the document and the line", () => {
    const err = renderError(request({ "apps/web/ok.yaml": cm("ok"), "apps/web/bad.yaml": `${cm("a")}---\napiVersion: v1\nkind: [ConfigMap\n` }));
    assert.equal(err.reason, "manifest-invalid");
    assert.equal(err.file, "apps/web/bad.yaml");
    assert.equal(err.document, 2);
    assert.match(err.message, /^apps\/web\/bad\.yaml:\d+ \(document 2\): invalid YAML: /);
  });

  void test("refuses a file that is not UTF-8", () => {
    const err = renderError(request({ "apps/web/bin.yaml": new Uint8Array([0xff, 0xfe, 0x00]) }));
    assert.match(err.message, /^apps\/web\/bin\.yaml: is not valid UTF-8/);
  });

  void test("refuses a missing folder; a folder without manifests or objects renders none (the bundle decides if that is allowed)", () => {
    assert.equal(renderError(request({ "apps/api/a.yaml": cm("a") })).reason, "bundle-path-missing");
    assert.match(renderError(request({ "apps/api/a.yaml": cm("a") })).message, /folder apps\/web does not exist/);
    assert.deepEqual(objects(request({ "apps/web/.gitkeep": "" })), []);
    assert.deepEqual(objects(request({ "apps/web/README.md": "hi" })), []);
    assert.deepEqual(objects(request({ "apps/web/a.yaml": "---\n# nothing\n" })), []);
  });

  void test("refuses a kustomization below the folder, saying where to point the overlay", () => {
    const err = renderError(request({ "apps/web/overlays/eu/kustomization.yaml": "resources: [a.yaml]\n", "apps/web/a.yaml": cm("a") }));
    assert.equal(err.file, "apps/web/overlays/eu/kustomization.yaml");
    assert.match(err.message, /a kustomization below the plain folder apps\/web; point the target's overlay at apps\/web\/overlays\/eu/);
  });

  void test("says where each object came from, and that it read the whole folder", () => {
    const rendered = renderPlainDirectory(files({ "apps/web/a.yaml": `${cm("a")}---\n${cm("b")}`, "apps/web/l.yaml": `apiVersion: v1\nkind: List\nitems:\n  - ${cm("x").replace(/\n/g, "\n    ")}\n` }), "apps/web");
    assert.deepEqual(rendered.sources, ["apps/web/a.yaml:1 (document 1)", "apps/web/a.yaml:6 (document 2)", "apps/web/l.yaml:1 (document 1) items[0]"]);
    assert.deepEqual(rendered.inputs, ["apps/web/"]);
  });

  void test("a bundle at the repository root does not apply fleet.yaml", () => {
    const rendered = objects(request({ "fleet.yaml": "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles: []\n", "a.yaml": cm("a") }, { dir: "" }));
    assert.deepEqual(
      rendered.map((o) => o.metadata.name),
      ["a"],
    );
  });
});
