// From a rendered overlay to the objects one cluster's copy of a bundle holds: variables
// substituted where the target turns substitution on, the bundle's namespace given to namespaced
// objects without one, every object checked (apiVersion, kind, metadata.name) and no two with the
// same group, kind, namespace and name, and an empty result refused unless the bundle allows it.
// An overlay is prepared once (its templates found); each cluster then costs only the
// substitution of the fields that hold references. Pure.
import { RenderError } from "../errors.js";
import { describeObject, groupOf, isClusterScoped, objectKey, type ObjectId } from "./kube-objects.js";
import { isPlainObject, type KubeObject } from "./manifests.js";
import type { RenderedOverlay } from "./overlay.js";
import { fieldPath, findTemplates, optsOut, referencedNames, substituteObject, type FieldProblem, type FieldTemplate } from "./substitute.js";
import type { VariableLookup } from "../fleet/index.js";

/** A rendered overlay with its variable references found, shared by every cluster that uses it. */
export interface PreparedOverlay {
  readonly objects: readonly KubeObject[];
  /** Where each object came from, when the renderer said. */
  readonly sources: readonly (string | undefined)[];
  /** The template fields of each object, parallel to `objects`; none for objects that opt out. */
  readonly templates: readonly (readonly FieldTemplate[])[];
  /** Every variable the overlay refers to, sorted: the only ones whose values matter. */
  readonly names: readonly string[];
  /** An opt-out annotation with a value other than `disabled`: fails the targets that substitute. */
  readonly problem: RenderError | undefined;
  /** The renderer's warnings (RenderedOverlay.warnings). */
  readonly warnings: readonly string[];
}

/** One object of a bundle as the agent will apply it. */
export interface RenderedObject {
  readonly id: ObjectId;
  /** UTF-8 JSON of the object. */
  readonly json: Uint8Array;
  /** Where it came from, when known. */
  readonly source: string | undefined;
}

/** What {@link bundleObjects} needs of the bundle and target besides the overlay. */
export interface BundleObjectsOptions {
  /** The bundle's namespace, for namespaced objects that name none. */
  readonly namespace: string | undefined;
  /** Whether the target substitutes variables; when false every object is kept as rendered. */
  readonly substitute: boolean;
  /** The cluster's variables (unused when `substitute` is false). */
  readonly lookup: VariableLookup;
  /** Whether the bundle may be empty (fleet.yaml `allowEmpty`). */
  readonly allowEmpty: boolean;
}

/** Most problems spelt out in one error message; the rest are counted. */
const MAX_LISTED = 5;

/** Finds the variable references of a rendered overlay once. */
export function prepareOverlay(rendered: RenderedOverlay): PreparedOverlay {
  const templates: FieldTemplate[][] = [];
  const problems: string[] = [];
  const sources = rendered.objects.map((_, i) => rendered.sources?.[i]);
  rendered.objects.forEach((object, i) => {
    const opt = optsOut(object);
    if (!opt.ok) problems.push(located(object, sources[i], opt.problem));
    templates.push(opt.ok && opt.disabled ? [] : findTemplates(object, rendered.unquoted?.[i]));
  });
  const names = referencedNames(templates.flat());
  const problem = problems.length === 0 ? undefined : new RenderError("variable-invalid", summarize(problems));
  return { objects: rendered.objects, sources, templates, names, problem, warnings: rendered.warnings ?? [] };
}

/**
 * The objects of one cluster's copy of a bundle. Throws {@link RenderError}: `variable-invalid`
 * or `variable-undefined` naming object and field, `object-invalid`, `object-duplicate`, or
 * `no-objects` (an empty bundle makes the agent prune everything it applied) unless the bundle
 * allows it.
 */
export function bundleObjects(overlay: PreparedOverlay, options: BundleObjectsOptions): RenderedObject[] {
  if (options.substitute && overlay.problem !== undefined) throw overlay.problem;
  if (overlay.objects.length === 0 && !options.allowEmpty) {
    throw new RenderError(
      "no-objects",
      "the overlay renders no objects, and an empty bundle would make its agents delete every object it applied; " +
        "if it is empty on purpose (a placeholder), set allowEmpty: true on the bundle in fleet.yaml",
    );
  }
  const undefinedVariables: string[] = [];
  const out: RenderedObject[] = [];
  const seen = new Map<string, string>();
  overlay.objects.forEach((raw, i) => {
    const source = overlay.sources[i];
    const substituted = options.substitute ? substituteObject(raw, overlay.templates[i] ?? [], options.lookup) : { ok: true as const, object: raw };
    if (!substituted.ok) {
      for (const problem of substituted.problems) undefinedVariables.push(located(raw, source, problem));
      return;
    }
    const object = withNamespace(checked(substituted.object, source), options.namespace);
    const id = identity(object);
    const key = objectKey(id);
    const where = source ?? `object ${i + 1} of the overlay`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new RenderError("object-duplicate", `${describeObject(id)} is defined twice: ${first} and ${where}`);
    }
    seen.set(key, where);
    out.push({ id, json: new TextEncoder().encode(JSON.stringify(object)), source });
  });
  if (undefinedVariables.length > 0) throw new RenderError("variable-undefined", summarize(undefinedVariables));
  return out;
}

