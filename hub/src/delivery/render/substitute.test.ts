import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { fieldPath, findTemplates, optsOut, parseTemplate, referencedNames, substituteObject } from "./substitute.js";
import { parseManifestFile, unquotedScalar, type FieldPath } from "./manifests.js";
import { clusterLabelVariable, clusterVariables, variableNameProblem, type VariableLookup } from "../fleet/index.js";

const lookupOf =
  (values: Record<string, string>): VariableLookup =>
  (name) =>
    Object.hasOwn(values, name) ? { kind: "value", value: values[name] ?? "" } : { kind: "undefined" };

/** Substitutes in a copy of `object` and returns it, failing the test on problems. */
function expand<T>(object: T, values: Record<string, string>, unquoted: readonly FieldPath[] = []): T {
  const result = substituteObject(object, findTemplates(object, unquoted), lookupOf(values));
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

  void test("$${name} and $${name:=default} are the literal text without the first $; other dollars stay as they are", () => {
    const object = { a: "$${x}", b: "cost: $5, $HOME, $$, $", c: "$${x:=d} and ${x}", d: "$${HOSTNAME##*-} $$ ${x}" };
    assert.deepEqual(expand(object, { x: "1" }), { a: "${x}", b: "cost: $5, $HOME, $$, $", c: "${x:=d} and 1", d: "$${HOSTNAME##*-} $$ 1" });
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

  void test("shell and template forms that are not references are text, never refused", () => {
    const script = [
      "#!/bin/sh",
      'INDEX="${HOSTNAME##*-}"',
      'BASE="${FILE%.*}" FIRST="${1}" COUNT="${#HOSTS[@]}" UPPER="${NAME^^}" ALT="${PORT:-6379}" SUB="${PATH/bin/sbin}"',
      'echo "$1 $host $(date) $((1 + 2)) ${ $} ${} ${not-a-name} ${ x } ${unclosed"',
    ].join("\n");
    const object = { script, relabel: "${1}:9115", nginx: "proxy_set_header Host $host;", grafana: "$__interval" };
    assert.deepEqual(findTemplates(object), [], "nothing to substitute");
    assert.deepEqual(expand(object, {}), object);
  });

  void test("an unquoted single reference takes the YAML type of its value; a quoted one and a reference inside text stay strings", () => {
    const object = { replicas: "${replicas}", quoted: "${replicas}", text: "n=${replicas}", enabled: "${flag}", ratio: "${ratio:=0.5}", name: "${name}" };
    const unquoted = [["replicas"], ["text"], ["enabled"], ["ratio"], ["name"]];
    assert.deepEqual(expand(object, { replicas: "3", flag: "true", name: "web" }, unquoted), { replicas: 3, quoted: "3", text: "n=3", enabled: true, ratio: 0.5, name: "web" });
  });

  void test("typed values read as YAML 1.1, like kubectl; null, non-finite and unsafe numbers, and text with more in it stay strings", () => {
    const cases: Array<[string, unknown]> = [
      ["3", 3], ["-2", -2], ["0.25", 0.25], ["1e3", 1000], ["0644", 420], ["0x1F", 31], ["true", true], ["False", false], ["yes", true], ["off", false],
      ["", ""], ["null", "null"], ["~", "~"], [".inf", ".inf"], ["12345678901234567890", "12345678901234567890"],
      ["3 # comment", "3 # comment"], [" 3", " 3"], ["1.2.3", "1.2.3"], ["2024-01-01", "2024-01-01"], ["[1, 2]", "[1, 2]"], ["a: b", "a: b"], ["3\n4", "3\n4"], ["!!str 3", "!!str 3"],
      ["+1", 1], [".5", 0.5], ["1_000", 1000], ["ON", true], ["No", false], ["web-1", "web-1"], ["eu", "eu"], ["nginx:1.27", "nginx:1.27"], ["Yesterday", "Yesterday"],
    ];
    for (const [text, expected] of cases) assert.deepEqual(unquotedScalar(text), expected, JSON.stringify(text));
  });

  void test("the parser notes unquoted single references, through lists, aliases and merge keys; quoted, tagged, block and JSON ones are not", () => {
    const yaml = [
      "apiVersion: v1",
      "kind: List",
      "items:",
      "  - apiVersion: apps/v1",
      "    kind: Deployment",
      "    metadata: { name: web }",
      "    spec:",
      "      replicas: ${replicas}",
      '      quoted: "${replicas}"',
      "      single: '${replicas}'",
      "      tagged: !!str ${replicas}",
      "      text: x-${replicas}",
      "      block: |",
      "        ${replicas}",
      "      base: &base",
      "        port: ${port:=80}",
      "      copy:",
      "        <<: *base",
      "      list:",
      "        - ${a}",
      "      ${key}: value",
      "",
    ].join("\n");
    const [parsed] = parseManifestFile("list.yaml", new TextEncoder().encode(yaml));
    assert.deepEqual(parsed?.unquoted, [["spec", "replicas"], ["spec", "base", "port"], ["spec", "copy", "port"], ["spec", "list", 0]]);
    assert.equal((parsed?.object["spec"] as Record<string, unknown>)["replicas"], "${replicas}", "the value itself is the text");
    const [json] = parseManifestFile("cm.json", new TextEncoder().encode('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "${x}"}}'));
    assert.deepEqual(json?.unquoted, []);
  });

  void test("an object opts out with gitfleet.dev/substitute: disabled; any other value is a problem", () => {
    const annotated = (value: unknown) => ({ metadata: { name: "a", annotations: { "gitfleet.dev/substitute": value } } });
    assert.deepEqual(optsOut(annotated("disabled")), { ok: true, disabled: true });
    assert.deepEqual(optsOut({ metadata: { name: "a" } }), { ok: true, disabled: false });
    const typo = optsOut(annotated("disable"));
    assert.ok(!typo.ok);
    assert.equal(fieldPath(typo.problem.path), 'metadata.annotations["gitfleet.dev/substitute"]');
    assert.match(typo.problem.message, /must be "disabled"/);
  });

  void test("an undefined variable without a default is a problem naming the field", () => {
    const object = { metadata: { name: "web", annotations: { "example.com/owner": "${owner}" } }, spec: { containers: [{ image: "web:${tag}" }] } };
    const result = substituteObject(object, findTemplates(object), lookupOf({}));
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((p) => fieldPath(p.path)),
      ['metadata.annotations["example.com/owner"]', "spec.containers[0].image"],
    );
    assert.match(result.problems[0]?.message ?? "", /^variable owner is not defined; .*\$\{owner:=value\}.*\$\$\{owner\} for a literal.*gitfleet\.dev\/substitute: disabled/);
  });

  void test("parses text into literal parts and references", () => {
    assert.deepEqual(parseTemplate("a${x}b${y:=z}$${c}"), { parts: ["a", { name: "x", default: undefined }, "b", { name: "y", default: "z" }, "${c}"], escapes: true });
    assert.deepEqual(parseTemplate("${1}${x"), { parts: ["${1}${x"], escapes: false });
    assert.deepEqual(parseTemplate(""), { parts: [""], escapes: false });
  });

  void test("lists the variables an object refers to, once each, sorted", () => {
    assert.deepEqual(referencedNames(findTemplates({ a: "${b}${a}", c: ["${a:=1}", "$${skip}"] })), ["a", "b"]);
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
    const result = substituteObject({ x: "${cluster_label_a_b:=d}" }, findTemplates({ x: "${cluster_label_a_b:=d}" }), lookup);
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
