import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { bundleObjects, prepareOverlay, type RenderedObject } from "./bundle-objects.js";
import { RenderError } from "../errors.js";
import type { KubeObject } from "./manifests.js";
import { clusterVariables } from "../fleet/index.js";

const cm = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, ...extra });
const cluster = { id: "c1", name: "eu-1", labels: { region: "eu" } };
const lookup = clusterVariables(cluster, { color: "blue" });

/** The bundle's objects for `cluster`, decoded. */
function decoded(objects: KubeObject[], namespace?: string, sources?: string[]): KubeObject[] {
  return bundleObjects(prepareOverlay({ objects, inputs: [], sources }), { namespace, lookup }).map(decode);
}

function decode(object: RenderedObject): KubeObject {
  return JSON.parse(new TextDecoder().decode(object.json)) as KubeObject;
}

function refused(objects: KubeObject[], options: { namespace?: string; sources?: string[] } = {}): RenderError {
  try {
    bundleObjects(prepareOverlay({ objects, inputs: [], sources: options.sources }), { namespace: options.namespace, lookup });
  } catch (err) {
    assert.ok(err instanceof RenderError, `expected a RenderError, got ${String(err)}`);
    return err;
  }
  assert.fail("the objects were accepted");
}

const metadataOf = (o: KubeObject): { name: string; namespace?: string } => o["metadata"] as { name: string; namespace?: string };

void describe("a bundle's objects for one cluster", () => {
  void test("namespaced objects without a namespace get the bundle's; cluster-scoped kinds and explicit namespaces are kept", () => {
    const rendered = decoded(
      [
        cm("defaulted"),
        cm("explicit", { metadata: { name: "explicit", namespace: "other" } }),
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "web" } },
        { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "reader" } },
        { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "widgets.example.com" } },
        { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } },
      ],
      "web",
    );
    assert.deepEqual(
      Object.fromEntries(rendered.map((o) => [`${String(o["kind"])}/${metadataOf(o).name}`, metadataOf(o).namespace])),
      {
        "ConfigMap/defaulted": "web",
        "ConfigMap/explicit": "other",
        "Namespace/web": undefined,
        "ClusterRole/reader": undefined,
        "CustomResourceDefinition/widgets.example.com": undefined,
        "Widget/w": "web",
      },
    );
  });

  void test("without a bundle namespace, objects are left as written", () => {
    assert.equal(metadataOf(decoded([cm("plain")])[0] ?? {}).namespace, undefined);
  });

  void test("substitutes the cluster's variables in string values, and keeps the rendered objects unchanged", () => {
    const objects = [cm("web-${cluster_name}", { data: { region: "${cluster_label_region}", color: "${color}", size: "${size:=m}", literal: "$${color}" } })];
    const [object] = decoded(objects);
    assert.deepEqual(object, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web-eu-1" }, data: { region: "eu", color: "blue", size: "m", literal: "${color}" } });
    assert.equal(metadataOf(objects[0] ?? {}).name, "web-${cluster_name}");
  });

  void test("an undefined variable fails the bundle, naming every object and field at fault", () => {
    const err = refused(
      [cm("a", { data: { owner: "${owner}" } }), cm("b", { metadata: { name: "b", namespace: "x", labels: { "app.kubernetes.io/tier": "${tier}" } } })],
      { sources: ["apps/web/a.yaml:1 (document 1)", "apps/web/b.yaml:1 (document 1)"] },
    );
    assert.equal(err.reason, "variable-undefined");
    assert.match(err.message, /^ConfigMap a \(apps\/web\/a\.yaml:1 \(document 1\)\): data\.owner: variable owner is not defined; /);
    assert.match(err.message, /; ConfigMap x\/b \(apps\/web\/b\.yaml:1 \(document 1\)\): metadata\.labels\["app\.kubernetes\.io\/tier"\]: variable tier is not defined/);
  });

  void test("a malformed reference fails the overlay on every cluster, before any lookup", () => {
    const overlay = prepareOverlay({ objects: [cm("a", { data: { x: "${oops" } })], inputs: [] });
    assert.equal(overlay.problem?.reason, "variable-invalid");
    assert.match(overlay.problem?.message ?? "", /^ConfigMap a: data\.x: "\$\{oops" has no closing "\}"/);
  });

  void test("lists the variables the overlay needs, so clusters that agree on them share one result", () => {
    const overlay = prepareOverlay({ objects: [cm("a", { data: { x: "${b}", y: "${a:=1}" } }), cm("c")], inputs: [] });
    assert.deepEqual(overlay.names, ["a", "b"]);
  });

  void test("refuses two objects with the same group, kind, namespace and name, naming both places", () => {
    const err = refused([cm("dup"), cm("other"), cm("dup")], { sources: ["apps/web/a.yaml:1 (document 1)", "apps/web/b.yaml:1 (document 1)", "apps/web/b.yaml:6 (document 2)"] });
    assert.equal(err.reason, "object-duplicate");
    assert.match(err.message, /ConfigMap dup is defined twice: apps\/web\/a\.yaml:1 \(document 1\) and apps\/web\/b\.yaml:6 \(document 2\)/);
  });

  void test("finds duplicates after namespace defaulting and substitution, and allows the same name in another kind or namespace", () => {
    assert.match(refused([cm("x"), cm("x", { metadata: { name: "x", namespace: "web" } })], { namespace: "web" }).message, /ConfigMap web\/x is defined twice: object 1 of the overlay and object 2/);
    assert.match(refused([cm("web-eu-1"), cm("web-${cluster_name}")]).message, /ConfigMap web-eu-1 is defined twice/);
    assert.equal(decoded([cm("x"), cm("x", { metadata: { name: "x", namespace: "b" } }), { apiVersion: "v1", kind: "Secret", metadata: { name: "x" } }]).length, 3);
  });

  void test("checks objects from any renderer: apiVersion, kind, metadata.name, also after substitution", () => {
    assert.match(refused([{ kind: "ConfigMap", metadata: { name: "a" } }]).message, /^ConfigMap a: apiVersion is missing/);
    assert.match(refused([{ apiVersion: "v1", metadata: { name: "a" } }]).message, /kind is missing/);
    assert.match(refused([{ apiVersion: "v1", kind: "ConfigMap" }]).message, /metadata is missing/);
    assert.match(refused([cm("${empty:=}")]).message, /metadata\.name is missing, empty or not a string/);
    assert.match(refused([cm("a", { metadata: { name: "a", namespace: 3 } })]).message, /metadata\.namespace must be a string/);
    assert.equal(refused([cm("a", { apiVersion: 1 })]).reason, "object-invalid");
  });

  void test("refuses an overlay without objects: the agent would prune everything", () => {
    assert.equal(refused([]).reason, "no-objects");
  });
});