/**
 * Where the overlay's objects hold what only substitution gives a meaning: a reference to a name
 * `known` accepts, or a `$${...}` escape. For a target with substitution off, each is text that
 * reaches the clusters as written; `ConfigMap web/a (apps/web/a.yaml:1 (document 1)): data.x holds ${cluster_name}`.
 */
export function substitutionCandidates(overlay: PreparedOverlay, known: (name: string) => boolean): string[] {
  const out: string[] = [];
  overlay.objects.forEach((object, i) => {
    for (const field of overlay.templates[i] ?? []) {
      const names = field.parts.flatMap((part) => (typeof part !== "string" && known(part.name) ? [part.default === undefined ? `\${${part.name}}` : `\${${part.name}:=${part.default}}`] : []));
      if (field.escapes) names.push("a $${...} escape");
      if (names.length > 0) out.push(located(object, overlay.sources[i], { path: field.path, message: `holds ${[...new Set(names)].join(", ")}` }));
    }
  });
  return out;
}

function summarize(problems: readonly string[]): string {
  const listed = problems.slice(0, MAX_LISTED).join("; ");
  return problems.length > MAX_LISTED ? `${listed}; and ${problems.length - MAX_LISTED} more` : listed;
}

/** `ConfigMap web/settings (apps/web/a.yaml:3 (document 1)): data.color: <message>`. */
function located(object: KubeObject, source: string | undefined, problem: FieldProblem): string {
  return `${roughName(object)}${source === undefined ? "" : ` (${source})`}: ${fieldPath(problem.path)}: ${problem.message}`;
}

/** What an object calls itself before it is checked, for messages. */
function roughName(object: KubeObject): string {
  const metadata = isPlainObject(object["metadata"]) ? object["metadata"] : {};
  const kind = typeof object["kind"] === "string" ? object["kind"] : "object";
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "(unnamed)";
  const namespace = typeof metadata["namespace"] === "string" && metadata["namespace"] !== "" ? `${metadata["namespace"]}/` : "";
  return `${kind} ${namespace}${name}`;
}

function checked(object: KubeObject, source: string | undefined): KubeObject {
  const fail = (message: string): never => {
    throw new RenderError("object-invalid", `${roughName(object)}${source === undefined ? "" : ` (${source})`}: ${message}`);
  };
  for (const field of ["apiVersion", "kind"] as const) {
    const value = object[field];
    if (typeof value !== "string" || value.trim() === "") fail(`${field} is missing or not a string`);
  }
  const metadata = object["metadata"];
  if (!isPlainObject(metadata)) return fail("metadata is missing or not a mapping");
  const name = metadata["name"];
  if (typeof name !== "string" || name.trim() === "") fail("metadata.name is missing, empty or not a string");
  const namespace = metadata["namespace"];
  if (namespace !== undefined && namespace !== null && typeof namespace !== "string") fail("metadata.namespace must be a string");
  return object;
}

function withNamespace(object: KubeObject, namespace: string | undefined): KubeObject {
  if (namespace === undefined) return object;
  const metadata = object["metadata"] as Record<string, unknown>;
  const current = metadata["namespace"];
  if (typeof current === "string" && current !== "") return object;
  if (isClusterScoped(String(object["apiVersion"]), String(object["kind"]))) return object;
  return { ...object, metadata: { ...metadata, namespace } };
}

function identity(object: KubeObject): ObjectId {
  const metadata = object["metadata"] as Record<string, unknown>;
  const apiVersion = String(object["apiVersion"]);
  const kind = String(object["kind"]);
  const namespace = isClusterScoped(apiVersion, kind) ? "" : typeof metadata["namespace"] === "string" ? metadata["namespace"] : "";
  return { group: groupOf(apiVersion), kind, namespace, name: String(metadata["name"]) };
}
