// fleet.yaml, the fleet repository's table of contents: which bundles exist, where their
// manifests live and which clusters they go to. This is the minimal model; targets with
// first-match-wins, overlays and variables will extend BundleSpec, not replace it.
import { isScalar, LineCounter, parseAllDocuments, type Node } from "yaml";
import { dnsLabelProblem, labelKeyProblem, labelValueProblem } from "../labels/labels.js";
import { FleetFileError, type FleetFileIssue } from "./errors.js";
import { matchAll, type ClusterSelector, type SelectorExpression, type SelectorOperator } from "./selector.js";
import { normalizeFolder, type Snapshot } from "./snapshot.js";
import { YamlFields, yamlErrorText, type Field } from "./yaml-fields.js";

/** Where fleet.yaml lives in the repository. */
export const FLEET_FILE = "fleet.yaml";
/** The apiVersion fleet.yaml must declare. */
export const FLEET_API_VERSION = "gitfleet.dev/v1";

/** What the agent does about drift on a bundle's objects. */
export type DriftPolicy = "correct" | "report";

/** One bundle of fleet.yaml, validated and with defaults applied. */
export interface BundleSpec {
  /** DNS label, unique in the file; also a JetStream key token. */
  readonly name: string;
  /** Folder of the manifests, repository-relative and normalised ("" is the root). */
  readonly path: string;
  /** Default namespace for namespaced objects that name none. */
  readonly namespace: string | undefined;
  /** Which clusters get the bundle; absent in the file means every cluster. */
  readonly clusterSelector: ClusterSelector;
  readonly drift: DriftPolicy;
  /** JSON pointers the agent ignores when comparing desired and live objects. */
  readonly ignore: readonly string[];
  /** Whether the agent deletes objects that left the bundle. Default true. */
  readonly prune: boolean;
  /** Line of the bundle's entry in fleet.yaml, for messages. */
  readonly line: number;
}

/** A validated fleet.yaml. */
export interface FleetSpec {
  readonly bundles: readonly BundleSpec[];
}

const TOP_FIELDS = ["apiVersion", "kind", "bundles"] as const;
const BUNDLE_FIELDS = ["name", "path", "namespace", "clusterSelector", "drift", "ignore", "prune"] as const;
const SELECTOR_FIELDS = ["matchLabels", "matchExpressions"] as const;
const EXPRESSION_FIELDS = ["key", "operator", "values"] as const;
const OPERATORS: readonly SelectorOperator[] = ["In", "NotIn", "Exists", "DoesNotExist"];
const DRIFT_POLICIES: readonly DriftPolicy[] = ["correct", "report"];

/** Reads and validates fleet.yaml from a snapshot; throws {@link FleetFileError} when missing or invalid. */
export function readFleetFile(snapshot: Snapshot): FleetSpec {
  const bytes = snapshot.files.get(FLEET_FILE);
  if (bytes === undefined) {
    throw new FleetFileError(
      FLEET_FILE,
      [{ line: 0, column: 0, field: "", message: `not found at the repository root at commit ${snapshot.commit}` }],
      "fleet-file-missing",
    );
  }
  return parseFleetFile(new TextDecoder("utf-8", { fatal: false }).decode(bytes), FLEET_FILE);
}

/**
 * Parses and validates fleet.yaml text. Throws {@link FleetFileError} listing every problem,
 * each with its line and field path (`bundles[1].clusterSelector.matchExpressions[0].operator`).
 */
export function parseFleetFile(text: string, file: string = FLEET_FILE): FleetSpec {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true });
  const syntax = docs.flatMap((doc) =>
    doc.errors.map((err) => ({
      line: err.linePos?.[0].line ?? 0,
      column: err.linePos?.[0].col ?? 0,
      field: "",
      message: `invalid YAML: ${yamlErrorText(err.message)}`,
    })),
  );
  if (syntax.length > 0) throw new FleetFileError(file, syntax);
  const [doc, extra] = docs;
  if (doc === undefined || doc.contents === null) {
    throw new FleetFileError(file, [{ line: 1, column: 1, field: "", message: "is empty; expected apiVersion, kind and bundles" }]);
  }
  const fields = new YamlFields(doc, lines);
  if (extra !== undefined) fields.add(extra.contents, "", "must hold exactly one YAML document");
  const spec = readTop(fields, fields.resolve(doc.contents));
  if (fields.issues.length > 0 || spec === undefined) throw new FleetFileError(file, byPosition(fields.issues));
  return spec;
}

