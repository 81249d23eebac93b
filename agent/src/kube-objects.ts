// Plain Kubernetes objects as the agent handles them: JSON as rendered by the hub, references
// that name an object independently of its API version, and the checks made before an apply.

/** A Kubernetes object as JSON: apiVersion, kind and metadata are checked, the rest is opaque. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [field: string]: unknown;
}

/** The metadata fields the agent reads or sets; everything else passes through. */
export interface KubeMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** Names one object: group ("" for core), version, kind, namespace ("" when cluster-scoped), name. */
export interface ObjectRef {
  group: string;
  version: string;
  kind: string;
  namespace: string;
  name: string;
}

/** Annotation the agent sets on every object it applies: the bundle that owns it. */
export const BUNDLE_ANNOTATION = "gitfleet.io/bundle";

/** Splits "apps/v1" into group "apps" and version "v1"; "v1" has the core group "". */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Joins group and version back into an apiVersion. */
export function apiVersionOf(ref: Pick<ObjectRef, "group" | "version">): string {
  return ref.group === "" ? ref.version : `${ref.group}/${ref.version}`;
}

/** The reference of an object. */
export function refOf(object: KubeObject): ObjectRef {
  const { group, version } = splitApiVersion(object.apiVersion);
  return { group, version, kind: object.kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name };
}

/**
 * Identity key of a reference. The version is left out: the same object seen through two API
 * versions is one object (e.g. a CRD served as v1beta1 and v1).
 */
export function refKey(ref: ObjectRef): string {
  return `${ref.group}|${ref.kind}|${ref.namespace}|${ref.name}`;
}

/** Human form for messages: "ConfigMap web/settings", "Namespace web", "Widget.example.com web/a". */
export function formatRef(ref: ObjectRef): string {
  const kind = ref.group === "" ? ref.kind : `${ref.kind}.${ref.group}`;
  return ref.namespace === "" ? `${kind} ${ref.name}` : `${kind} ${ref.namespace}/${ref.name}`;
}

/** True for core Namespaces. */
export function isNamespace(ref: Pick<ObjectRef, "group" | "kind">): boolean {
  return ref.group === "" && ref.kind === "Namespace";
}

/** True for CustomResourceDefinitions. */
export function isCrd(ref: Pick<ObjectRef, "group" | "kind">): boolean {
  return ref.group === "apiextensions.k8s.io" && ref.kind === "CustomResourceDefinition";
}

/** What a CRD object defines: the group and kind of its resources, and their scope. */
export interface CrdDefinition {
  group: string;
  kind: string;
  namespaced: boolean;
  /** The CRD object's own name, e.g. "widgets.example.com". */
  crdName: string;
}

/** Reads group, kind and scope from a CRD object; undefined when its spec lacks them. */
export function crdDefinition(object: KubeObject): CrdDefinition | undefined {
  const spec = asRecord(object["spec"]);
  const names = asRecord(spec?.["names"]);
  const group = spec?.["group"];
  const kind = names?.["kind"];
  if (typeof group !== "string" || typeof kind !== "string") return undefined;
  return { group, kind, namespaced: spec?.["scope"] !== "Cluster", crdName: object.metadata.name };
}

/**
 * Checks that a decoded JSON value is an object the agent can apply: apiVersion, kind and
 * metadata.name are non-empty strings. Throws an Error whose message says what is missing.
 */
export function parseKubeObject(value: unknown): KubeObject {
  const object = asRecord(value);
  if (!object) throw new Error("is not a JSON object");
  const { apiVersion, kind } = object;
  const metadata = asRecord(object["metadata"]);
  if (typeof apiVersion !== "string" || apiVersion === "") throw new Error("has no apiVersion");
  if (typeof kind !== "string" || kind === "") throw new Error("has no kind");
  if (!metadata) throw new Error(`(${kind}) has no metadata`);
  if (typeof metadata["name"] !== "string" || metadata["name"] === "") {
    throw new Error(`(${kind}) has no metadata.name; generateName cannot be applied`);
  }
  if (metadata["namespace"] !== undefined && typeof metadata["namespace"] !== "string") {
    throw new Error(`(${kind} ${metadata["name"]}) has a metadata.namespace that is not a string`);
  }
  return object as KubeObject;
}

/** Fields the API server owns; sending them in an apply fails or pins a stale version. */
const serverOwnedMetadata = ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink"];

/**
 * Returns a copy of `object` ready for server-side apply: server-owned metadata removed, the
 * namespace set (namespaced) or removed (cluster-scoped), and the owning bundle annotated.
 */
export function prepareForApply(
  object: KubeObject,
  options: { namespaced: boolean; defaultNamespace: string; bundle: string },
): KubeObject {
  const copy = structuredClone(object);
  for (const field of serverOwnedMetadata) delete copy.metadata[field];
  if (options.namespaced) {
    if (!copy.metadata.namespace) copy.metadata.namespace = options.defaultNamespace;
  } else {
    delete copy.metadata.namespace;
  }
  copy.metadata.annotations = { ...(copy.metadata.annotations ?? {}), [BUNDLE_ANNOTATION]: options.bundle };
  return copy;
}

/** Narrows an unknown value to a plain record. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The value when it is a string, otherwise `fallback`. */
export function asString(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}
