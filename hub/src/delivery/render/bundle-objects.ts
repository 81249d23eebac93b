// From a rendered overlay to the objects one cluster's copy of a bundle holds: variables
// substituted, the bundle's namespace given to namespaced objects without one, every object
// checked (apiVersion, kind, metadata.name) and no two with the same group, kind, namespace and
// name. An overlay is prepared once (its templates found); each cluster then costs only the
// substitution of the fields that hold references. Pure.
import { RenderError } from "../errors.js";
import { describeObject, groupOf, isClusterScoped, objectKey, type ObjectId } from "./kube-objects.js";
import { isPlainObject, type KubeObject } from "./manifests.js";
import type { RenderedOverlay } from "./overlay.js";
import { fieldPath, findTemplates, referencedNames, substituteObject, type FieldProblem, type FieldTemplate } from "./substitute.js";
import type { VariableLookup } from "../fleet/index.js";

/** A rendered overlay with its variable references found, shared by every cluster that uses it. */
export interface PreparedOverlay {
  readonly objects: readonly KubeObject[];
  /** Where each object came from, when the renderer said. */
  readonly sources: readonly (string | undefined)[];
  /** The template fields of each object, parallel to `objects`. */
  readonly templates: readonly (readonly FieldTemplate[])[];
  /** Every variable the overlay refers to, sorted: the only ones whose values matter. */
  readonly names: readonly string[];
  /** Malformed references: the overlay fails on every cluster. */
  readonly problem: RenderError | undefined;
}

/** One object of a bundle as the agent will apply it. */
export interface RenderedObject {
  readonly id: ObjectId;
  /** UTF-8 JSON of the object. */
  readonly json: Uint8Array;
  /** Where it came from, when known. */
  readonly source: string | undefined;
}

/** Most problems spelt out in one error message; the rest are counted. */
const MAX_LISTED = 5;

/** Finds the variable references of a rendered overlay once. */
export function prepareOverlay(rendered: RenderedOverlay): PreparedOverlay {
  const templates: FieldTemplate[][] = [];
  const problems: string[] = [];
  const sources = rendered.objects.map((_, i) => rendered.sources?.[i]);
  rendered.objects.forEach((object, i) => {
    const found = findTemplates(object);
    templates.push([...found.fields]);
    for (const problem of found.problems) problems.push(located(object, sources[i], problem));
  });
  const names = referencedNames(templates.flat());
  const problem = problems.length === 0 ? undefined : new RenderError("variable-invalid", summarize(problems));
  return { objects: rendered.objects, sources, templates, names, problem };
}

/**
 * The objects of one cluster's copy of a bundle. Throws {@link RenderError}: `variable-invalid`
 * or `variable-undefined` naming object and field, `object-invalid`, `object-duplicate`, or
 * `no-objects` (an empty bundle would make the agent prune everything it applied).
 */
export function bundleObjects(overlay: PreparedOverlay, options: { namespace: string | undefined; lookup: VariableLookup }): RenderedObject[] {
  if (overlay.problem !== undefined) throw overlay.problem;
  if (overlay.objects.length === 0) throw new RenderError("no-objects", "the overlay renders no objects");
  const undefinedVariables: string[] = [];
  const out: RenderedObject[] = [];
  const seen = new Map<string, string>();
  overlay.objects.forEach((raw, i) => {
    const source = overlay.sources[i];
    const substituted = substituteObject(raw, overlay.templates[i] ?? [], options.lookup);
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
