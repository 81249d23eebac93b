// fleet.yaml, the fleet repository's table of contents: which bundles exist, where their
// manifests live, which clusters they go to (targets, first match wins) and with which overlay
// and variables; and the pipelines whose stages promotions walk through (pipelines.ts).
import { LineCounter, parseAllDocuments, type Node } from "yaml";
import { FleetFileError, type FleetFileIssue } from "../errors.js";
import { dnsName, folderInside, oneOf, readNamed, readSelector, readVariables, repositoryFolder, unique } from "./fleet-fields.js";
import { readIgnoreRules, type IgnoreRuleSpec } from "./ignore-rules.js";
import { readPipelines, type PipelineSpec } from "./pipelines.js";
import { describeSelector, matchAll, type ClusterSelector } from "./selector.js";
import type { Snapshot } from "../snapshot.js";
import { YamlFields, yamlErrorText, type Field } from "./yaml-fields.js";

/** Where fleet.yaml lives in the repository. */
export const FLEET_FILE = "fleet.yaml";
/** The apiVersion fleet.yaml must declare. */
export const FLEET_API_VERSION = "gitfleet.dev/v1";
/** Name of the single target a bundle-level clusterSelector (or none) stands for. */
export const DEFAULT_TARGET = "default";

/** What the agent does about drift on a bundle's objects. */
export type DriftPolicy = "correct" | "report";

/**
 * Whether a target's objects get variables substituted, and which setting of fleet.yaml decided
 * it: the target's own `substitute`, its `variables` (declaring them turns substitution on), the
 * bundle's `substitute`, or nothing (off, the default).
 */
export interface Substitution {
  readonly on: boolean;
  readonly by: "target" | "variables" | "bundle" | "default";
}

/** One target of a bundle: which clusters it takes, and what they get. */
export interface TargetSpec {
  /** DNS label, unique in its bundle. */
  readonly name: string;
  readonly clusterSelector: ClusterSelector;
  /** Overlay folder, repository-relative and normalised; the bundle's path or a folder under it. */
  readonly overlay: string;
  /** Variables for substitution; a cluster's own variables override them. */
  readonly variables: Readonly<Record<string, string>>;
  /** Whether variables are substituted in this target's objects; off unless fleet.yaml asks. */
  readonly substitution: Substitution;
  /** True when the target stands for a bundle-level clusterSelector (the short form). */
  readonly implicit: boolean;
  /** Line of the target (or of the bundle, for the short form) in fleet.yaml. */
  readonly line: number;
}

/** One bundle of fleet.yaml, validated and with defaults applied. */
export interface BundleSpec {
  /** DNS label, unique in the file; also a JetStream key token. */
  readonly name: string;
  /** Bundle root, repository-relative and normalised ("" is the root). */
  readonly path: string;
  /** Default namespace for namespaced objects that name none. */
  readonly namespace: string | undefined;
  /** First match wins; a cluster that matches none gets nothing of the bundle. */
  readonly targets: readonly TargetSpec[];
  readonly drift: DriftPolicy;
  /** Fields drift detection and correction leave alone, on every object or on those a rule names. */
  readonly ignore: readonly IgnoreRuleSpec[];
  /** Whether the agent deletes objects that left the bundle. Default true. */
  readonly prune: boolean;
  /** `substitute` as the bundle sets it (default false); each target's `substitution` is what counts. */
  readonly substitute: boolean;
  /** Whether an overlay may render no objects (its clusters then prune the whole bundle). Default false. */
  readonly allowEmpty: boolean;
  /** Line of the bundle's entry in fleet.yaml, for messages. */
  readonly line: number;
}

/** A validated fleet.yaml. */
export interface FleetSpec {
  readonly bundles: readonly BundleSpec[];
  /** Promotion pipelines; empty when the file has none. */
  readonly pipelines: readonly PipelineSpec[];
}

