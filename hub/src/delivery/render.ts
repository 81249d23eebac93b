// Rendering a bundle from a plain folder of manifests: every YAML and JSON file under the
// bundle's path, in path order. Pure: it reads only the snapshot's files it is given.
import { createHash } from "node:crypto";
import { RenderError } from "./errors.js";
import { describeObject, groupOf, isClusterScoped, objectKey, type ObjectId } from "./kube-objects.js";
import { describe, parseManifestFile, type KubeObject } from "./manifests.js";
import { filesUnder } from "./snapshot.js";

/** What to render: one bundle's folder in one snapshot. */
export interface RenderRequest {
  /** Bundle name, for messages. */
  readonly bundle: string;
  /** Normalised repository-relative folder ("" is the root). */
  readonly path: string;
  /** Default namespace for namespaced objects that name none. */
  readonly namespace: string | undefined;
  /** The snapshot's files; only those under `path` are read. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** One rendered object: its identity and its JSON encoding, as the agent will apply it. */
export interface RenderedObject {
  readonly id: ObjectId;
  /** UTF-8 JSON of the object. */
  readonly json: Uint8Array;
  /** Where it came from, e.g. `apps/web/deploy.yaml:3 (document 2)`. */
  readonly source: string;
}

/** A rendered bundle: its objects in a deterministic order (file path, then document order). */
export interface RenderedBundle {
  readonly objects: readonly RenderedObject[];
}

const MANIFEST = /\.(ya?ml|json)$/i;
/** Read by the hub itself, or by the kustomize renderer to come: never applied as objects. */
const NOT_MANIFESTS = new Set(["fleet.yaml"]);
const KUSTOMIZATIONS = new Set(["kustomization.yaml", "kustomization.yml", "Kustomization"]);

/** True for files a plain-folder bundle applies: .yaml, .yml and .json, outside hidden folders. */
export function isManifestPath(path: string): boolean {
  if (path.split("/").some((part) => part.startsWith("."))) return false;
  return MANIFEST.test(path) && !NOT_MANIFESTS.has(path);
}

/**
 * Renders a plain-folder bundle. Throws {@link RenderError} when the folder does not exist or
 * holds no objects, when a file is not valid YAML/JSON, when an object misses apiVersion, kind
 * or metadata.name, and when two objects share group, kind, namespace and name. Objects without
 * a namespace get the bundle's, unless their kind is a well-known cluster-scoped one.
 */
export function renderPlainDirectory(request: RenderRequest): RenderedBundle {
  const where = request.path === "" ? "the repository root" : request.path;
  const all = filesUnder(request.files, request.path);
  if (all.length === 0) {
    throw new RenderError("bundle-path-missing", `folder ${where} does not exist or holds no files`);
  }
  const kustomization = all.find((path) => KUSTOMIZATIONS.has(path.slice(path.lastIndexOf("/") + 1)));
  if (kustomization !== undefined) {
    throw new RenderError("manifest-invalid", `${kustomization}: kustomize bundles are not supported yet; use a plain folder of manifests`, {
      file: kustomization,
    });
  }
  const manifests = all.filter(isManifestPath);
  if (manifests.length === 0) {
    throw new RenderError("no-objects", `folder ${where} holds no .yaml, .yml or .json files`);
  }
  const seen = new Map<string, string>();
  const objects: RenderedObject[] = [];
  for (const file of manifests) {
    for (const parsed of parseManifestFile(file, request.files.get(file) ?? new Uint8Array())) {
      const object = withNamespace(parsed.object, request.namespace);
      const id = identity(object);
      const key = objectKey(id);
      const source = describe(parsed) + (parsed.item === "" ? "" : ` ${parsed.item}`);
      const first = seen.get(key);
      if (first !== undefined) {
        throw new RenderError("object-duplicate", `${describeObject(id)} is defined twice: ${first} and ${source}`, {
          file: parsed.file,
          document: parsed.document,
          line: parsed.line,
        });
      }
      seen.set(key, source);
      objects.push({ id, json: new TextEncoder().encode(JSON.stringify(object)), source });
    }
  }
  if (objects.length === 0) {
    // Refused rather than published: an empty bundle would make every agent prune all of it.
    throw new RenderError("no-objects", `the manifests under ${where} hold no objects (only empty documents)`);
  }
  return { objects };
}

/**
 * A fingerprint of everything a render of `request` reads: bundle, folder, namespace and every
 * file under the folder (manifest or not, as a kustomization reads more than manifests). Two
 * requests with the same fingerprint render the same, so a render can be reused across commits.
 */
export function renderFingerprint(request: RenderRequest): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([request.bundle, request.path, request.namespace ?? null]));
  for (const path of filesUnder(request.files, request.path)) {
    const bytes = request.files.get(path) ?? new Uint8Array();
    hash.update(`\0${path}\0${bytes.byteLength}\0`);
    hash.update(bytes);
  }
  return hash.digest("hex");
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