function byPosition(issues: readonly FleetFileIssue[]): FleetFileIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

function readTop(r: YamlFields, root: Node | null): FleetSpec | undefined {
  const top = r.fields(root, "", TOP_FIELDS, "a mapping with apiVersion, kind and bundles");
  if (top === undefined) return undefined;
  const apiVersion = r.require(top, "apiVersion", root, "", FLEET_API_VERSION);
  if (apiVersion !== undefined) expectConstant(r, apiVersion, FLEET_API_VERSION);
  const kind = r.require(top, "kind", root, "", "Fleet");
  if (kind !== undefined) expectConstant(r, kind, "Fleet");
  // An empty `bundles:` is refused rather than read as "no bundles": it would prune everything.
  const bundlesField = r.require(top, "bundles", root, "", "a list of bundles; write [] for none");
  const items = bundlesField && r.list(bundlesField);
  if (items === undefined) return undefined;
  const bundles: BundleSpec[] = [];
  const seen = new Map<string, { path: string; line: number }>();
  for (const item of items) {
    const bundle = readBundle(r, item.node, item.path);
    if (bundle === undefined) continue;
    const earlier = seen.get(bundle.name);
    if (earlier !== undefined) {
      r.add(item.node, `${item.path}.name`, `bundle name ${bundle.name} is already used by ${earlier.path} (line ${earlier.line})`);
      continue;
    }
    seen.set(bundle.name, { path: item.path, line: bundle.line });
    bundles.push(bundle);
  }
  return { bundles };
}

function expectConstant(r: YamlFields, field: Field, expected: string): void {
  const value = r.string(field);
  if (value !== undefined && value !== expected) r.add(field.value, field.path, `must be ${expected}; got ${value}`);
}

function readBundle(r: YamlFields, node: Node | null, path: string): BundleSpec | undefined {
  const f = r.fields(node, path, BUNDLE_FIELDS, "a mapping with at least name and path");
  if (f === undefined) return undefined;
  const before = r.count;
  const nameField = r.require(f, "name", node, path, "a DNS label naming the bundle");
  const name = nameField && dnsName(r, nameField);
  const pathField = r.require(f, "path", node, path, "the folder of the bundle's manifests");
  const folder = pathField && bundleFolder(r, pathField);
  const namespaceField = f.get("namespace");
  const namespace = namespaceField && dnsName(r, namespaceField);
  const selectorField = f.get("clusterSelector");
  const clusterSelector = selectorField ? readSelector(r, selectorField) : matchAll;
  const driftField = f.get("drift");
  const drift = driftField ? oneOf(r, driftField, DRIFT_POLICIES) : "correct";
  const ignoreField = f.get("ignore");
  const ignore = ignoreField ? readPointers(r, ignoreField) : [];
  const pruneField = f.get("prune");
  const prune = pruneField ? r.boolean(pruneField) : true;
  if (r.count > before || name === undefined || folder === undefined || clusterSelector === undefined) return undefined;
  if (drift === undefined || ignore === undefined || prune === undefined) return undefined;
  return { name, path: folder, namespace, clusterSelector, drift, ignore, prune, line: r.line(node) };
}

function dnsName(r: YamlFields, field: Field): string | undefined {
  const value = r.string(field);
  if (value === undefined) return undefined;
  const problem = dnsLabelProblem(value);
  if (problem === undefined) return value;
  r.add(field.value, field.path, `${JSON.stringify(value)} ${problem}`);
  return undefined;
}

function bundleFolder(r: YamlFields, field: Field): string | undefined {
  const value = r.string(field);
  if (value === undefined) return undefined;
  const folder = normalizeFolder(value);
  if (folder === undefined) {
    r.add(field.value, field.path, `${JSON.stringify(value)} must be a relative folder inside the repository (no leading "/", no "..")`);
  }
  return folder;
}

function oneOf<T extends string>(r: YamlFields, field: Field, allowed: readonly T[]): T | undefined {
  const value = r.string(field);
  if (value === undefined) return undefined;
  const match = allowed.find((candidate) => candidate === value);
  if (match === undefined) r.add(field.value, field.path, `must be one of ${allowed.join(", ")}; got ${value}`);
  return match;
}