const TOP_FIELDS = ["apiVersion", "kind", "bundles", "pipelines"] as const;
/** Top-level fields that were replaced, with what to write instead. */
const RETIRED_TOP_FIELDS = {
  stages: "top-level stages are no longer read: stages belong to a pipeline now; move them to pipelines[].stages, each naming a target of the pipeline's bundle (see the Pipelines section of the fleet.yaml documentation)",
};
const BUNDLE_FIELDS = ["name", "path", "namespace", "targets", "clusterSelector", "drift", "ignore", "prune", "substitute", "allowEmpty"] as const;
const TARGET_FIELDS = ["name", "clusterSelector", "overlay", "variables", "substitute"] as const;
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
 * each with its line and field path (`bundles[1].targets[0].clusterSelector.matchLabels.env`).
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
  const top = r.fields(root, "", TOP_FIELDS, "a mapping with apiVersion, kind and bundles", RETIRED_TOP_FIELDS);
  if (top === undefined) return undefined;
  const apiVersion = r.require(top, "apiVersion", root, "", FLEET_API_VERSION);
  if (apiVersion !== undefined) expectConstant(r, apiVersion, FLEET_API_VERSION);
  const kind = r.require(top, "kind", root, "", "Fleet");
  if (kind !== undefined) expectConstant(r, kind, "Fleet");
  // An empty `bundles:` is refused rather than read as "no bundles": it would prune everything.
  const bundlesField = r.require(top, "bundles", root, "", "a list of bundles; write [] for none");
  const items = bundlesField && r.list(bundlesField);
  if (items === undefined) return undefined;
  const before = r.count;
  const bundles = unique(r, items, "bundle", (item) => readBundle(r, item.node, item.path));
  const pipelinesField = top.get("pipelines");
  const pipelines = pipelinesField ? readPipelines(r, pipelinesField, bundles, r.count === before) : [];
  if (pipelines === undefined) return undefined;
  return { bundles, pipelines };
}

function expectConstant(r: YamlFields, field: Field, expected: string): void {
  const value = r.string(field);
  if (value !== undefined && value !== expected) r.add(field.value, field.path, `must be ${expected}; got ${value}`);
}

function readBundle(r: YamlFields, node: Node | null, path: string): BundleSpec | undefined {
  const named = readNamed(r, node, path, BUNDLE_FIELDS, "a mapping with at least name and path", "a DNS label naming the bundle");
  if (named === undefined) return undefined;
  const { f, before, name } = named;
  const line = r.line(node);
  const pathField = r.require(f, "path", node, path, "the bundle's root folder");
  const folder = pathField && repositoryFolder(r, pathField);
  const namespaceField = f.get("namespace");
  const namespace = namespaceField && dnsName(r, namespaceField);
  const substituteField = f.get("substitute");
  const substitute = substituteField ? r.boolean(substituteField) : false;
  const allowEmptyField = f.get("allowEmpty");
  const allowEmpty = allowEmptyField ? r.boolean(allowEmptyField) : false;
  const targets = readBundleTargets(r, f, folder, line, substitute ?? false);
  const driftField = f.get("drift");
  const drift = driftField ? oneOf(r, driftField, DRIFT_POLICIES) : "correct";
  const ignoreField = f.get("ignore");
  const ignore = ignoreField ? readIgnoreRules(r, ignoreField) : [];
  const pruneField = f.get("prune");
  const prune = pruneField ? r.boolean(pruneField) : true;
  if (r.count > before || name === undefined || folder === undefined || targets === undefined) return undefined;
  if (drift === undefined || ignore === undefined || prune === undefined || substitute === undefined || allowEmpty === undefined) return undefined;
  return { name, path: folder, namespace, targets, drift, ignore, prune, substitute, allowEmpty, line };
}

/**
 * The bundle's targets: its `targets` list, or the short form, a bundle-level clusterSelector (all
 * clusters when absent) standing for one target named "default" whose overlay is the bundle path.
 */
