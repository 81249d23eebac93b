import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { bundleObjects, prepareOverlay, substitutionCandidates, type BundleObjectsOptions, type RenderedObject } from "./bundle-objects.js";
import { RenderError } from "../errors.js";
import type { KubeObject } from "./manifests.js";
import { clusterVariables } from "../fleet/index.js";

const cm = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, ...extra });
const cluster = { id: "c1", name: "eu-1", labels: { region: "eu" } };
const lookup = clusterVariables(cluster, { color: "blue" });

/** The bundle's objects for `cluster`, decoded; substitution on unless `substitute` says otherwise. */
function decoded(objects: KubeObject[], namespace?: string, sources?: string[], options: Partial<BundleObjectsOptions> = {}): KubeObject[] {
  return bundleObjects(prepareOverlay({ objects, inputs: [], sources }), { namespace, lookup, substitute: true, allowEmpty: false, ...options }).map(decode);
}

function decode(object: RenderedObject): KubeObject {
  return JSON.parse(new TextDecoder().decode(object.json)) as KubeObject;
}

function refused(objects: KubeObject[], options: { namespace?: string; sources?: string[]; substitute?: boolean } = {}): RenderError {
  try {
    bundleObjects(prepareOverlay({ objects, inputs: [], sources: options.sources }), { namespace: options.namespace, lookup, substitute: options.substitute ?? true, allowEmpty: false });
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

  void test("without substitution every object is kept as rendered, ${...} and $${...} included, and no variable is looked up", () => {
    const objects = [cm("web-${cluster_name}", { data: { owner: "${owner}", literal: "$${color}", script: "${HOSTNAME##*-}" } })];
    const lookups: string[] = [];
    const spy = (name: string) => (lookups.push(name), lookup(name));
    const [object] = bundleObjects(prepareOverlay({ objects, inputs: [] }), { namespace: undefined, lookup: spy, substitute: false, allowEmpty: false }).map(decode);
    assert.deepEqual(object, objects[0]);
    assert.deepEqual(lookups, []);
  });

  void test("an object annotated gitfleet.dev/substitute: disabled is kept as written; a wrong value fails only where substitution is on", () => {
    const disabled = cm("scripts", { metadata: { name: "scripts", annotations: { "gitfleet.dev/substitute": "disabled" } }, data: { run: "echo ${PORT} ${color}" } });
    const [kept, substituted] = decoded([disabled, cm("settings", { data: { color: "${color}" } })]);
    assert.deepEqual(kept, disabled);
    assert.deepEqual(substituted?.["data"], { color: "blue" });
    const typo = cm("scripts", { metadata: { name: "scripts", annotations: { "gitfleet.dev/substitute": "off" } } });
    const err = refused([typo], { sources: ["apps/web/s.yaml:1 (document 1)"] });
    assert.equal(err.reason, "variable-invalid");
    assert.match(err.message, /^ConfigMap scripts \(apps\/web\/s\.yaml:1 \(document 1\)\): metadata\.annotations\["gitfleet\.dev\/substitute"\]: must be "disabled"/);
    assert.equal(decoded([typo], undefined, undefined, { substitute: false }).length, 1);
  });

  void test("unquoted single references become typed values for the cluster", () => {
    const overlay = prepareOverlay({ objects: [{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { replicas: "${replicas}", paused: "${paused:=false}" } }], inputs: [], unquoted: [[["spec", "replicas"], ["spec", "paused"]]] });
    const [object] = bundleObjects(overlay, { namespace: undefined, lookup: clusterVariables(cluster, { replicas: "3" }), substitute: true, allowEmpty: false }).map(decode);
    assert.deepEqual(object?.["spec"], { replicas: 3, paused: false });
  });

  void test("lists what only substitution would change, for targets without it", () => {
    const overlay = prepareOverlay({
      objects: [cm("a", { data: { x: "${cluster_name}", y: "${HOME}", z: "$${kept}", s: "${1}" } }), cm("b", { metadata: { name: "b", annotations: { "gitfleet.dev/substitute": "disabled" } }, data: { x: "${cluster_name}" } })],
      inputs: [],
      sources: ["a.yaml:1 (document 1)", "b.yaml:1 (document 1)"],
    });
    assert.deepEqual(substitutionCandidates(overlay, (name) => name === "cluster_name"), ["ConfigMap a (a.yaml:1 (document 1)): data.x: holds ${cluster_name}", "ConfigMap a (a.yaml:1 (document 1)): data.z: holds a $${...} escape"]);
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

  void test("refuses an overlay without objects, naming allowEmpty; a bundle with allowEmpty gets none", () => {
    const err = refused([]);
    assert.equal(err.reason, "no-objects");
    assert.match(err.message, /renders no objects.*delete every object.*set allowEmpty: true on the bundle in fleet\.yaml/);
    assert.deepEqual(decoded([], undefined, undefined, { allowEmpty: true }), []);
  });
});
