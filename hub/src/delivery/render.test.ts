import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { RenderError } from "./errors.js";
import { renderFingerprint, renderPlainDirectory, type RenderRequest } from "./render.js";

function files(entries: Record<string, string | Uint8Array>): Map<string, Uint8Array> {
  return new Map(Object.entries(entries).map(([path, content]) => [path, typeof content === "string" ? new TextEncoder().encode(content) : content]));
}

function request(entries: Record<string, string | Uint8Array>, extra: Partial<RenderRequest> = {}): RenderRequest {
  return { bundle: "web", path: "apps/web", namespace: undefined, files: files(entries), ...extra };
}

/** The fields of a rendered object these tests look at. */
interface Decoded {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, unknown>;
}

/** The rendered objects, decoded. */
function objects(req: RenderRequest): Decoded[] {
  return renderPlainDirectory(req).objects.map((o) => JSON.parse(new TextDecoder().decode(o.json)) as Decoded);
}

function renderError(req: RenderRequest): RenderError {
  try {
    renderPlainDirectory(req);
  } catch (err) {
    assert.ok(err instanceof RenderError, `expected a RenderError, got ${String(err)}`);
    return err;
  }
  assert.fail("the bundle rendered");
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

  void test("namespaced objects without a namespace get the bundle's; cluster-scoped kinds and explicit namespaces are kept", () => {
    const rendered = objects(
      request(
        {
          "apps/web/a.yaml": [
            cm("defaulted"),
            cm("explicit", "  namespace: other\n"),
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
          ].join("---\n"),
        },
        { namespace: "web" },
      ),
    );
    const ns = Object.fromEntries(rendered.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.namespace]));
    assert.deepEqual(ns, {
      "ConfigMap/defaulted": "web",
      "ConfigMap/explicit": "other",
      "Namespace/web": undefined,
      "ClusterRole/reader": undefined,
      "CustomResourceDefinition/widgets.example.com": undefined,
      "Widget/w": "web",
    });
  });

  void test("without a bundle namespace, objects are left as written", () => {
    const [object] = objects(request({ "apps/web/a.yaml": cm("plain") }));
    assert.equal(object?.metadata.namespace, undefined);
  });

  void test("refuses two objects with the same group, kind, namespace and name, naming both places", () => {
    const err = renderError(request({ "apps/web/a.yaml": cm("dup"), "apps/web/b.yaml": `${cm("other")}---\n${cm("dup")}` }));
    assert.equal(err.reason, "object-duplicate");
    assert.equal(err.file, "apps/web/b.yaml");
    assert.equal(err.document, 2);
    assert.match(err.message, /ConfigMap dup is defined twice: apps\/web\/a\.yaml:1 \(document 1\) and apps\/web\/b\.yaml:6 \(document 2\)/);
  });

  void test("finds duplicates after namespace defaulting, and allows the same name in another kind or namespace", () => {
    const err = renderError(request({ "apps/web/a.yaml": `${cm("x")}---\n${cm("x", "  namespace: web\n")}` }, { namespace: "web" }));
    assert.match(err.message, /ConfigMap web\/x is defined twice/);
    const ok = objects(
      request({
        "apps/web/a.yaml": `${cm("x")}---\n${cm("x", "  namespace: b\n")}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n`,
      }),
    );
    assert.equal(ok.length, 3);
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

  void test("refuses a missing folder, a folder without manifests, and manifests without objects", () => {
    assert.equal(renderError(request({ "apps/api/a.yaml": cm("a") })).reason, "bundle-path-missing");
    assert.match(renderError(request({ "apps/api/a.yaml": cm("a") })).message, /folder apps\/web does not exist/);
    assert.equal(renderError(request({ "apps/web/README.md": "hi" })).reason, "no-objects");
    assert.equal(renderError(request({ "apps/web/a.yaml": "---\n# nothing\n" })).reason, "no-objects");
  });

  void test("refuses kustomizations until kustomize rendering exists", () => {
    const err = renderError(request({ "apps/web/kustomization.yaml": "resources: [a.yaml]\n", "apps/web/a.yaml": cm("a") }));
    assert.match(err.message, /kustomize bundles are not supported yet/);
  });

  void test("a bundle at the repository root does not apply fleet.yaml", () => {
    const rendered = objects(request({ "fleet.yaml": "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles: []\n", "a.yaml": cm("a") }, { path: "" }));
    assert.deepEqual(
      rendered.map((o) => o.metadata.name),
      ["a"],
    );
  });

  void test("the fingerprint changes with the bundle's files and options, not with other files", () => {
    const base = { "apps/web/a.yaml": cm("a"), "apps/api/a.yaml": cm("b") };
    const fp = renderFingerprint(request(base));
    assert.equal(renderFingerprint(request({ ...base, "apps/api/a.yaml": cm("c") })), fp);
    assert.notEqual(renderFingerprint(request({ ...base, "apps/web/a.yaml": cm("c") })), fp);
    assert.notEqual(renderFingerprint(request({ ...base, "apps/web/notes.txt": "x" })), fp);
    assert.notEqual(renderFingerprint(request(base, { namespace: "web" })), fp);
  });
});