/** RFC 6901: "/"-separated tokens, "~" only as "~0" or "~1". The empty pointer (whole object) is refused. */
const JSON_POINTER = /^(\/([^~/]|~[01])*)+$/;

function readPointers(r: YamlFields, field: Field): string[] | undefined {
  const items = r.list(field);
  if (items === undefined) return undefined;
  const pointers: string[] = [];
  for (const item of items) {
    const value = r.stringAt(item.node ?? field.key, item.node, item.path);
    if (value === undefined) continue;
    if (JSON_POINTER.test(value)) pointers.push(value);
    else r.add(item.node, item.path, `${JSON.stringify(value)} is not a JSON pointer: it must start with "/" and write "~" as "~0" and "/" inside a key as "~1"`);
  }
  return pointers;
}

function readSelector(r: YamlFields, field: Field): ClusterSelector | undefined {
  const f = r.fields(field.value, field.path, SELECTOR_FIELDS, "a mapping with matchLabels and/or matchExpressions");
  if (f === undefined) return undefined;
  const before = r.count;
  const matchLabels: Record<string, string> = {};
  const labelsField = f.get("matchLabels");
  for (const label of labelsField ? (r.entries(labelsField.value, labelsField.path, "a mapping of label keys to values") ?? []) : []) {
    const keyProblem = labelKeyProblem(label.name);
    if (keyProblem !== undefined) r.add(label.key, label.path, `label key ${JSON.stringify(label.name)} ${keyProblem}`);
    const value = label.value === null || (isScalar(label.value) && label.value.value === null) ? "" : r.string(label);
    const valueProblem = value === undefined ? undefined : labelValueProblem(value);
    if (valueProblem !== undefined) r.add(label.value, label.path, `label value ${JSON.stringify(value)} ${valueProblem}`);
    if (value !== undefined) matchLabels[label.name] = value;
  }
  const matchExpressions: SelectorExpression[] = [];
  const expressionsField = f.get("matchExpressions");
  for (const item of expressionsField ? (r.list(expressionsField) ?? []) : []) {
    const expression = readExpression(r, item.node, item.path);
    if (expression !== undefined) matchExpressions.push(expression);
  }
  return r.count > before ? undefined : { matchLabels, matchExpressions };
}

function readExpression(r: YamlFields, node: Node | null, path: string): SelectorExpression | undefined {
  const f = r.fields(node, path, EXPRESSION_FIELDS, "a mapping with key, operator and values");
  if (f === undefined) return undefined;
  const before = r.count;
  const keyField = r.require(f, "key", node, path, "the label key");
  const key = keyField && labelKey(r, keyField);
  const operatorField = r.require(f, "operator", node, path, OPERATORS.join(", "));
  const operator = operatorField && oneOf(r, operatorField, OPERATORS);
  const valuesField = f.get("values");
  const values: string[] = [];
  if (valuesField !== undefined) {
    for (const item of r.list(valuesField) ?? []) {
      const value = r.stringAt(item.node ?? valuesField.key, item.node, item.path);
      if (value === undefined) continue;
      const problem = labelValueProblem(value);
      if (problem !== undefined) r.add(item.node, item.path, `label value ${JSON.stringify(value)} ${problem}`);
      else values.push(value);
    }
  }
  if (r.count > before || key === undefined || operator === undefined) return undefined;
  const needsValues = operator === "In" || operator === "NotIn";
  if (needsValues && values.length === 0) {
    r.add(valuesField?.value ?? node, `${path}.values`, `must list at least one value for operator ${operator}`);
    return undefined;
  }
  if (!needsValues && values.length > 0) {
    r.add(valuesField?.value, `${path}.values`, `must be empty for operator ${operator}`);
    return undefined;
  }
  return { key, operator, values };
}

function labelKey(r: YamlFields, field: Field): string | undefined {
  const key = r.string(field);
  if (key === undefined) return undefined;
  const problem = labelKeyProblem(key);
  if (problem === undefined) return key;
  r.add(field.value, field.path, `label key ${JSON.stringify(key)} ${problem}`);
  return undefined;
}