function readBundleTargets(r: YamlFields, f: Map<string, Field>, folder: string | undefined, line: number, bundleSubstitute: boolean): TargetSpec[] | undefined {
  const targetsField = f.get("targets");
  const selectorField = f.get("clusterSelector");
  if (targetsField !== undefined && selectorField !== undefined) {
    r.add(selectorField.key, selectorField.path, "cannot be used together with targets; give each target its own clusterSelector");
    return undefined;
  }
  if (targetsField === undefined) {
    const clusterSelector = selectorField ? readSelector(r, selectorField) : matchAll;
    if (clusterSelector === undefined || folder === undefined) return undefined;
    const substitution: Substitution = bundleSubstitute ? { on: true, by: "bundle" } : { on: false, by: "default" };
    return [{ name: DEFAULT_TARGET, clusterSelector, overlay: folder, variables: {}, substitution, implicit: true, line }];
  }
  const items = r.list(targetsField);
  if (items === undefined) return undefined;
  const before = r.count;
  // A target after one that matches every cluster can never be chosen: almost surely a mistake.
  let catchAll: TargetSpec | undefined;
  const targets = unique(r, items, "target", (item) => {
    const target = readTarget(r, item.node, item.path, folder, bundleSubstitute);
    if (target === undefined) return undefined;
    if (catchAll !== undefined) {
      r.add(item.node, item.path, `target ${target.name} is never chosen: target ${catchAll.name} (line ${catchAll.line}) before it matches every cluster`);
    } else if (describeSelector(target.clusterSelector) === "") {
      catchAll = target;
    }
    return target;
  });
  return r.count > before ? undefined : targets;
}

function readTarget(r: YamlFields, node: Node | null, path: string, bundlePath: string | undefined, bundleSubstitute: boolean): TargetSpec | undefined {
  const named = readNamed(r, node, path, TARGET_FIELDS, "a mapping with name and clusterSelector", "a DNS label naming the target");
  if (named === undefined) return undefined;
  const { f, before, name } = named;
  const selectorField = r.require(f, "clusterSelector", node, path, "a label selector; write {} to match every cluster");
  const clusterSelector = selectorField && readSelector(r, selectorField);
  const overlayField = f.get("overlay");
  const overlay = overlayField ? readOverlay(r, overlayField, bundlePath) : bundlePath;
  const variablesField = f.get("variables");
  const variables = variablesField ? readVariables(r, variablesField) : {};
  const substitution = readSubstitution(r, f, variablesField !== undefined, bundleSubstitute);
  if (r.count > before || name === undefined || clusterSelector === undefined || overlay === undefined || variables === undefined || substitution === undefined) {
    return undefined;
  }
  return { name, clusterSelector, overlay, variables, substitution, implicit: false, line: r.line(node) };
}

/**
 * The one rule of substitution, the most specific setting winning: the target's `substitute`;
 * else on when the target declares `variables`; else the bundle's `substitute`; else off.
 * `substitute: false` beside `variables` is refused: the variables could never be used.
 */
function readSubstitution(r: YamlFields, f: Map<string, Field>, declaresVariables: boolean, bundleSubstitute: boolean): Substitution | undefined {
  const field = f.get("substitute");
  if (field !== undefined) {
    const on = r.boolean(field);
    if (on === undefined) return undefined;
    if (!on && declaresVariables) {
      r.add(field.value, field.path, "is false, but the target declares variables, which would never be substituted; remove one of them");
      return undefined;
    }
    return { on, by: "target" };
  }
  if (declaresVariables) return { on: true, by: "variables" };
  return bundleSubstitute ? { on: true, by: "bundle" } : { on: false, by: "default" };
}

function readOverlay(r: YamlFields, field: Field, bundlePath: string | undefined): string | undefined {
  const value = r.string(field);
  if (value === undefined || bundlePath === undefined) return undefined;
  const overlay = folderInside(bundlePath, value);
  if (overlay === undefined) {
    const root = bundlePath === "" ? "the repository root" : bundlePath;
    r.add(field.value, field.path, `${JSON.stringify(value)} must be a folder inside the bundle's path ${root}, relative to it (no leading "/", no ".." above it)`);
  }
  return overlay;
}
