import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { fieldPath, findTemplates, parseTemplate, referencedNames, substituteObject } from "./substitute.js";
import { clusterLabelVariable, clusterVariables, variableNameProblem, type VariableLookup } from "../fleet/index.js";

const lookupOf =
  (values: Record<string, string>): VariableLookup =>
  (name) =>
    Object.hasOwn(values, name) ? { kind: "value", value: values[name] ?? "" } : { kind: "undefined" };

/** Substitutes in a copy of `object` and returns it, failing the test on problems. */
function expand<T>(object: T, values: Record<string, string>): T {
  const found = findTemplates(object);
  assert.deepEqual(found.problems, []);
  const result = substituteObject(object, found.fields, lookupOf(values));
  assert.ok(result.ok, `substitution failed: ${result.ok ? "" : JSON.stringify(result.problems)}`);
  return result.object;
}

void describe("variable substitution", () => {
  void test("${name} is replaced by the value, anywhere in a string and more than once", () => {
    const out = expand({ a: "${x}", b: "pre-${x}-${y}-post", c: "${x}${x}" }, { x: "1", y: "two" });
    assert.deepEqual(out, { a: "1", b: "pre-1-two-post", c: "11" });
  });

  void test("${name:=default} uses the default when the variable is undefined or empty, the value otherwise", () => {
    const object = { a: "${x:=fallback}", b: "${y:=fallback}", c: "${z:=fallback}", d: "${x:=}", e: "${w:=a:=b}" };
    assert.deepEqual(expand(object, { x: "set", y: "" }), { a: "set", b: "fallback", c: "fallback", d: "set", e: "a:=b" });
  });

  void test("$${name} is the literal text ${name}; other dollars stay as they are", () => {
    const object = { a: "$${x}", b: "cost: $5, $HOME, $$, $", c: "$${x:=d} and ${x}" };
    assert.deepEqual(expand(object, { x: "1" }), { a: "${x}", b: "cost: $5, $HOME, $$, $", c: "${x:=d} and 1" });
  });

  void test("a substituted value is not substituted again", () => {
    assert.deepEqual(expand({ a: "${x}" }, { x: "${y}", y: "no" }), { a: "${y}" });
  });

  void test("only string values change: keys, numbers and booleans are left alone, and the input is not modified", () => {
    const object = { "${x}": "${x}", n: 3, t: true, z: null, list: ["${x}", 1, { deep: "${x}" }] };
    const out = expand(object, { x: "v" });
    assert.deepEqual(out, { "${x}": "v", n: 3, t: true, z: null, list: ["v", 1, { deep: "v" }] });
    assert.equal(object.list[0], "${x}", "the rendered object is shared by other clusters and must stay as it was");
  });

  void test("a value that looks like a number stays a string", () => {
    assert.deepEqual(expand({ replicas: "${replicas}" }, { replicas: "3" }), { replicas: "3" });
  });

  void test("an undefined variable without a default is a problem naming the field", () => {
    const object = { metadata: { name: "web", annotations: { "example.com/owner": "${owner}" } }, spec: { containers: [{ image: "web:${tag}" }] } };
    const found = findTemplates(object);
    const result = substituteObject(object, found.fields, lookupOf({}));
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((p) => fieldPath(p.path)),
      ['metadata.annotations["example.com/owner"]', "spec.containers[0].image"],
    );
    assert.match(result.problems[0]?.message ?? "", /^variable owner is not defined; .*\$\{owner:=value\}.*\$\$\{owner\} for a literal/);
  });

  void test("malformed references are problems found before any cluster", () => {
    const found = findTemplates({ a: "${unclosed", b: "${not-a-name}", c: "${}", d: "${ x }", e: "fine ${x}" });
    assert.deepEqual(found.problems.map((p) => fieldPath(p.path)), ["a", "b", "c", "d"]);
    assert.match(found.problems[0]?.message ?? "", /"\$\{unclosed" has no closing "\}"; write \$\$\{ for a literal \$\{/);
    assert.match(found.problems[1]?.message ?? "", /"\$\{not-a-name\}" is not a variable reference/);
    assert.deepEqual(found.fields.map((f) => f.path), [["e"]]);
  });

  void test("parses text into literal parts and references", () => {
    assert.deepEqual(parseTemplate("a${x}b${y:=z}$${c}"), { ok: true, parts: ["a", { name: "x", default: undefined }, "b", { name: "y", default: "z" }, "${c}"] });
    assert.deepEqual(parseTemplate(""), { ok: true, parts: [""] });
  });

  void test("lists the variables an object refers to, once each, sorted", () => {
    assert.deepEqual(referencedNames(findTemplates({ a: "${b}${a}", c: ["${a:=1}", "$${skip}"] }).fields), ["a", "b"]);
  });

  void test("field paths quote keys that are not identifiers", () => {
    assert.equal(fieldPath(["spec", "template", "metadata", "labels", "app.kubernetes.io/name"]), 'spec.template.metadata.labels["app.kubernetes.io/name"]');
    assert.equal(fieldPath(["data", "my-key", 2]), "data.my-key[2]");
  });
});

void describe("cluster variables", () => {
  const cluster = {
    id: "c1",
    name: "prod-eu-1",
    labels: { env: "prod", "topology.kubernetes.io/region": "eu-west-1", tier: "" },
    variables: { replicas: "5" },
  };

  void test("cluster_name and cluster_label_<key> come from the cluster; the key's other characters become _", () => {
    const lookup = clusterVariables(cluster, {});
    assert.deepEqual(lookup("cluster_name"), { kind: "value", value: "prod-eu-1" });
    assert.deepEqual(lookup("cluster_label_env"), { kind: "value", value: "prod" });
    assert.equal(clusterLabelVariable("topology.kubernetes.io/region"), "cluster_label_topology_kubernetes_io_region");
    assert.deepEqual(lookup("cluster_label_topology_kubernetes_io_region"), { kind: "value", value: "eu-west-1" });
    assert.deepEqual(lookup("cluster_label_tier"), { kind: "value", value: "" });
    assert.deepEqual(lookup("cluster_label_missing"), { kind: "undefined" });
  });

  void test("a cluster's own variables override the target's", () => {
    const lookup = clusterVariables(cluster, { replicas: "3", image: "web:1" });
    assert.deepEqual(lookup("replicas"), { kind: "value", value: "5" });
    assert.deepEqual(lookup("image"), { kind: "value", value: "web:1" });
    assert.deepEqual(lookup("toString"), { kind: "undefined" }, "names are own properties, not the prototype's");
  });

  void test("two labels that map to the same name make it ambiguous, which substitution reports", () => {
    const lookup = clusterVariables({ id: "c", name: "c", labels: { "a.b": "1", a_b: "2" } }, {});
    assert.deepEqual(lookup("cluster_label_a_b"), { kind: "ambiguous", labels: ["a.b", "a_b"] });
    const found = findTemplates({ x: "${cluster_label_a_b:=d}" });
    const result = substituteObject({ x: "${cluster_label_a_b:=d}" }, found.fields, lookup);
    assert.ok(!result.ok);
    assert.match(result.problems[0]?.message ?? "", /variable cluster_label_a_b is ambiguous: labels a\.b and a_b/);
  });

  void test("user variable names are shell-like and may not take the built-in ones", () => {
    assert.equal(variableNameProblem("image_tag"), undefined);
    assert.equal(variableNameProblem("_x1"), undefined);
    assert.match(variableNameProblem("1x") ?? "", /must start with a letter/);
    assert.match(variableNameProblem("image-tag") ?? "", /must start with a letter or '_' and hold only/);
    assert.match(variableNameProblem("cluster_name") ?? "", /is reserved/);
    assert.match(variableNameProblem("cluster_label_env") ?? "", /is reserved/);
  });
});
